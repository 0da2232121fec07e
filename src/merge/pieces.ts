/**
 * What merge's writers put out, entry by entry: shared by the write pass
 * (merge.ts: mergedPieces) and the streaming merge (stream.ts). An entry
 * whose bytes are not what codamergedump writes is read again by position
 * through a read-ahead window (Window), decoded, re-encoded in the server's
 * field order, and its file data copied by position.
 */
import { readSync } from 'node:fs';
import { vnodeKey } from '../diagnostics/finding.js';
import { encodeVnode } from '../format/encoder.js';
import { DumpError, ioError } from '../format/errors.js';
import { item, type DumpItem } from '../format/items.js';
import { NEED_MORE, decodeRecord, type Cursor } from '../format/decoder.js';
import { vnodeSlot, type DumpRecord, type IndexClass } from '../format/types.js';
import { codaVnode } from './coda-fields.js';
import type { EntryFields } from './columns.js';

/** Read-ahead per input: records and small files are taken from it, many per read. */
export const WINDOW = 1 << 20;
/** File data at least this long is copied without passing through the window (in the kernel where it can). */
export const COPY_DIRECT = 1 << 20;

export function changed(file: string, offset: number, what: string): DumpError {
  return new DumpError('IO', `the input changed while it was being merged (${what})`, offset, file);
}

/**
 * One input read by position through a read-ahead window: the write pass
 * walks each input mostly forwards, so one 1 MiB read serves many records
 * and the file data between them. Reads are synchronous: the write pass is
 * one loop with nothing else to do meanwhile, and a read through the thread
 * pool costs two thread hand-offs (on a loaded machine, most of the time).
 */
export class Window {
  private buf: Buffer;
  private base = 0;
  private len = 0;

  constructor(
    readonly fd: number,
    readonly file: string,
    size = WINDOW,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /**
   * Bytes [pos, pos + n) as a view of the window (valid until the next
   * call), or fewer where the file ends first.
   */
  view(pos: number, n: number): Buffer {
    if (!(pos >= this.base && pos + n <= this.base + this.len)) {
      if (this.buf.length < n) this.buf = Buffer.allocUnsafe(n);
      let got = 0;
      try {
        while (got < this.buf.length) {
          const k = readSync(this.fd, this.buf, got, this.buf.length - got, pos + got);
          if (k === 0) break;
          got += k;
        }
      } catch (e) {
        throw ioError(e, this.file);
      }
      this.base = pos;
      this.len = got;
    }
    const at = pos - this.base;
    return this.buf.subarray(at, Math.min(at + n, this.len));
  }
}

/**
 * What the write pass puts out: items, or a range of an input to copy as it
 * is (a run of records and their file data, or one file's long data).
 */
export type Piece = DumpItem | { kind: 'copy'; fd: number; file: string; vnode?: string; position: number; length: number };

export function truncatedData(file: string, vnode: string | undefined, at: number, missing: number): DumpError {
  if (vnode === undefined) return changed(file, at, 'it is shorter now');
  return new DumpError('TRUNCATED', `file ends inside the file data of vnode ${vnode} (${missing} bytes missing)`, at, file);
}

/**
 * The pieces of entry `e` (of index `cls`) re-encoded as codamergedump
 * writes it: its record read again through `w` (exactly its bytes, checked
 * to be the vnode the scan saw), then its file data, up to COPY_DIRECT bytes
 * as a view of the window (valid until the next piece), longer as a range
 * to copy.
 */
export function* vnodePieces(e: EntryFields, cls: IndexClass, w: Window, c: Cursor): Generator<Piece> {
  const slot = e.slot;
  const file = w.file;
  const bytes = w.view(e.offset, e.size);
  if (bytes.length < e.size) throw changed(file, e.offset, 'it is shorter now');
  c.buf = bytes;
  c.base = e.offset;
  c.pos = 0;
  c.end = e.size;
  let rec: DumpRecord;
  try {
    rec = decodeRecord(c);
  } catch (x) {
    if (x === NEED_MORE) throw changed(file, e.offset, 'a record is longer now');
    throw x;
  }
  if (rec.kind !== 'vnode' || rec.unique !== e.unique || vnodeSlot(rec.vnode) !== slot) {
    throw changed(file, e.offset, `no vnode of slot ${slot} with uniquifier ${e.unique} there any more`);
  }
  const fields = codaVnode(rec, slot, cls);
  if (rec.data.kind === 'dirpages') {
    yield item(encodeVnode(fields, { kind: 'dirpages', pages: rec.data.pages }));
  } else if (rec.data.kind === 'filedata') {
    const { start: at, length } = rec.data;
    yield item(encodeVnode(fields, { kind: 'filedata', length }));
    if (length >= COPY_DIRECT) {
      yield { kind: 'copy', fd: w.fd, file, vnode: vnodeKey(rec.vnode, rec.unique), position: at, length };
    } else if (length > 0) {
      const data = w.view(at, length);
      if (data.length < length) throw truncatedData(file, vnodeKey(rec.vnode, rec.unique), at + data.length, length - data.length);
      yield { kind: 'filedata', data };
    }
  } else {
    throw new DumpError('BAD_VALUE', `vnode ${vnodeKey(rec.vnode, rec.unique)} has no data to copy`, rec.offset, file);
  }
}
