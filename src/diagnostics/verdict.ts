/**
 * The verdict on one dump, decided from its findings.
 *
 * ok: the dump parses to its end marker at exactly the end of the file and no
 * error was found. truncated: the input ends before the end marker.
 * trailing-data: a sound dump followed by extra bytes. wraparound: damage
 * that the 4 GiB offset wraparound explains (see diagnose). corrupt: any
 * other structural error. not-a-dump: no dump header. unreadable: the file
 * could not be read, or not consistently (an I/O error, it vanished or
 * became a directory, it changed size while it was read): says nothing of
 * the dump, verify it again.
 */
import type { Finding } from './finding.js';

export type Verdict = 'ok' | 'truncated' | 'trailing-data' | 'wraparound' | 'corrupt' | 'not-a-dump' | 'unreadable';

export const VERDICTS: readonly Verdict[] = ['ok', 'truncated', 'trailing-data', 'wraparound', 'corrupt', 'not-a-dump', 'unreadable'];

/** The first error decides the verdict, unless a more specific one applies. */
export function verdictOf(findings: readonly Finding[]): Verdict {
  const errors = findings.filter((p) => p.severity === 'error');
  if (errors.length === 0) return 'ok';
  // What was read is not the file (or not all of it): nothing can be said of the dump.
  if (errors.some((p) => p.code === 'IO' || p.code === 'INPUT_CHANGED')) return 'unreadable';
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
