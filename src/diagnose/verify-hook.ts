/**
 * The wraparound diagnosis as a `verify` hook (ArchiveOptions.analyze): a
 * damaged dump whose shape fits the 4 GiB wraparound is diagnosed, and when
 * the diagnosis confirms it the verdict becomes `wraparound`.
 */
import { open } from 'node:fs/promises';
import { END_MARKER } from '../format/constants.js';
import { DumpError } from '../format/errors.js';
import { verdictOf } from '../check/problems.js';
import type { DumpReport } from '../check/archive.js';
import { SERVER_CHUNK_SIZE } from '../io/chunker.js';
import { sniff } from '../source/sniff.js';
import { diagnoseFile, wrapSizeOf } from './diagnose.js';
import { diagnosisJson } from './report.js';

/** Cheap test on the size and the first and last bytes: could this be a wrapped dump? */
export async function wrapShaped(path: string, size: number, wrapBits = 32): Promise<boolean> {
  const W = wrapSizeOf(wrapBits);
  if (size < 5) return false;
  const fh = await open(path, 'r');
  try {
    // Known other formats (compressed data, archives, Amanda tape labels) are no dump's remains.
    const head = Buffer.alloc(Math.min(size, 512));
    await fh.read(head, 0, head.length, 0);
    const kind = sniff(head).kind;
    if (kind !== 'dump' && kind !== 'unknown') return false;
    const b = Buffer.alloc(5);
    const header = kind === 'dump';
    if (header) return size > W && size <= W + SERVER_CHUNK_SIZE;
    await fh.read(b, 0, 5, size - 5);
    if (b.equals(END_MARKER)) return true;
    // Model B can leave the straddling chunk's rest after the end marker: any end marker in the last chunk.
    const n = Math.min(size, SERVER_CHUNK_SIZE);
    const tail = Buffer.alloc(n);
    await fh.read(tail, 0, n, size - n);
    return tail.indexOf(END_MARKER) >= 0;
  } finally {
    await fh.close();
  }
}

/** The same test for a decoded container: its size and whether the decoded stream had a header. */
function wrapShapedDecoded(r: DumpReport, wrapBits = 32): boolean {
  if (r.size === null || r.size < 5) return false;
  const W = wrapSizeOf(wrapBits);
  if (r.header) return r.size > W && r.size <= W + SERVER_CHUNK_SIZE;
  return r.verdict !== 'unreadable';
}

export function wraparoundAnalyzer(opts: { wrapBits?: number; tmpdir?: string; decompressWith?: string } = {}) {
  return async (r: DumpReport, declared: number | null): Promise<void> => {
    if (r.verdict === 'ok' || r.path === '-' || r.size === null) return;
    // Where the dump really is: a relocated link (--relocate) is read from its new place.
    const file = r.file ?? r.path;
    let a;
    try {
      if (r.container ? !wrapShapedDecoded(r, opts.wrapBits) : !(await wrapShaped(file, r.size, opts.wrapBits))) return;
      a = await diagnoseFile(file, { wrapBits: opts.wrapBits, declared, tmpdir: opts.tmpdir, decompressWith: opts.decompressWith });
    } catch (e) {
      // The verify result already says what is wrong; a file gone since it was verified leaves it as it is.
      if (e instanceof DumpError || (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string')) return;
      throw e;
    }
    if (a.verdict !== 'wraparound' || !a.wraparound) return;
    // diagnose's findings are verify's plus the WRAPAROUND finding (and a
    // missing header becomes info: it is what the wraparound left); verify's
    // own findings from outside the dump (the backup log's) stay.
    const had = new Set(r.problems.map((p) => p.code));
    for (const p of r.problems) if (p.code === 'NOT_A_DUMP') p.severity = 'info';
    r.problems.push(...a.problems.filter((p) => !had.has(p.code)));
    r.problems.sort((x, y) => x.offset - y.offset);
    r.diagnosis = diagnosisJson(a);
    r.verdict = verdictOf(r.problems);
  };
}
