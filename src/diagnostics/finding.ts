/**
 * One shape for every finding: what verify, diagnose, repair, extract, merge
 * and the archive checks report, and what a DumpError carries when a finding
 * is fatal. Diagnostics are data: modules create them with `finding()`, the
 * CLI renders them (text or JSON) and maps verdicts to exit codes.
 */
import { CODES, type Code, type Severity } from './codes.js';

export type { Code, Severity } from './codes.js';

export interface Finding {
  code: Code;
  severity: Severity;
  /**
   * Absolute byte offset in the dump stream the finding concerns (64-bit safe
   * as a JS number). Absent only for findings about no byte of a dump (an
   * output path that cannot be written, a file a log names that is not there).
   */
  offset?: number;
  message: string;
  /** `vnode.uniquifier` the finding concerns, if any. */
  vnode?: string;
  /** The file it concerns, when not the dump being reported on (a log, a donor, an output). */
  file?: string;
  /** A path inside the volume, when known. */
  path?: string;
}

/** A finding at a byte of a dump: what verify, diagnose and the record checks report. */
export type DumpFinding = Finding & { offset: number };

export interface FindingOptions {
  severity?: Severity;
  vnode?: string | { vnode: number; unique: number };
  file?: string;
  path?: string;
}

/** The one place findings are made: the severity defaults to the code's own. */
export function finding(code: Code, offset: number, message: string, opts?: FindingOptions): DumpFinding;
export function finding(code: Code, offset: number | undefined, message: string, opts?: FindingOptions): Finding;
export function finding(code: Code, offset: number | undefined, message: string, opts: FindingOptions = {}): Finding {
  const f: Finding = { code, severity: opts.severity ?? CODES[code].severity, message };
  if (offset !== undefined) f.offset = offset;
  if (opts.vnode !== undefined) f.vnode = typeof opts.vnode === 'string' ? opts.vnode : vnodeKey(opts.vnode.vnode, opts.vnode.unique);
  if (opts.file !== undefined) f.file = opts.file;
  if (opts.path !== undefined) f.path = opts.path;
  return f;
}

/** The one spelling of a vnode's identity: `number.uniquifier`. */
export function vnodeKey(vnode: number, unique: number): string {
  return `${vnode}.${unique}`;
}

/** Findings in file order (stable for equal offsets; those without an offset last). */
export function byOffset<T extends { offset?: number }>(a: T, b: T): number {
  return (a.offset ?? Infinity) - (b.offset ?? Infinity) || 0;
}
