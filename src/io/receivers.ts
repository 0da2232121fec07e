/**
 * Receiver models from WRAPAROUND.md: what a receiver that seeks to the
 * chunk's 32-bit offset does to a dump file, simulated on a real file
 * (SimulatedReceiver) and computed abstractly (wrapLayout).
 *
 * With W = 2^wrapBits (32 for the real bug; smaller in unit tests), chunk k
 * with true stream offset o_k gets a seek target t = o_k mod W, and:
 *
 * - Model 'A' (64-bit receiver): the chunk is written at t. The file is
 *   truncated first when t == 0 (the open truncates for a requested offset
 *   <= 0, and an unsigned target is never negative). Chunk 0 therefore
 *   truncates too (harmless: the file is new).
 * - Model 'B' (32-bit receiver, target in a signed wrapBits-bit integer):
 *   t in [W/2, W) is negative: the file is truncated and the chunk written
 *   at position 0. t == 0 truncates and writes at 0 as in A. Any other t
 *   (0 < t < W/2) is written at t without truncation.
 * - 'append' (the fix): offsets are checked (mod 2^32), never used; each
 *   chunk goes right after the previous one.
 *
 * General rule for all models: stream byte p of chunk k lands at file
 * position target_k + (p - o_k); a truncation empties the file first; the
 * last write to a position wins; writing past the end extends the file
 * (a gap would read as zeros).
 */

import * as fs from 'node:fs';
import { DumpError, ioError } from '../format/errors.js';
import { TWO_32 } from '../format/constants.js';
import { checkChunkOffset } from './append-writer.js';
import { sparseRuns, zeroBlock } from './sparse.js';

export type ReceiverModel = 'A' | 'B' | 'append';

export interface ReceivedChunk {
  /** True 64-bit stream offset. */
  offset: number;
  /** Offset as sent (offset mod 2^32); derived from `offset` when absent. */
  offset32?: number;
  data: Buffer;
}

export interface SimulatedReceiverOptions {
  /** W = 2^wrapBits; default 32. Integer in [1, 48]. */
  wrapBits?: number;
  /**
   * Do not write all-zero runs that would land on bytes already known to be
   * zero (holes, or never written since the last truncation); the file size
   * is still set right (ftruncate at close). Zeros that overwrite earlier
   * non-zero data ARE written, so the result is byte-identical to a
   * non-sparse run.
   */
  sparse?: boolean;
  /**
   * Write into this open descriptor (e.g. AtomicOutput.descriptor, so the
   * file appears only when complete) instead of creating `path`; close()
   * then sets the size but leaves the descriptor open. `path` names it in
   * messages.
   */
  fd?: number;
}

export interface WrapSegment {
  /** Where the range sits in the damaged file. */
  fileStart: number;
  /** Where it came from in the true stream. */
  streamStart: number;
  length: number;
}

export interface WrapLayout {
  /** Size of the damaged file. */
  fileSize: number;
  /**
   * Surviving stream ranges, sorted by fileStart, non-overlapping, merged
   * where contiguous in both file and stream. File bytes covered by no
   * segment were never written (zeros); with contiguous chunks from 0 this
   * does not happen in any model.
   */
  segments: WrapSegment[];
}

function checkWrapBits(wrapBits: number): number {
  if (!Number.isInteger(wrapBits) || wrapBits < 1 || wrapBits > 48) {
    throw new DumpError('BAD_VALUE', `wrapBits must be an integer in [1, 48], got ${wrapBits}`);
  }
  return 2 ** wrapBits;
}

/**
 * Seek target and truncation of a seeking receiver (models A and B) for a
 * chunk at true stream offset `offset`.
 */
export function seekTarget(
  model: 'A' | 'B',
  offset: number,
  wrapBits = 32,
): { position: number; truncate: boolean } {
  const W = checkWrapBits(wrapBits);
  const t = offset % W;
  if (model === 'A') return { position: t, truncate: t === 0 };
  if (t === 0 || t >= W / 2) return { position: 0, truncate: true };
  return { position: t, truncate: false };
}

