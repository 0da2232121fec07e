/**
 * Streaming dump reader: yields records with their absolute offsets from any
 * ByteSource, through one large reused buffer. File data is skipped without
 * reading it when the source is a file, or streamed to the caller on demand.
 */
import { D_DUMPHEADER, DUMP_BEGIN_MAGIC } from './constants.js';
import { Cursor, DEFAULT_LIMITS, NEED_MORE, decodeRecord, tagName, type DecodeLimits } from './decoder.js';
import { DumpError } from './errors.js';
import type { DumpRecord, Vnode } from './types.js';
import type { ByteSource } from '../source/byte-source.js';

export interface ReaderOptions {
  /** Initial buffer size (default 1 MiB); grows only for records larger than it. */
  bufferSize?: number;
  limits?: DecodeLimits;
  /** Require a dump header at the start (default true); false to read from the middle. */
  expectHeader?: boolean;
  /** Absolute offset to start at (seekable sources; default 0). */
  start?: number;
  /**
   * Seekable sources: how many reads may be in flight ahead of the window
   * while the input is read straight through (default 2; 0: read only when
   * the window runs out). Reads ahead start one at a time and deepen as they
   * are used, so skipping file data wastes little.
   */
  readAhead?: number;
}

const MAX_BUFFER = 8 << 20;
/** A read ahead grows to this many times the read size (each of the few read-ahead buffers is that large). */
const AHEAD_READS = 2;

/**
 * A read started ahead of need (seekable sources): the bytes that follow the
 * window (or the read ahead before it), read into a spare buffer at `gap`
 * while the window is decoded.
 */
