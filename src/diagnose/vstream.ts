/**
 * A virtual dump stream laid over ranges of a damaged file.
 *
 * Diagnosis and repair reason in stream order, but the bytes of a wrapped
 * dump sit in the file out of order (WRAPAROUND.md, "reorder"), and some
 * stream ranges exist nowhere (lost). A VStream maps virtual (stream)
 * positions to file positions through segments; positions no segment
 * covers are gaps and cannot be read. Segments that touch in virtual space
 * read as one contiguous run even when their file ranges are far apart, so
 * a record that straddles the seam decodes as if nothing had happened.
 *
 * Offsets are plain numbers (64-bit safe up to 2^53); nothing here uses
 * 32-bit bitwise operations on offsets.
 */
import { Cursor, DEFAULT_LIMITS, NEED_MORE, decodeRecord } from '../format/decoder.js';
import { DumpError } from '../format/errors.js';
import { ioError, isSystemError } from '../diagnostics/errors.js';
import type { DumpRecord } from '../format/types.js';
import type { FileSource } from '../source/file.js';
import { readSync } from 'node:fs';

export interface Segment {
  /** Virtual (stream) start. */
  vstart: number;
  /** File position of vstart. */
  fstart: number;
  length: number;
}

export interface FileRange {
  start: number;
  end: number;
}

/** Outcome of decoding the record at a virtual position. */
export type Decoded =
  | { ok: true; rec: DumpRecord; at: number; end: number }
  /** The readable bytes end (gap or end of stream) inside the record. */
  | { ok: false; cut: true; at: number; readableEnd: number; head: { tag: number; vnode?: number; unique?: number } }
  | { ok: false; cut: false; at: number; error: DumpError };

/** Largest window a single record may need (strings are capped at 1 MiB, directories at 263 KB). */
const MAX_WINDOW = 8 << 20;
/** A direct stream makes one read in this many through the source (asynchronously). */
const YIELD_EVERY = 64;
/** Read-ahead for decoding: many small records per read. */
const WINDOW = 64 << 10;
/**
 * decodeAtSync's read where its last window served one record only (the
 * records lie far apart, between big files' data): what a record with its
 * access list needs, not 64 KiB of file data read for nothing (a bigger
 * record reads again, as any record larger than the window does).
 */
const SPARSE_WINDOW = 4 << 10;

export class VStream {
  readonly segments: readonly Segment[];
  /** decodeAt's own read-ahead buffer; `win` is it, or bytes lent by useWindow(). */
  private own: Buffer = Buffer.allocUnsafe(WINDOW);
  private win: Buffer = this.own;
  private readonly cursor = new Cursor(Buffer.alloc(0), DEFAULT_LIMITS);

  /**
   * @param src the damaged file
   * @param segments virtual-to-file mapping (sorted by vstart, disjoint)
   * @param length virtual end: the stream length the walk may reach
   * @param direct read() reads synchronously from the file's descriptor
   *   (no file-system seam, no tap on the source): a walk's many small reads
   *   from the page cache then cost no turn of the event loop each (but one
   *   in YIELD_EVERY)
   */
  constructor(
    readonly src: FileSource,
    segments: Segment[],
    readonly length: number,
    readonly direct = false,
  ) {
    const segs = segments.filter((s) => s.length > 0).sort((a, b) => a.vstart - b.vstart);
    for (let i = 1; i < segs.length; i++) {
      if (segs[i].vstart < segs[i - 1].vstart + segs[i - 1].length) {
        throw new DumpError('BAD_VALUE', 'internal: overlapping virtual segments');
      }
    }
    this.segments = segs;
  }

  /** The file as it is: virtual position = file position. */
  static identity(src: FileSource, direct = false): VStream {
    return new VStream(src, [{ vstart: 0, fstart: 0, length: src.size }], src.size, direct);
  }

  get name(): string {
    return this.src.name;
  }

  private segIndex(v: number): number {
    // Few segments (at most a handful): linear search is fine.
    for (let i = 0; i < this.segments.length; i++) {
      const s = this.segments[i];
      if (v >= s.vstart && v < s.vstart + s.length) return i;
    }
    return -1;
  }

  readable(v: number): boolean {
    return this.segIndex(v) >= 0;
  }

  /** First readable position >= v, or null. */
  nextReadable(v: number): number | null {
    if (this.readable(v)) return v;
    for (const s of this.segments) if (s.vstart > v) return s.vstart;
    return null;
  }

  /** End of the contiguous readable run that contains v (v itself if v is in a gap). */
  readableEnd(v: number): number {
    let i = this.segIndex(v);
    if (i < 0) return v;
    let end = this.segments[i].vstart + this.segments[i].length;
    while (i + 1 < this.segments.length && this.segments[i + 1].vstart === end) {
      i++;
      end += this.segments[i].length;
    }
    return end;
  }

