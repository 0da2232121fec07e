/**
 * Random access: decode the record at any absolute offset of a dump file.
 * Used by diagnosis and repair to probe for record boundaries.
 */
import { Cursor, DEFAULT_LIMITS, NEED_MORE, decodeRecord, tagName, type DecodeLimits } from './decoder.js';
import { DumpError } from './errors.js';
import type { DumpRecord } from './types.js';
import { FileSource } from '../source/file.js';

const MAX_WINDOW = 8 << 20;

export class PositionalReader {
  private readonly c: Cursor;

  constructor(
    readonly source: FileSource,
    limits: DecodeLimits = DEFAULT_LIMITS,
    window = 64 << 10,
  ) {
    this.c = new Cursor(Buffer.allocUnsafe(window), limits);
  }

  static async open(path: string, limits?: DecodeLimits): Promise<PositionalReader> {
    return new PositionalReader(await FileSource.open(path), limits);
  }

  get size(): number {
    return this.source.size;
  }

  /** Read `len` bytes at `offset` (fewer at end of file). */
  async bytesAt(offset: number, len: number): Promise<Buffer> {
    const b = Buffer.allocUnsafe(Math.max(0, Math.min(len, this.size - offset)));
    let got = 0;
    while (got < b.length) {
      const n = await this.source.read(b, got, b.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  }

  /**
   * Decode the record whose structural tag is at `offset`. File data is not
   * read: a vnode's `data.start`/`data.length` say where it is. Throws a
   * DumpError for damage or when the file ends inside the record.
   */
  async recordAt(offset: number): Promise<DumpRecord> {
    const c = this.c;
    let want = Math.min(c.buf.length, 64 << 10);
    for (;;) {
      if (want > c.buf.length) c.buf = Buffer.allocUnsafe(want);
      c.base = offset;
      c.pos = 0;
      c.end = 0;
      while (c.end < want) {
        const n = await this.source.read(c.buf, c.end, want - c.end, offset + c.end);
        if (n === 0) break;
        c.end += n;
      }
      try {
        return decodeRecord(c);
      } catch (e) {
        if (e !== NEED_MORE) {
          if (e instanceof DumpError) e.file ??= this.source.name;
          throw e;
        }
        if (c.end < want || want >= MAX_WINDOW) {
          const what = c.end > 0 ? tagName(c.buf[0]) : 'record';
          throw new DumpError('TRUNCATED', `file ends at byte ${offset + c.end} inside a ${what} record that starts at byte ${offset}`, offset + c.end, this.source.name);
        }
        want *= 4;
      }
    }
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}
