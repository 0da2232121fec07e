/**
 * Compressed bytes as a decoder consumes them: chunks in order, with the
 * position reached and room to give back what a decoder did not use (the
 * bytes after a gzip member's deflate data). The input is one file from an
 * offset, a chain of Amanda holding-disk pieces, or any stream.
 */
import { createReadStream } from 'node:fs';
import { ioError } from '../diagnostics/errors.js';

/** A file's bytes from `start`, in fresh buffers (decoders may keep them). */
export async function* fileChunks(path: string, start = 0, chunk = 1 << 20): AsyncGenerator<Buffer> {
  try {
    for await (const b of createReadStream(path, { start, highWaterMark: chunk })) yield b as Buffer;
  } catch (e) {
    throw ioError(e, path);
  }
}

/** Where a compressed position lies: the file and its byte offset there. */
export interface RawPlace {
  file: string;
  offset: number;
}

export class RawInput {
  /** Compressed bytes consumed so far (after `unread`, the bytes given back are not counted). */
  position = 0;
  private back: Buffer[] = [];
  private readonly it: AsyncIterator<Buffer>;
  /** Pieces met so far: [logical start, file, file offset of that start]. */
  private readonly places: { start: number; file: string; fileOffset: number }[] = [];

  constructor(chunks: AsyncIterable<Buffer>, first: RawPlace) {
    this.it = chunks[Symbol.asyncIterator]();
    this.places.push({ start: 0, file: first.file, fileOffset: first.offset });
  }

  /** A file from `start` (a fresh buffer for every chunk: decoders may keep them). */
  static file(path: string, start = 0, chunk = 256 << 10): RawInput {
    return new RawInput(fileChunks(path, start, chunk), { file: path, offset: start });
  }

  /** Mark that the logical position `at` is `offset` in `file` (the next piece of a chain begins). */
  placeAt(at: number, file: string, offset: number): void {
    this.places.push({ start: at, file, fileOffset: offset });
  }

  /** The file and its offset for a logical position. */
  where(pos: number): RawPlace {
    let p = this.places[0];
    for (const q of this.places) if (q.start <= pos) p = q;
    return { file: p.file, offset: p.fileOffset + (pos - p.start) };
  }

  /** The next chunk (at most `max` bytes), or null at the end. */
  async read(max = 64 << 10): Promise<Buffer | null> {
    let b = this.back.pop();
    if (!b) {
      const r = await this.it.next();
      if (r.done) return null;
      b = r.value;
      if (b.length === 0) return this.read(max);
    }
    if (b.length > max) {
      this.back.push(b.subarray(max));
      b = b.subarray(0, max);
    }
    this.position += b.length;
    return b;
  }

  /** Exactly `n` bytes (fewer only at the end). */
  async readExact(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const b = await this.read(n - got);
      if (!b) break;
      parts.push(b);
      got += b.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, got);
  }

  /** Give back the last bytes read: the next read returns them first. */
  unread(b: Buffer): void {
    if (b.length === 0) return;
    this.back.push(b);
    this.position -= b.length;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}