  /** File position of a readable virtual position (null in a gap). */
  filePos(v: number): number | null {
    const i = this.segIndex(v);
    if (i < 0) return null;
    const s = this.segments[i];
    return s.fstart + (v - s.vstart);
  }

  /** The file ranges that hold the readable parts of virtual [vs, ve), in virtual order. */
  fileRanges(vs: number, ve: number): FileRange[] {
    const out: FileRange[] = [];
    for (const s of this.segments) {
      const a = Math.max(vs, s.vstart);
      const b = Math.min(ve, s.vstart + s.length);
      if (a >= b) continue;
      const start = s.fstart + (a - s.vstart);
      const end = start + (b - a);
      const prev = out[out.length - 1];
      if (prev && prev.end === start) prev.end = end;
      else out.push({ start, end });
    }
    // An array grown by push keeps room for more; repair keeps two of these a vnode.
    return out.length === 1 ? [out[0]] : out.length === 0 ? [] : out.slice();
  }

  /** Bytes of virtual [vs, ve) that are readable. */
  readableBytes(vs: number, ve: number): number {
    return this.fileRanges(vs, ve).reduce((n, r) => n + (r.end - r.start), 0);
  }

  /**
   * Read up to `len` contiguous readable bytes from virtual `v` into buf at
   * `at`; stops at a gap or at the virtual end. Returns the count read.
   */
  async read(buf: Buffer, at: number, len: number, v: number): Promise<number> {
    // Every YIELD_EVERY-th read of a direct stream still turns the event loop (below): the
    // collector's tasks run between turns, so the walk's heap peak stays where it was.
    if (this.direct && ++this.directReads % YIELD_EVERY !== 0) return this.readDirect(buf, at, len, v);
    let got = 0;
    for (const p of this.pieces(v, len)) {
      let done = 0;
      while (done < p.n) {
        const k = await this.src.read(buf, at + p.got + done, p.n - done, p.fpos + done);
        if (k === 0) return p.got + done;
        done += k;
      }
      got = p.got + p.n;
    }
    return got;
  }

  /**
   * The file ranges behind virtual [v, v+len), in order: `n` bytes at file
   * position `fpos` for the virtual bytes from v+got on; contiguous, ending
   * at a gap or at the virtual end (read() and readSync() walk them).
   */
  private *pieces(v: number, len: number): Generator<{ got: number; n: number; fpos: number }> {
    let got = 0;
    let i = this.segIndex(v);
    while (got < len && i >= 0 && i < this.segments.length) {
      const s = this.segments[i];
      const pos = v + got;
      if (pos < s.vstart || pos >= s.vstart + s.length) break;
      const n = Math.min(len - got, s.vstart + s.length - pos);
      yield { got, n, fpos: s.fstart + (pos - s.vstart) };
      got += n;
      if (v + got === s.vstart + s.length) {
        if (i + 1 < this.segments.length && this.segments[i + 1].vstart === v + got) i++;
        else break;
      }
    }
  }

  /** Read exactly what is readable of [v, v+len) (shorter at a gap). */
  async bytes(v: number, len: number): Promise<Buffer> {
    const b = Buffer.allocUnsafe(len);
    const n = await this.read(b, 0, len, v);
    return b.subarray(0, n);
  }

  /** Read-ahead window of decodeAt: readable bytes [wBase, wBase + wLen). */
  private wBase = 0;
  private wLen = 0;
  /** True when the window stops at a gap or the virtual end (not at its own size). */
  private wShort = false;

  /**
   * Let decodeAt use bytes the caller has already read: `buf[0, len)` holds
   * the readable bytes of virtual [v, v + len), and `short` says they stop
   * at a gap or the virtual end. `buf` must stay unchanged until the next
   * call here or the next decodeAt that needs other bytes (decodeAt never
   * writes into it: it reads into its own buffer again). This is what lets
   * a resynchronising scan try its candidates without reading them again.
   */
  useWindow(buf: Buffer, v: number, len: number, short: boolean): void {
    this.win = buf;
    this.wBase = v;
    this.wLen = len;
    this.wShort = short;
  }

  private async fill(v: number, size: number): Promise<void> {
    if (this.own.length < size) this.own = Buffer.allocUnsafe(size);
    this.win = this.own;
    this.wLen = 0;
    const n = await this.read(this.win, 0, size, v);
    this.wBase = v;
    this.wLen = n;
    this.wShort = n < size;
  }

