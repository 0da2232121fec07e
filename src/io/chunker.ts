/**
 * The server-side chunker (FORMAT.md section 5): the dump stream is packed
 * into a 512,000-byte buffer that is shipped as one chunk each time the next
 * item would not fit. File content is packed in pieces of the block size
 * (4096), each piece being one item, so a chunk usually ends a little short
 * of 512,000 bytes.
 *
 * Packing rules, exactly:
 * - An item of n bytes is appended to the buffer if `used + n <= chunkSize`;
 *   otherwise the buffer (if not empty) is shipped first and the item starts
 *   the next chunk. A buffer that is exactly full is shipped only when the
 *   next non-empty item arrives, or by finish().
 * - An item larger than the whole buffer (n > chunkSize) cannot fit anywhere:
 *   the current buffer is shipped, then the item is cut into full
 *   chunkSize-byte chunks, and its remainder (< chunkSize) stays in the
 *   buffer as the start of the next chunk.
 * - Empty items are ignored. No chunk is ever empty; an empty stream gives
 *   no chunks at all.
 * - File data: pushFileData(buf) cuts the content into blockSize pieces
 *   counted from the start of the file's content (the last piece shorter).
 *   A file's content can be fed in several calls with `more = true` on all
 *   but the last; a piece split across calls is reassembled first.
 *
 * Every chunk gets a fresh Buffer (never reused), so consumers may keep it.
 */

import { TWO_32 } from '../format/constants.js';
import { DumpError } from '../format/errors.js';

export const SERVER_CHUNK_SIZE = 512000;
export const SERVER_BLOCK_SIZE = 4096;

export interface Chunk {
  /** True 64-bit offset of the chunk's first byte in the dump stream. */
  offset: number;
  /** What travels on the wire: offset mod 2^32. */
  offset32: number;
  data: Buffer;
}

export type ChunkItem =
  | { kind: 'item'; data: Buffer }
  /** `more: true` = this file's content continues in the next 'filedata' item. */
  | { kind: 'filedata'; data: Buffer; more?: boolean };

export interface ChunkerOptions {
  chunkSize?: number;
  blockSize?: number;
  /** True stream offset of the first byte (default 0). */
  startOffset?: number;
}

export class ServerChunker {
  readonly chunkSize: number;
  readonly blockSize: number;
  private readonly emit: (c: Chunk) => void;
  private buf: Buffer;
  private used = 0;
  /** Stream offset of buf[0]. */
  private base: number;
  /** Partial file-data piece carried between pushFileData(..., more=true) calls. */
  private readonly piece: Buffer;
  private pieceUsed = 0;
  private finished = false;

  constructor(onChunk: (c: Chunk) => void, opts: ChunkerOptions = {}) {
    this.chunkSize = opts.chunkSize ?? SERVER_CHUNK_SIZE;
    this.blockSize = opts.blockSize ?? SERVER_BLOCK_SIZE;
    this.base = opts.startOffset ?? 0;
    if (!Number.isSafeInteger(this.chunkSize) || this.chunkSize <= 0) {
      throw new DumpError('BAD_VALUE', `invalid chunk size ${this.chunkSize}`);
    }
    if (!Number.isSafeInteger(this.blockSize) || this.blockSize <= 0) {
      throw new DumpError('BAD_VALUE', `invalid block size ${this.blockSize}`);
    }
    if (!Number.isSafeInteger(this.base) || this.base < 0) {
      throw new DumpError('BAD_VALUE', `invalid start offset ${this.base}`);
    }
    this.emit = onChunk;
    this.buf = Buffer.allocUnsafe(this.chunkSize);
    this.piece = Buffer.allocUnsafe(this.blockSize);
  }

  /** Stream offset of the next byte to be pushed (shipped or not). */
  get position(): number {
    return this.base + this.used;
  }

  private ship(): void {
    if (this.used === 0) return;
    const data = this.used === this.chunkSize ? this.buf : this.buf.subarray(0, this.used);
    const offset = this.base;
    this.base += this.used;
    this.buf = Buffer.allocUnsafe(this.chunkSize);
    this.used = 0;
    this.emit({ offset, offset32: offset % TWO_32, data });
  }

  private checkOpen(): void {
    if (this.finished) throw new DumpError('BAD_VALUE', 'chunker already finished');
  }

