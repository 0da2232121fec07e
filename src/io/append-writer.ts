/**
 * The fixed receiver (WRAPAROUND.md, "The fix"): one output opened once,
 * chunks appended strictly in arrival order, the true 64-bit position kept
 * here. The 32-bit offset that travels with a chunk is only a check against
 * `position mod 2^32`; it is never used as a seek target.
 */

import { DumpError } from '../format/errors.js';
import { TWO_32 } from '../format/constants.js';

/** Anything that takes bytes in order: an AtomicOutput, a pipe wrapper, a counter... */
export interface ByteSink {
  write(buf: Buffer): Promise<void> | void;
}

export interface AppendWriterOptions {
  /**
   * True 64-bit stream position of the first byte that will be written
   * (default 0). Lets a caller resume, and lets tests start past 2^32
   * without pushing 4 GiB through.
   */
  startPosition?: number;
  /** File name used in error messages. */
  file?: string;
}

function validPosition(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * Check a received 32-bit chunk offset against the receiver's true position.
 * Throws DumpError 'CHUNK_OFFSET' (with `offset` = the true position) on a
 * mismatch, naming whether bytes look lost (offset ahead of us) or repeated
 * (offset behind us). Both distances are computed modulo 2^32, so the
 * verdict is the nearer of the two explanations.
 */
export function checkChunkOffset(position: number, offset32: number, file?: string): void {
  if (!Number.isInteger(offset32) || offset32 < 0 || offset32 >= TWO_32) {
    throw new DumpError(
      'CHUNK_OFFSET',
      `chunk offset ${offset32} is not an unsigned 32-bit number`,
      position,
      file,
    );
  }
  const expected = position % TWO_32;
  if (offset32 === expected) return;
  const ahead = (offset32 - expected + TWO_32) % TWO_32; // bytes skipped if lost
  const behind = TWO_32 - ahead; // bytes repeated if re-sent
  const why =
    ahead <= behind
      ? `${ahead} bytes are missing: a chunk was lost`
      : `${behind} bytes would be written again: a chunk was repeated or arrived out of order`;
  throw new DumpError(
    'CHUNK_OFFSET',
    `chunk offset mismatch: expected 32-bit offset ${expected} (true position ${position}) but got ${offset32}; ${why}`,
    position,
    file,
  );
}

export class AppendWriter {
  private readonly sink: ByteSink;
  private readonly file: string | undefined;
  private pos: number;
  private failure: unknown = undefined;

  constructor(sink: ByteSink, opts: AppendWriterOptions = {}) {
    const start = opts.startPosition ?? 0;
    if (!validPosition(start)) {
      throw new DumpError('BAD_VALUE', `invalid start position ${start}`, undefined, opts.file);
    }
    this.sink = sink;
    this.file = opts.file;
    this.pos = start;
  }

  /** True 64-bit position: the stream offset of the next byte to be written. */
  get position(): number {
    return this.pos;
  }

  /**
   * Append one chunk. When `offset32` is given it must equal
   * `position mod 2^32`, otherwise DumpError 'CHUNK_OFFSET' and nothing is
   * written. Calls must be sequential (await each one); the position is
   * advanced before the sink's promise settles, so a second call made
   * without awaiting is checked against the right position. Once the sink
   * has failed, every later call rejects with the same error.
   */
  async writeChunk(buf: Buffer, offset32?: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (offset32 !== undefined) checkChunkOffset(this.pos, offset32, this.file);
    const next = this.pos + buf.length;
    if (!Number.isSafeInteger(next)) {
      throw new DumpError('BAD_VALUE', 'stream position exceeds 2^53', this.pos, this.file);
    }
    this.pos = next;
    try {
      const r = this.sink.write(buf);
      if (r !== undefined) await r;
    } catch (e) {
      this.failure = e;
      throw e;
    }
  }
}
