/**
 * Streaming dump reader: yields records with their absolute offsets from any
 * ByteSource, through one large reused buffer. File data is skipped without
 * reading it when the source is a file, or streamed to the caller on demand.
 */
import { D_DUMPHEADER, DUMP_BEGIN_MAGIC } from './constants.js';
import { Cursor, DEFAULT_LIMITS, NEED_MORE, decodeRecord, tagName, type DecodeLimits } from './decoder.js';
import { DumpError } from './errors.js';
import type { DumpRecord, Vnode } from './types.js';
import type { ByteSource } from '../io/source.js';

export interface ReaderOptions {
  /** Initial buffer size (default 1 MiB); grows only for records larger than it. */
  bufferSize?: number;
  limits?: DecodeLimits;
  /** Require a dump header at the start (default true); false to read from the middle. */
  expectHeader?: boolean;
  /** Absolute offset to start at (seekable sources; default 0). */
  start?: number;
}

const MAX_BUFFER = 8 << 20;

export class DumpReader {
  readonly source: ByteSource;
  private readonly c: Cursor;
  private eof = false;
  private ended = false;
  private finished = false;
  private first: boolean;
  /** File bytes of the last vnode not yet consumed. */
  private pendingData = 0;
  private current: Vnode | null = null;

  constructor(source: ByteSource, opts: ReaderOptions = {}) {
    this.source = source;
    this.c = new Cursor(Buffer.allocUnsafe(opts.bufferSize ?? 1 << 20), opts.limits ?? DEFAULT_LIMITS);
    this.c.base = opts.start ?? 0;
    this.first = opts.expectHeader ?? true;
  }

  /** Absolute offset of the next byte the reader has not consumed. */
  get position(): number {
    return this.c.base + this.c.pos + this.pendingData;
  }

  /** True once the end marker was read. */
  get sawEnd(): boolean {
    return this.ended;
  }

  /** Refill: keep unread bytes, read as much as fits. Returns bytes added. */
  private async fill(): Promise<number> {
    const c = this.c;
    if (this.eof) return 0;
    if (c.pos > 0) {
      c.buf.copy(c.buf, 0, c.pos, c.end);
      c.base += c.pos;
      c.end -= c.pos;
      c.pos = 0;
    }
    if (c.end === c.buf.length) {
      if (c.buf.length >= MAX_BUFFER) return 0;
      const bigger = Buffer.allocUnsafe(c.buf.length * 2);
      c.buf.copy(bigger, 0, 0, c.end);
      c.buf = bigger;
    }
    const n = await this.source.read(c.buf, c.end, c.buf.length - c.end, c.base + c.end);
    if (n === 0) this.eof = true;
    c.end += n;
    return n;
  }

  /** Consume `n` bytes at the cursor without looking at them. Returns bytes actually skipped. */
  private async skip(n: number): Promise<number> {
    const c = this.c;
    const inBuf = Math.min(n, c.end - c.pos);
    c.pos += inBuf;
    let left = n - inBuf;
    if (left === 0) return n;
    // Buffer is empty now: move the window past the skipped bytes.
    c.base += c.end;
    c.pos = c.end = 0;
    const got = await this.source.discard(left, c.base);
    c.base += got;
    left -= got;
    if (left > 0) this.eof = true;
    return n - left;
  }

  private truncatedInData(missing: number): DumpError {
    const v = this.current!;
    return new DumpError(
      'TRUNCATED',
      `input ends inside the file data of vnode ${v.vnode}.${v.unique} (${missing} of ${(v.data as { length: number }).length} bytes missing)`,
      this.c.base + this.c.pos,
      this.source.name,
    );
  }

  private async finishData(): Promise<void> {
    if (this.pendingData > 0) {
      const want = this.pendingData;
      this.pendingData = 0;
      const got = await this.skip(want);
      if (got < want) {
        this.pendingData = 0;
        throw this.truncatedInData(want - got);
      }
    }
    this.current = null;
  }

  /**
   * The file data of the vnode just returned by next(), in pieces. Each piece
   * is a view into the reader's buffer, valid until the next iteration.
   */
  async *fileData(): AsyncGenerator<Buffer> {
    const c = this.c;
    while (this.pendingData > 0) {
      if (c.pos >= c.end) {
        if ((await this.fill()) === 0) {
          const missing = this.pendingData;
          this.pendingData = 0;
          throw this.truncatedInData(missing);
        }
      }
      const n = Math.min(this.pendingData, c.end - c.pos);
      const piece = c.buf.subarray(c.pos, c.pos + n);
      c.pos += n;
      this.pendingData -= n;
      yield piece;
    }
  }