// ---------------------------------------------------------------------------
// Abstract layout

/** Overwrite file range [fileStart, fileStart+length) with stream bytes from streamStart. */
function overwrite(segs: WrapSegment[], fileStart: number, streamStart: number, length: number): WrapSegment[] {
  if (length === 0) return segs;
  const end = fileStart + length;
  const out: WrapSegment[] = [];
  let inserted = false;
  const put = (s: WrapSegment) => {
    const prev = out[out.length - 1];
    if (
      prev !== undefined &&
      prev.fileStart + prev.length === s.fileStart &&
      prev.streamStart + prev.length === s.streamStart
    ) {
      prev.length += s.length;
    } else {
      out.push({ ...s });
    }
  };
  const insertNew = () => {
    if (!inserted) {
      put({ fileStart, streamStart, length });
      inserted = true;
    }
  };
  for (const s of segs) {
    const sEnd = s.fileStart + s.length;
    if (sEnd <= fileStart) {
      put(s);
      continue;
    }
    if (s.fileStart >= end) {
      insertNew();
      put(s);
      continue;
    }
    // Overlap: keep the parts outside [fileStart, end).
    if (s.fileStart < fileStart) {
      put({ fileStart: s.fileStart, streamStart: s.streamStart, length: fileStart - s.fileStart });
    }
    insertNew();
    if (sEnd > end) {
      put({ fileStart: end, streamStart: s.streamStart + (end - s.fileStart), length: sEnd - end });
    }
  }
  insertNew();
  return out;
}

/**
 * Where each surviving stream range ends up in the file a receiver of the
 * given model leaves behind. `chunks` must be contiguous from 0 and end at
 * L (as a server sends them); otherwise DumpError 'BAD_VALUE'.
 */
export function wrapLayout(
  chunks: ReadonlyArray<{ offset: number; length: number }>,
  L: number,
  model: ReceiverModel,
  wrapBits = 32,
): WrapLayout {
  checkWrapBits(wrapBits);
  let expect = 0;
  for (const c of chunks) {
    if (c.offset !== expect || !Number.isSafeInteger(c.length) || c.length < 0) {
      throw new DumpError('BAD_VALUE', `chunks are not contiguous: chunk at ${c.offset} (length ${c.length}), expected offset ${expect}`, c.offset);
    }
    expect += c.length;
  }
  if (expect !== L) {
    throw new DumpError('BAD_VALUE', `chunks cover ${expect} bytes but the stream length is ${L}`, expect);
  }
  if (model === 'append') {
    return { fileSize: L, segments: L > 0 ? [{ fileStart: 0, streamStart: 0, length: L }] : [] };
  }
  let segs: WrapSegment[] = [];
  let size = 0;
  for (const c of chunks) {
    const { position, truncate } = seekTarget(model, c.offset, wrapBits);
    if (truncate) {
      segs = [];
      size = 0;
    }
    segs = overwrite(segs, position, c.offset, c.length);
    size = Math.max(size, position + c.length);
  }
  return { fileSize: size, segments: segs };
}

