/**
 * Diagnostics as data: every finding has a stable code, a severity and the
 * absolute byte offset it concerns. `check/` produces them, `repair/`
 * consumes them, the CLI renders them and maps verdicts to exit codes.
 */

export type Severity = 'error' | 'warning' | 'info';

export interface Problem {
  code: string;
  severity: Severity;
  /** Absolute byte offset in the dump file (or stream). */
  offset: number;
  message: string;
  /** `vnode.uniquifier` the problem concerns, if any. */
  vnode?: string;
}

/**
 * ok: the dump parses to its end marker at exactly the end of the file and no
 * error was found. truncated: the input ends before the end marker.
 * trailing-data: a sound dump followed by extra bytes. wraparound: damage
 * that the 4 GiB offset wraparound explains (see diagnose). corrupt: any
 * other structural error. not-a-dump: no dump header.
 */
export type Verdict = 'ok' | 'truncated' | 'trailing-data' | 'wraparound' | 'corrupt' | 'not-a-dump';

export const VERDICTS: readonly Verdict[] = ['ok', 'truncated', 'trailing-data', 'wraparound', 'corrupt', 'not-a-dump'];

/** The stable problem codes (README lists them with their meaning). */
export const CODES = {
  NOT_A_DUMP: 'NOT_A_DUMP',
  TRUNCATED: 'TRUNCATED',
  TRAILING_DATA: 'TRAILING_DATA',
  BAD_VERSION: 'BAD_VERSION',
  BAD_END_MAGIC: 'BAD_END_MAGIC',
  HEADER_VOLUME_ID: 'HEADER_VOLUME_ID',
  HEADER_NAME: 'HEADER_NAME',
  STRING_NOT_TERMINATED: 'STRING_NOT_TERMINATED',
  STRING_TOO_LONG: 'STRING_TOO_LONG',
  DUPLICATE_FIELD: 'DUPLICATE_FIELD',
  OLD_ACL: 'OLD_ACL',
  VOLUME_MISSING: 'VOLUME_MISSING',
  VOLUME_FIELD_MISSING: 'VOLUME_FIELD_MISSING',
  WEEK_USE: 'WEEK_USE',
  ORDER: 'ORDER',
  INDEX_MISSING: 'INDEX_MISSING',
  INDEX_LISTS: 'INDEX_LISTS',
  INDEX_COUNT: 'INDEX_COUNT',
  VNODE_CLASS: 'VNODE_CLASS',
  VNODE_TYPE: 'VNODE_TYPE',
  VNODE_ORDER: 'VNODE_ORDER',
  VNODE_DUPLICATE: 'VNODE_DUPLICATE',
  VNODE_SLOT: 'VNODE_SLOT',
  VNODE_FIELD_MISSING: 'VNODE_FIELD_MISSING',
  VNODE_MODE: 'VNODE_MODE',
  DATA_MISSING: 'DATA_MISSING',
  DATA_KIND: 'DATA_KIND',
  BADINODE: 'BADINODE',
  SIZE_MISMATCH: 'SIZE_MISMATCH',
  DIR_LENGTH: 'DIR_LENGTH',
  ACL_BAD: 'ACL_BAD',
  ROOT_MISSING: 'ROOT_MISSING',
  DANGLING_ENTRY: 'DANGLING_ENTRY',
  PARENT_MISSING: 'PARENT_MISSING',
  UNREACHABLE: 'UNREACHABLE',
  LOG_SIZE_MISMATCH: 'LOG_SIZE_MISMATCH',
  LOG_MISSING: 'LOG_MISSING',
} as const;

/** The first error decides the verdict, unless a more specific one applies. */
export function verdictOf(problems: readonly Problem[]): Verdict {
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length === 0) return 'ok';
  if (errors.some((p) => p.code === 'NOT_A_DUMP')) return 'not-a-dump';
  if (errors.some((p) => p.code === 'WRAPAROUND')) return 'wraparound';
  // A size that disagrees with the backup log explains nothing by itself: it
  // goes with truncated or trailing data; alone it makes the dump corrupt.
  const others = errors.filter((p) => p.code !== 'TRUNCATED' && p.code !== 'TRAILING_DATA' && p.code !== 'LOG_SIZE_MISMATCH');
  if (others.length > 0) return 'corrupt';
  if (errors.some((p) => p.code === 'TRUNCATED')) return 'truncated';
  if (errors.some((p) => p.code === 'TRAILING_DATA')) return 'trailing-data';
  return 'corrupt';
}