  /**
   * Decode the record whose structural tag is at virtual `v`. A vnode's
   * file data is not read: `end` is where the record ends including it.
   * Consecutive records are decoded from one read-ahead window.
   */
  async decodeAt(v: number): Promise<Decoded> {
    const c = this.cursor;
    let want = WINDOW;
    if (!(v >= this.wBase && v < this.wBase + this.wLen)) await this.fill(v, want);
    for (;;) {
      c.buf = this.win;
      c.base = this.wBase;
      c.pos = v - this.wBase;
      c.end = this.wLen;
      try {
        const rec = decodeRecord(c);
        const end = rec.kind === 'vnode' && rec.data.kind === 'filedata' ? rec.data.start + rec.data.length : v + rec.size;
        return { ok: true, rec, at: v, end };
      } catch (e) {
        if (e === NEED_MORE) {
          const have = this.wBase + this.wLen - v;
          if (this.wShort) {
            const o = v - this.wBase;
            const head: { tag: number; vnode?: number; unique?: number } = { tag: have > 0 ? this.win[o] : -1 };
            if (have >= 9) {
              head.vnode = this.win.readUInt32BE(o + 1);
              head.unique = this.win.readUInt32BE(o + 5);
            }
            return { ok: false, cut: true, at: v, readableEnd: v + Math.max(0, have), head };
          }
          if (have >= MAX_WINDOW) {
            return { ok: false, cut: false, at: v, error: new DumpError('BAD_LENGTH', 'record larger than any valid record', v, this.name) };
          }
          want = Math.min(Math.max(want, have) * 4, MAX_WINDOW);
          await this.fill(v, want);
          continue;
        }
        if (e instanceof DumpError) {
          e.file ??= this.name;
          return { ok: false, cut: false, at: v, error: e };
        }
        throw e;
      }
    }
  }

  /**
   * True when records can be decoded again later, synchronously, from the
   * file's descriptor (decodeAtSync): the walk then keeps only a few numbers
   * of each plain vnode record instead of the decoded object.
   */
  get canReadSync(): boolean {
    return this.src.hasFd;
  }

  /** Reads of a direct stream so far. */
  private directReads = 0;

  /** read() of a direct stream: readSync, its failure named as the source names one (the file, the byte the read started at). */
  private readDirect(buf: Buffer, at: number, len: number, v: number): number {
    try {
      return this.readSync(buf, at, len, v);
    } catch (e) {
      if (e instanceof DumpError || !isSystemError(e)) throw e;
      const d = ioError(e, this.name);
      throw d.offset === undefined ? new DumpError(d.code, d.message, this.filePos(v) ?? v, this.name) : d;
    }
  }

  /** read(), synchronously through the file's descriptor (canReadSync). */
  readSync(buf: Buffer, at: number, len: number, v: number): number {
    const fd = this.src.fd;
    if (fd < 0) throw new DumpError('IO', 'internal: a record was asked for after its input was closed', v, this.name);
    let got = 0;
    for (const p of this.pieces(v, len)) {
      let done = 0;
      while (done < p.n) {
        const k = readSync(fd, buf, at + p.got + done, p.n - done, p.fpos + done);
        if (k === 0) return p.got + done;
        done += k;
      }
      got = p.got + p.n;
    }
    return got;
  }

  /** decodeAtSync's own window (separate from decodeAt's). */
  private sBuf: Buffer | null = null;
  private sBase = 0;
  private sLen = 0;
  private sShort = false;
  /** Records decoded from the window since it was read (2 or more: read a whole WINDOW next time). */
  private sUses = 0;
  private readonly sCursor = new Cursor(Buffer.alloc(0), DEFAULT_LIMITS);

  /**
   * Decode again, synchronously, a record decodeAt decoded whole at `v`
   * (the same bytes give the same record). Consecutive records come from
   * one read-ahead window. Throws when it no longer decodes (the file
   * changed under us).
   */
  decodeAtSync(v: number): DumpRecord {
    const c = this.sCursor;
    let want = WINDOW;
    this.sBuf ??= Buffer.allocUnsafe(WINDOW);
    if (v >= this.sBase && v < this.sBase + this.sLen) this.sUses++;
    else {
      if (this.sUses === 1) want = SPARSE_WINDOW;
      this.fillSync(v, want);
      this.sUses = 1;
    }
    for (;;) {
      c.buf = this.sBuf;
      c.base = this.sBase;
      c.pos = v - this.sBase;
      c.end = this.sLen;
      try {
        return decodeRecord(c);
      } catch (e) {
        if (e === NEED_MORE && !this.sShort && want < MAX_WINDOW) {
          want = Math.min(Math.max(want, this.sBase + this.sLen - v) * 4, MAX_WINDOW);
          this.fillSync(v, want);
          continue;
        }
        throw new DumpError('IO', `internal: the record at ${v} no longer decodes (was the file changed?)`, v, this.name);
      }
    }
  }

  private fillSync(v: number, size: number): void {
    if (this.sBuf!.length < size) this.sBuf = Buffer.allocUnsafe(size);
    this.sLen = 0;
    this.sLen = this.readSync(this.sBuf!, 0, size, v);
    this.sBase = v;
    this.sShort = this.sLen < size;
  }
}