/** Build the damaged file's bytes from the true stream and a layout (gaps are zeros). */
export function renderLayout(stream: Buffer, layout: WrapLayout): Buffer {
  const out = Buffer.alloc(layout.fileSize);
  for (const s of layout.segments) {
    stream.copy(out, s.fileStart, s.streamStart, s.streamStart + s.length);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Simulation on a real file

/** Sorted, merged, non-overlapping [start, end) intervals. */
class IntervalSet {
  private iv: Array<[number, number]> = [];

  clear(): void {
    this.iv = [];
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const out: Array<[number, number]> = [];
    let s = start;
    let e = end;
    let placed = false;
    for (const [a, b] of this.iv) {
      if (b < s) out.push([a, b]);
      else if (a > e) {
        if (!placed) {
          out.push([s, e]);
          placed = true;
        }
        out.push([a, b]);
      } else {
        s = Math.min(s, a);
        e = Math.max(e, b);
      }
    }
    if (!placed) out.push([s, e]);
    this.iv = out;
  }

  /** Remove [start, end) and return the parts that were present. */
  take(start: number, end: number): Array<[number, number]> {
    const hit: Array<[number, number]> = [];
    const out: Array<[number, number]> = [];
    for (const [a, b] of this.iv) {
      if (b <= start || a >= end) {
        out.push([a, b]);
        continue;
      }
      hit.push([Math.max(a, start), Math.min(b, end)]);
      if (a < start) out.push([a, start]);
      if (b > end) out.push([end, b]);
    }
    if (hit.length > 0) this.iv = out;
    return hit;
  }
}

export class SimulatedReceiver {
  readonly model: ReceiverModel;
  readonly path: string;
  readonly wrapBits: number;
  private readonly sparse: boolean;
  private fd: number | undefined;
  /** Logical file size. */
  private size = 0;
  /** Append model: true position. */
  private pos = 0;
  /** Sparse mode: ranges that may hold non-zero bytes. */
  private readonly dirty = new IntervalSet();
  /** The descriptor was opened here (and is closed by close()). */
  private readonly ownFd: boolean;

  constructor(model: ReceiverModel, path: string, opts: SimulatedReceiverOptions = {}) {
    this.model = model;
    this.path = path;
    this.wrapBits = opts.wrapBits ?? 32;
    checkWrapBits(this.wrapBits);
    this.sparse = opts.sparse ?? false;
    this.ownFd = opts.fd === undefined;
    if (opts.fd !== undefined) {
      this.fd = opts.fd;
      return;
    }
    try {
      this.fd = fs.openSync(path, 'w');
    } catch (e) {
      throw ioError(e, path, 'cannot create');
    }
  }

  /** Current logical size of the file. */
  get fileSize(): number {
    return this.size;
  }

  writeChunk(chunk: ReceivedChunk): void {
    if (this.fd === undefined) throw new DumpError('IO', 'receiver is closed', undefined, this.path);
    const { offset, data } = chunk;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new DumpError('BAD_VALUE', `invalid chunk offset ${offset}`, undefined, this.path);
    }
    let position: number;
    if (this.model === 'append') {
      checkChunkOffset(this.pos, chunk.offset32 ?? offset % TWO_32, this.path);
      position = this.pos;
      this.pos += data.length;
    } else {
      const t = seekTarget(this.model, offset, this.wrapBits);
      if (t.truncate) this.truncate();
      position = t.position;
    }
    try {
      if (this.sparse) this.writeSparse(data, position);
      else this.writeAll(data, 0, data.length, position);
    } catch (e) {
      throw ioError(e, this.path, 'cannot write');
    }
    this.size = Math.max(this.size, position + data.length);
  }

  private truncate(): void {
    try {
      fs.ftruncateSync(this.fd as number, 0);
    } catch (e) {
      throw ioError(e, this.path, 'cannot truncate');
    }
    this.size = 0;
    this.dirty.clear();
  }

  private writeAll(buf: Buffer, start: number, end: number, position: number): void {
    let off = start;
    let pos = position;
    while (off < end) {
      const n = fs.writeSync(this.fd as number, buf, off, end - off, pos);
      off += n;
      pos += n;
    }
  }

  private writeSparse(data: Buffer, position: number): void {
    const zero = zeroBlock();
    sparseRuns(
      data, 0, data.length, zero,
      (s, e) => {
        this.writeAll(data, s, e, position + s);
        this.dirty.add(position + s, position + e);
      },
      // Zeros: only where earlier non-zero bytes must be overwritten.
      (s, e) => {
        for (const [a, b] of this.dirty.take(position + s, position + e)) this.writeAll(zero, 0, b - a, a);
      },
    );
  }

  /** Set the final size (sparse mode may have skipped trailing zeros) and close (a descriptor given in the options stays open). */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      if (this.sparse) fs.ftruncateSync(fd, this.size);
    } catch (e) {
      throw ioError(e, this.path, 'cannot truncate');
    } finally {
      if (this.ownFd) fs.closeSync(fd);
    }
  }
}