  /**
   * Read the current vnode's whole file data into a new Buffer. The length
   * comes from the dump, so it is checked against `max` (and the file's size)
   * before anything is allocated; use fileData() for large files.
   */
  async readFileData(max = 256 << 20): Promise<Buffer> {
    const here = this.c.base + this.c.pos;
    const size = this.source.size;
    if (this.pendingData > max || (size !== undefined && here + this.pendingData > size)) {
      const missing = size !== undefined ? here + this.pendingData - size : 0;
      if (missing > 0) {
        const n = this.pendingData;
        this.pendingData = 0;
        throw new DumpError('TRUNCATED', `input ends inside the file data of vnode ${this.current?.vnode}.${this.current?.unique} (${missing} of ${n} bytes missing)`, size, this.source.name);
      }
      throw new DumpError('BAD_LENGTH', `file data of ${this.pendingData} bytes is larger than ${max} bytes allowed in memory`, here, this.source.name);
    }
    const out = Buffer.allocUnsafe(this.pendingData);
    let at = 0;
    for await (const piece of this.fileData()) {
      piece.copy(out, at);
      at += piece.length;
    }
    return out;
  }

  /** The next record, or null after the end marker (and any trailing record). */
  async next(): Promise<DumpRecord | null> {
    await this.finishData();
    if (this.finished) return null;
    const c = this.c;
    if (this.ended) {
      this.finished = true;
      const at = c.base + c.pos;
      let extra = c.end - c.pos;
      c.pos = c.end;
      if (this.source.seekable && this.source.size !== undefined) {
        extra = Math.max(0, this.source.size - at);
      } else if (!this.eof) {
        extra += await this.source.discard(Number.MAX_SAFE_INTEGER, c.base + c.end);
        this.eof = true;
      }
      if (extra > 0) return { kind: 'trailing', offset: at, size: extra };
      return null;
    }
    if (this.first) {
      this.first = false;
      while (c.end - c.pos < 5 && (await this.fill()) > 0);
      const avail = c.end - c.pos;
      const b = c.buf;
      const p = c.pos;
      const okTag = avail >= 1 && b[p] === D_DUMPHEADER;
      const okMagic = avail >= 5 && b.readUInt32BE(p + 1) === DUMP_BEGIN_MAGIC;
      if (avail === 0) throw new DumpError('NOT_A_DUMP', 'empty input, not a dump', c.base + c.pos, this.source.name);
      if (avail < 5) {
        throw new DumpError('NOT_A_DUMP', `only ${avail} bytes: too short for a dump header`, c.base + c.pos, this.source.name);
      }
      if (!okTag || !okMagic) {
        throw new DumpError(
          'NOT_A_DUMP',
          `not a Coda dump: starts with ${b.subarray(p, p + Math.min(avail, 5)).toString('hex')} (want 01b3a11322)`,
          c.base + c.pos,
          this.source.name,
        );
      }
    }
    for (;;) {
      const start = c.pos;
      try {
        const rec = decodeRecord(c);
        if (rec.kind === 'vnode' && rec.data.kind === 'filedata') {
          this.pendingData = rec.data.length;
          this.current = rec;
        } else if (rec.kind === 'end') {
          this.ended = true;
        }
        return rec;
      } catch (e) {
        if (e !== NEED_MORE) {
          if (e instanceof DumpError) e.file ??= this.source.name;
          throw e;
        }
        c.pos = start;
        if ((await this.fill()) === 0) {
          const at = c.base + c.pos;
          const have = c.end - c.pos;
          if (have === 0) {
            throw new DumpError('TRUNCATED', `input ends at byte ${at} without an end marker`, at, this.source.name);
          }
          throw new DumpError(
            'TRUNCATED',
            `input ends at byte ${at + have} inside a ${tagName(c.buf[c.pos])} record that starts at byte ${at}`,
            at + have,
            this.source.name,
          );
        }
      }
    }
  }

  /** All records; closes the source when the iteration ends, however it ends. */
  async *records(): AsyncGenerator<DumpRecord> {
    try {
      for (;;) {
        const r = await this.next();
        if (!r) return;
        yield r;
      }
    } finally {
      await this.close();
    }
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.close();
  }
}