interface ReadAhead {
  buf: Buffer;
  /** Index in buf where the read bytes start (room before it for the window's unread tail). */
  gap: number;
  /** Absolute position of buf[gap]. */
  position: number;
  /** Bytes asked for: the next read ahead starts at position + len. */
  len: number;
  done: Promise<{ n: number } | { error: unknown }>;
}

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
  /** Seekable sources: the reads ahead in flight, in input order, each following the one before. */
  private readonly aheads: ReadAhead[] = [];
  /** Read-ahead buffers not in use. */
  private readonly spares: Buffer[] = [];
  /** The most reads ahead in flight (ReaderOptions.readAhead). */
  private readonly maxAhead: number;
  /** Reads ahead to keep in flight now: one more each time one is used, back to 1 when one is not. */
  private depth = 1;
  /** Bytes a refill reads from a file (the initial buffer size). */
  private readonly readSize: number;
  /** The largest the buffer grows to for one record (the initial size doubled until MAX_BUFFER). */
  private readonly maxWindow: number;
  /** Bytes the next read ahead asks for: doubles (to AHEAD_READS times readSize) while the input is read straight through. */
  private aheadSize: number;
  /** Absolute position the last refill read up to; a refill that starts there follows on without a skip. */
  private filledTo: number;

  constructor(source: ByteSource, opts: ReaderOptions = {}) {
    this.source = source;
    this.c = new Cursor(Buffer.allocUnsafe(opts.bufferSize ?? 1 << 20), opts.limits ?? DEFAULT_LIMITS);
    this.c.base = opts.start ?? 0;
    this.first = opts.expectHeader ?? true;
    this.readSize = this.c.buf.length;
    let max = this.readSize;
    while (max < MAX_BUFFER) max *= 2;
    this.maxWindow = max;
    this.aheadSize = this.readSize;
    this.filledTo = this.c.base;
    this.maxAhead = Math.max(0, Math.floor(opts.readAhead ?? 2));
  }

  /** Absolute offset of the next byte the reader has not consumed. */
  get position(): number {
    return this.c.base + this.c.pos + this.pendingData;
  }

  /** True once the end marker was read. */
  get sawEnd(): boolean {
    return this.ended;
  }

  /** Refill: keep unread bytes, add more (the read ahead's, when it has them). Returns bytes added. */
  private async fill(): Promise<number> {
    if (this.eof) return 0;
    const n = this.aheads.length > 0 ? await this.takeAhead() : -1;
    if (n < 0) return this.fillNow();
    if (n === 0) this.eof = true;
    else {
      this.filledTo = this.c.base + this.c.end;
      this.readAhead();
    }
    return n;
  }

  /**
   * Use the first read ahead, if it holds the next byte the window needs: the
   * window's unread tail is copied in front of it and the buffers swap.
   * Returns the bytes added (0 at the end of the input), or -1 when the read
   * ahead is of no use (the window moved past it, or an error to be met
   * again); then no read ahead is left in flight.
   */
  private async takeAhead(): Promise<number> {
    const c = this.c;
    const a = this.aheads.shift()!;
    const r = await a.done;
    const want = c.base + c.end;
    const keep = c.end - c.pos;
    const from = a.gap + (want - a.position);
    if (!('n' in r) || want < a.position || keep > from || want >= a.position + r.n) {
      this.spares.push(a.buf);
      await this.dropAheads();
      if ('n' in r && r.n === 0 && want === a.position) return 0;
      if ('n' in r && want >= a.position + r.n) {
        // Skipped past it: the input is not read straight through.
        this.aheadSize = this.readSize;
        this.depth = 1;
      }
      return -1;
    }
    // A short read (never seen from a file before its end) leaves a hole before the next read ahead.
    if (r.n < a.len) await this.dropAheads();
    else this.depth = Math.min(this.depth + 1, this.maxAhead);
    this.aheadSize = Math.min(2 * this.aheadSize, AHEAD_READS * this.readSize, this.maxWindow - a.gap);
    c.buf.copy(a.buf, from - keep, c.pos, c.end);
    this.spares.push(c.buf);
    c.buf = a.buf;
    c.base = want - from;
    c.pos = from - keep;
    c.end = a.gap + r.n;
    return r.n - (want - a.position);
  }

  /** Forget the reads ahead in flight (once they are done, their buffers are spares again). */
  private async dropAheads(): Promise<void> {
    while (this.aheads.length > 0) {
      const a = this.aheads.shift()!;
      await a.done; // never rejects
      this.spares.push(a.buf);
    }
  }

  /**
   * Start reads of the bytes after the window (after the last read ahead in
   * flight), into spare buffers, until `depth` are in flight (seekable
   * sources only).
   */
  private readAhead(): void {
    const c = this.c;
    if (!this.source.seekable || this.closed) return;
    const gap = Math.min(64 << 10, this.readSize >> 2);
    // Read-ahead buffers are made at the largest size reads ahead grow to: one more than the reads in flight.
    const full = Math.min(gap + AHEAD_READS * this.readSize, this.maxWindow);
    while (this.aheads.length < Math.min(this.depth, this.maxAhead)) {
      const last = this.aheads[this.aheads.length - 1];
      const position = last ? last.position + last.len : c.base + c.end;
      if (this.source.size !== undefined && position >= this.source.size) return;
      const len = Math.max(1, Math.min(this.aheadSize, this.maxWindow - gap));
      let buf = this.spares.pop();
      while (buf && buf.length < gap + len) buf = this.spares.pop(); // a smaller first window buffer: let it go
      buf ??= Buffer.allocUnsafe(full);
      const done = this.source.read(buf, gap, len, position).then(
        (n) => ({ n }),
        (error: unknown) => ({ error }),
      );
      this.aheads.push({ buf, gap, position, len, done });
    }
  }

  /** Refill by reading now, into the window's own buffer. */
  private async fillNow(): Promise<number> {
    const c = this.c;
    const straight = c.base + c.end === this.filledTo;
    if (c.pos > 0) {
      c.buf.copy(c.buf, 0, c.pos, c.end);
      c.base += c.pos;
      c.end -= c.pos;
      c.pos = 0;
    }
    if (c.end === c.buf.length) {
      if (c.buf.length >= this.maxWindow) return 0;
      const bigger = Buffer.allocUnsafe(Math.min(c.buf.length * 2, this.maxWindow));
      c.buf.copy(bigger, 0, 0, c.end);
      c.buf = bigger;
    }
    // A file is read readSize at a time (the buffer may be a larger read-ahead one).
    const room = c.buf.length - c.end;
    const n = await this.source.read(c.buf, c.end, this.source.seekable ? Math.min(room, this.readSize) : room, c.base + c.end);
    if (n === 0) this.eof = true;
    c.end += n;
    this.filledTo = c.base + c.end;
    // Read ahead only while the input is read straight through (not when file data is being skipped).
    if (n > 0 && straight) this.readAhead();
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
   * The file data of the vnode just returned by next() when all of it is in
   * the buffer already: a view, valid until the next call, and consumed.
   * Null when it is not (then use fileData()).
   */
  bufferedFileData(): Buffer | null {
    const c = this.c;
    if (this.pendingData > c.end - c.pos) return null;
    const piece = c.buf.subarray(c.pos, c.pos + this.pendingData);
    c.pos += this.pendingData;
    this.pendingData = 0;
    return piece;
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
    if (this.pendingData > 0 && this.pendingData <= this.c.end - this.c.pos) {
      // The usual small file: its data is in the buffer already.
      this.c.pos += this.pendingData;
      this.pendingData = 0;
    }
    if (this.pendingData > 0) await this.finishData();
    else this.current = null;
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
      const rec = this.decodeBuffered();
      if (rec !== undefined) return rec;
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

  /**
   * Decode the record at the window's position, noting what it leaves to do
   * (its file data, or the end); undefined, with the position unmoved, when
   * its bytes are not all in the window yet. Damage throws, naming the file.
   */
  private decodeBuffered(): DumpRecord | undefined {
    const c = this.c;
    const start = c.pos;
    let rec: DumpRecord;
    try {
      rec = decodeRecord(c);
    } catch (e) {
      if (e !== NEED_MORE) {
        if (e instanceof DumpError) e.file ??= this.source.name;
        throw e;
      }
      c.pos = start;
      return undefined;
    }
    if (rec.kind === 'vnode' && rec.data.kind === 'filedata') {
      this.pendingData = rec.data.length;
      this.current = rec;
    } else if (rec.kind === 'end') {
      this.ended = true;
    }
    return rec;
  }

  /**
   * The next record, when it can be had without reading: the usual record
   * whose bytes (and the file data before it) are in the buffer already.
   * Undefined when they are not, or at the start or the end of the dump:
   * then call next(). The records and errors are those of next(); a loop
   * `reader.nextBuffered() ?? (await reader.next())` saves a promise and a
   * turn of the event loop per record.
   */
  nextBuffered(): DumpRecord | undefined {
    const c = this.c;
    if (this.first || this.ended || this.finished || this.pendingData > c.end - c.pos) return undefined;
    // As next() does: the file data in the buffer is consumed first.
    c.pos += this.pendingData;
    this.pendingData = 0;
    this.current = null;
    return this.decodeBuffered();
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
    await this.dropAheads();
    await this.source.close();
  }
}

