/**
 * The one sparse writer's zero-skip: which pieces of a buffer hold data and
 * which are all zeros, in SPARSE_BLOCK steps. AtomicOutput (sparse mode),
 * SimulatedReceiver (sparse mode) and RingWriter's write worker all split
 * their writes with sparseRuns; zero blocks become holes (or, for the
 * receiver, are written only where they overwrite earlier data).
 */

/** Granularity of zero detection. */
export const SPARSE_BLOCK = 64 * 1024;
const ZERO_BLOCK = Buffer.alloc(SPARSE_BLOCK);

/** SPARSE_BLOCK zero bytes, shared (never write into it). */
export function zeroBlock(): Buffer {
  return ZERO_BLOCK;
}

/** True when `buf[start, end)` is all zero bytes (memcmp against a zero block). */
export function isZeroRange(buf: Buffer, start = 0, end = buf.length): boolean {
  for (let i = start; i < end; i += SPARSE_BLOCK) {
    const j = Math.min(end, i + SPARSE_BLOCK);
    if (Buffer.compare(buf.subarray(i, j), ZERO_BLOCK.subarray(0, j - i)) !== 0) return false;
  }
  return true;
}

/**
 * Split `buf[start, end)` in blocks of `zero.length` bytes counted from
 * `start`, and call, in order, `onData(s, e)` for each maximal run of blocks
 * that hold a non-zero byte and `onZero(s, e)` for each all-zero block
 * (positions in `buf`). `zero` is a block of zero bytes (zeroBlock()).
 *
 * Self-contained on purpose (no free variables): RingWriter's worker thread
 * runs this function's source text.
 */
export function sparseRuns(
  buf: Buffer,
  start: number,
  end: number,
  zero: Buffer,
  onData: (s: number, e: number) => void,
  onZero: (s: number, e: number) => void,
): void {
  const block = zero.length;
  let run = -1;
  for (let i = start; i < end; i += block) {
    const j = Math.min(end, i + block);
    if (buf.compare(zero, 0, j - i, i, j) === 0) {
      if (run >= 0) onData(run, i);
      run = -1;
      onZero(i, j);
    } else if (run < 0) {
      run = i;
    }
  }
  if (run >= 0) onData(run, end);
}
