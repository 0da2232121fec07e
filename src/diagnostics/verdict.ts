/**
 * The verdict on one dump, decided from its findings.
 *
 * ok: the dump parses to its end marker at exactly the end of the file and no
 * error was found. truncated: the input ends before the end marker.
 * trailing-data: a sound dump followed by extra bytes. wraparound: damage
 * that the 4 GiB offset wraparound explains (see diagnose). corrupt: any
 * other structural error. not-a-dump: no dump header. unreadable: the file
 * could not be read, or not consistently (an I/O error, it vanished or
 * became a directory, it changed size while it was read), or it is
 * compressed and nothing here can decode it (the decompressor is missing,
 * or it is a continuation piece of an Amanda dump read without its first):
 * says nothing of the dump, verify it again.
 *
 * A container's own errors (gzip, Amanda pieces: area 'container') do not
 * hide the dump's: the dump's errors decide. Alone they make the dump
 * truncated (the container was cut short) or corrupt.
 */
import { CODES } from './codes.js';
import type { Finding } from './finding.js';

export type Verdict = 'ok' | 'truncated' | 'trailing-data' | 'wraparound' | 'corrupt' | 'not-a-dump' | 'unreadable';

export const VERDICTS: readonly Verdict[] = ['ok', 'truncated', 'trailing-data', 'wraparound', 'corrupt', 'not-a-dump', 'unreadable'];

/** The first error decides the verdict, unless a more specific one applies. */
export function verdictOf(findings: readonly Finding[]): Verdict {
  const all = findings.filter((p) => p.severity === 'error');
  if (all.length === 0) return 'ok';
  // What was read is not the file (or not all of it), or nothing here can
  // decode it: nothing can be said of the dump.
  if (all.some((p) => p.code === 'IO' || p.code === 'INPUT_CHANGED' || p.code === 'DECOMPRESSOR_MISSING' || p.code === 'AMANDA_ORPHAN_PIECE')) return 'unreadable';
  const dumpErrors = all.filter((p) => CODES[p.code].area !== 'container');
  if (dumpErrors.length === 0) {
    return all.some((p) => p.code === 'GZIP_TRUNCATED' || p.code === 'AMANDA_PIECE_MISSING') ? 'truncated' : 'corrupt';
  }
  const errors = dumpErrors;
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