  /** Push one item: bytes the server writes as one unit. */
  push(item: Buffer): void {
    this.checkOpen();
    if (this.pieceUsed > 0) {
      throw new DumpError('BAD_VALUE', 'item pushed while a file\'s data is unfinished (pushFileData with more=true)');
    }
    this.pushItem(item);
  }

  private pushItem(item: Buffer): void {
    const n = item.length;
    if (n === 0) return;
    if (this.used + n <= this.chunkSize) {
      item.copy(this.buf, this.used);
      this.used += n;
      return;
    }
    this.ship();
    let off = 0;
    // Oversized item: full chunks straight from it, the rest starts the next buffer.
    while (n - off > this.chunkSize) {
      const data = Buffer.allocUnsafe(this.chunkSize);
      item.copy(data, 0, off, off + this.chunkSize);
      const offset = this.base;
      this.base += this.chunkSize;
      off += this.chunkSize;
      this.emit({ offset, offset32: offset % TWO_32, data });
    }
    item.copy(this.buf, 0, off);
    this.used = n - off;
  }

  /**
   * Push file content as blockSize pieces. Equivalent to pushing each piece
   * as an item, but whole runs of pieces that fit are copied in one go.
   * With `more = true` the file continues in the next call.
   */
  pushFileData(data: Buffer, more = false): void {
    this.checkOpen();
    const bs = this.blockSize;
    let off = 0;
    if (this.pieceUsed > 0) {
      const take = Math.min(bs - this.pieceUsed, data.length);
      data.copy(this.piece, this.pieceUsed, 0, take);
      this.pieceUsed += take;
      off = take;
      if (this.pieceUsed < bs && more) return;
      const p = this.pieceUsed;
      this.pieceUsed = 0;
      this.pushItem(this.piece.subarray(0, p));
    }
    const whole = off + Math.floor((data.length - off) / bs) * bs;
    while (off < whole) {
      let room = Math.floor((this.chunkSize - this.used) / bs);
      if (room === 0) {
        // The next piece does not fit (or bs > chunkSize: pushItem splits it).
        if (this.used === 0) {
          this.pushItem(data.subarray(off, off + bs));
          off += bs;
          continue;
        }
        this.ship();
        room = Math.floor(this.chunkSize / bs);
        if (room === 0) continue;
      }
      const n = Math.min(room * bs, whole - off);
      data.copy(this.buf, this.used, off, off + n);
      this.used += n;
      off += n;
    }
    const rest = data.length - off;
    if (rest > 0) {
      if (more) {
        data.copy(this.piece, 0, off);
        this.pieceUsed = rest;
      } else {
        this.pushItem(data.subarray(off));
      }
    }
  }

  /** Ship whatever is buffered. Further pushes are refused. */
  finish(): void {
    if (this.finished) return;
    if (this.pieceUsed > 0) {
      const p = this.pieceUsed;
      this.pieceUsed = 0;
      this.pushItem(this.piece.subarray(0, p));
    }
    this.ship();
    this.finished = true;
  }
}

/** Chunk a stream of items; yields each chunk as soon as it is shipped. */
export async function* chunkStream(
  items: AsyncIterable<ChunkItem> | Iterable<ChunkItem>,
  opts: ChunkerOptions = {},
): AsyncGenerator<Chunk> {
  const queue: Chunk[] = [];
  const chunker = new ServerChunker((c) => queue.push(c), opts);
  for await (const item of items) {
    if (item.kind === 'item') chunker.push(item.data);
    else chunker.pushFileData(item.data, item.more ?? false);
    while (queue.length > 0) yield queue.shift() as Chunk;
  }
  chunker.finish();
  while (queue.length > 0) yield queue.shift() as Chunk;
}

/** Synchronous convenience: all chunks of a list of items. */
export function chunkAll(items: Iterable<ChunkItem>, opts: ChunkerOptions = {}): Chunk[] {
  const out: Chunk[] = [];
  const chunker = new ServerChunker((c) => out.push(c), opts);
  for (const item of items) {
    if (item.kind === 'item') chunker.push(item.data);
    else chunker.pushFileData(item.data, item.more ?? false);
  }
  chunker.finish();
  return out;
}
