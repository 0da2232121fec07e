/**
 * merge's read of an input: every record once, in order, file data skipped,
 * and for each vnode whether codamergedump's re-encoding of it (coda-fields.ts)
 * is its own bytes: then the write pass copies it as it is, with the file
 * data after it, in runs (AtomicOutput.copyFrom, in the kernel where it can).
 *
 * The usual record is read from a 1 MiB window with synchronous reads, and
 * the usual vnode (a file in the server's field order, FORMAT.md 3.5) is
 * recognised by its tag bytes alone, without decoding it: only its numbers
 * and its data count are taken. Any other record is decoded (decodeRecord)
 * and, for a vnode, re-encoded and compared.
 *
 * Whatever the fast path does not handle cleanly (the first bytes not a dump
 * header, a record it cannot decode, a record longer than the window can
 * grow to, file data running past the end, an end marker cut short) is
 * handed over, from that record on, to the DumpReader that merge always
 * read with: the records visited, the errors and the warnings are exactly
 * the reader's. The end marker and the bytes after it are visited as the
 * reader does (an end record, then a trailing record of the rest).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { D_DUMPEND, D_DUMPHEADER, D_ENDVV, D_FILEDATA, D_VNODE, DUMP_BEGIN_MAGIC } from '../format/constants.js';
import { Cursor, NEED_MORE, decodeRecord } from '../format/decoder.js';
import { encodeVnode } from '../format/encoder.js';
import { DumpError, ioError } from '../format/errors.js';
import { vnodeDataSpec } from '../format/reencode.js';
import { vnodeClass, vnodeSlot, type DumpRecord, type Vnode } from '../format/types.js';
import { codaVnode } from './coda-fields.js';

/** A vnode as the merge keeps it: where it is, what follows it, whether it can be copied as it is. */
export interface VnodeRef {
  kind: 'vnode';
  vnode: number;
  unique: number;
  offset: number;
  /** Bytes of the record through its DIRPAGES pages or its FILEDATA count. */
  size: number;
  dataKind: Vnode['data']['kind'];
  /** File data bytes after the record (0 unless FILEDATA). */
  dataLength: number;
  /** codamergedump's re-encoding of the record (coda-fields.ts) is exactly its bytes. */
  canonical: boolean;
}

/** An input's size and modification time when it was read (the write pass checks them again). */
export interface Stamp {
  size: number;
  mtimeMs: number;
}

/**
 * The usual vnode: a file's record as a Coda server writes it (encodeVnode's
 * order: t b l L v V{0..7 s u f ENDVV} m a o p q, no access list) and
 * FILEDATA. Its tag bytes sit at fixed places; the values between them are
 * read by position whatever they hold, so a record whose tags are these
 * decodes (decodeVnode) to fields that encode back to the same bytes.
 */
const FILE_VNODE_SIZE = 114;
/** Where the usual vnode has its tag bytes, and which (the table the check below is written out from; tests use it). */
export const FILE_VNODE_TAGS: readonly (readonly [number, number])[] = (() => {
  const t: [number, number][] = [];
  const ch = (s: string) => s.charCodeAt(0);
  t.push([0, D_VNODE], [9, ch('t')], [11, ch('b')], [14, ch('l')], [17, ch('L')], [22, ch('v')], [27, ch('V')]);
  for (let i = 0; i < 8; i++) t.push([28 + 5 * i, 0x30 + i]);
  t.push([68, ch('s')], [73, ch('u')], [78, ch('f')], [83, D_ENDVV]);
  t.push([84, ch('m')], [89, ch('a')], [94, ch('o')], [99, ch('p')], [104, ch('q')], [109, D_FILEDATA]);
  return t;
})();

/**
 * True when the FILE_VNODE_SIZE bytes at `at` are the usual vnode's (the
 * caller checks they are there): FILE_VNODE_TAGS, written out (once per
 * vnode of every input: a loop over the table costs more than the scan).
 */
export function isUsualFileVnode(b: Buffer, at: number): boolean {
  return (
    b[at] === 5 && b[at + 9] === 0x74 && b[at + 11] === 0x62 && b[at + 14] === 0x6c && b[at + 17] === 0x4c &&
    b[at + 22] === 0x76 && b[at + 27] === 0x56 &&
    b[at + 28] === 0x30 && b[at + 33] === 0x31 && b[at + 38] === 0x32 && b[at + 43] === 0x33 &&
    b[at + 48] === 0x34 && b[at + 53] === 0x35 && b[at + 58] === 0x36 && b[at + 63] === 0x37 &&
    b[at + 68] === 0x73 && b[at + 73] === 0x75 && b[at + 78] === 0x66 && b[at + 83] === 7 &&
    b[at + 84] === 0x6d && b[at + 89] === 0x61 && b[at + 94] === 0x6f && b[at + 99] === 0x70 &&
    b[at + 104] === 0x71 && b[at + 109] === 12
  );
}

/**
 * A decoded vnode as merge keeps it; `bytes` are its record's bytes (through
 * the data count), to compare with codamergedump's re-encoding.
 */
function vnodeRef(rec: Vnode, bytes: Buffer): VnodeRef {
  const kind = rec.data.kind;
  let canonical = false;
  if ((kind === 'filedata' || kind === 'dirpages') && rec.vnode !== 0) {
    const again = encodeVnode(codaVnode(rec, vnodeSlot(rec.vnode), vnodeClass(rec.vnode)), vnodeDataSpec(rec));
    canonical = again.equals(bytes);
  }
  return {
    kind: 'vnode', vnode: rec.vnode, unique: rec.unique, offset: rec.offset, size: rec.size, dataKind: kind,
    dataLength: rec.data.kind === 'filedata' ? rec.data.length : 0, canonical,
  };
}

const WINDOW = 1 << 20;
/** The longest record the fast path decodes (the reader's own limit: it hands the rest over). */
const MAX_WINDOW = 8 << 20;

/** What a scan hands its records to: `vnode` for every vnode, `record` for the others. */
export interface ScanVisitor {
  /** A vnode: `ref` is valid only during the call (take its numbers, keep nothing of it). */
  vnode(ref: VnodeRef): void;
  record(rec: Exclude<DumpRecord, Vnode>): void;
  /**
   * For the streaming merge (stream.ts), which writes the bytes the scan
   * reads while they are in its window: the window, once, before any record
   * (its fields change as it moves on) ...
   */
  window?(w: ScanBytes): void;
  /** ... called before the window is read again from another position (its bytes are then lost) ... */
  beforeFill?(): void;
  /**
   * ... then, where it returns a promise, waited for before the window is
   * read again (the output's direct writes: a turn of the event loop for
   * their callbacks when no slot of the output is free) ...
   */
  room?(): Promise<void> | undefined;
  /** ... and called when the reader takes over (its records are not read through the window). */
  handover?(): void;
}

/** The fast path's window as the visitor may read it: buf[0, len) holds the input's bytes from `base`. */
export interface ScanBytes {
  readonly buf: Buffer;
  readonly base: number;
  readonly len: number;
}

/**
 * Read `path` (its dump stream in `real`: itself, or a decoded copy) once
 * and hand every record to `visit`. For an incremental (`lenientEnd`), a
 * missing end marker after a complete record is only a warning, as in Coda
 * (NO_END_MARKER, made by `noEnd`); anywhere else a truncation is an error.
 * Returns the input's size and modification time (undefined when the fast
 * path could not open it: the reader then failed).
 */
export async function scanDump(
  path: string,
  real: string,
  lenientEnd: boolean,
  visit: ScanVisitor,
  noEnd: (at: number) => void,
): Promise<Stamp | undefined> {
  const fast = await fastScan(path, real, visit);
  if (!fast.done) {
    visit.handover?.();
    await slowScan(path, real, fast.handover, lenientEnd, visit, noEnd);
  }
  return fast.stamp;
}

/**
 * The window's buffer of the last scan, kept for the next one: a merge
 * scans several inputs one after the other (and the streaming merge its
 * incrementals twice), and each 1 MiB buffer made and dropped adds to the
 * peak memory until it is collected. A scan takes it and gives it back: two
 * scans at once (merge runs them one after the other) would only make a
 * second buffer.
 */
let spare: Buffer | undefined;

/** The fast path's window: buf[0, len) holds the input's bytes from `base`. */
class ScanWindow {
  buf: Buffer;
  base = 0;
  len = 0;

  constructor(
    readonly fd: number,
    readonly size: number,
    readonly path: string,
  ) {
    this.buf = spare ?? Buffer.allocUnsafe(WINDOW);
    spare = undefined;
  }

  /** Done with the window: its buffer (of the usual size) is kept for the next scan. */
  release(): void {
    if (this.buf.length === WINDOW) spare = this.buf;
  }

  /** Read the window again from `pos`, into a buffer of at least `want` bytes. */
  fill(pos: number, want: number): void {
    if (this.buf.length < want) this.buf = Buffer.allocUnsafe(want);
    const buf = this.buf;
    let got = 0;
    try {
      while (got < buf.length && pos + got < this.size) {
        const n = readSync(this.fd, buf, got, Math.min(buf.length - got, this.size - pos - got), pos + got);
        if (n === 0) break;
        got += n;
      }
    } catch (e) {
      throw ioError(e, this.path);
    }
    this.base = pos;
    this.len = got;
  }
}

/**
 * The usual vnodes from `pos` on, as long as the window holds them (the
 * hot loop: kept small, so that it is compiled early and cheaply). Returns
 * the position of the first record it leaves to the caller.
 */
function usualVnodes(w: ScanWindow, pos: number, usual: VnodeRef, visit: ScanVisitor): number {
  const b = w.buf;
  const base = w.base;
  const lim = base + w.len;
  const size = w.size;
  while (pos + FILE_VNODE_SIZE <= lim) {
    const at = pos - base;
    if (!isUsualFileVnode(b, at)) break;
    const length = ((b[at + 110] << 24) | (b[at + 111] << 16) | (b[at + 112] << 8) | b[at + 113]) >>> 0;
    const end = pos + FILE_VNODE_SIZE + length;
    if (end > size) break; // its data runs past the end: the caller hands it over
    usual.vnode = ((b[at + 1] << 24) | (b[at + 2] << 16) | (b[at + 3] << 8) | b[at + 4]) >>> 0;
    usual.unique = ((b[at + 5] << 24) | (b[at + 6] << 16) | (b[at + 7] << 8) | b[at + 8]) >>> 0;
    usual.offset = pos;
    usual.dataLength = length;
    visit.vnode(usual);
    pos = end;
  }
  return pos;
}

/**
 * The fast path: records from the start while it can; returns where the
 * reader takes over (a record's offset: the end of the last record
 * visited, its file data included).
 */
async function fastScan(path: string, real: string, visit: ScanVisitor): Promise<{ handover: number; stamp?: Stamp; done?: boolean }> {
  let fd: number;
  try {
    fd = openSync(real, 'r');
  } catch {
    return { handover: 0 }; // the reader opens it and says why it cannot
  }
  let w: ScanWindow | undefined;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { handover: 0 };
    const stamp = { size: st.size, mtimeMs: st.mtimeMs };
    w = new ScanWindow(fd, st.size, path);
    const c = new Cursor(w.buf);
    visit.window?.(w);
    /** The one VnodeRef of every usual vnode. */
    const usual: VnodeRef = { kind: 'vnode', vnode: 0, unique: 0, offset: 0, size: FILE_VNODE_SIZE, dataKind: 'filedata', dataLength: 0, canonical: true };
    let pos = 0;
    for (;;) {
      pos = usualVnodes(w, pos, usual, visit);
      // At least the usual vnode's bytes in the window (fewer only at the end of the input).
      if (pos + FILE_VNODE_SIZE > w.base + w.len && w.base + w.len < w.size) {
        visit.beforeFill?.();
        const room = visit.room?.();
        if (room) await room;
        w.fill(pos, WINDOW);
        continue;
      }
      if (pos < w.base || pos >= w.base + w.len) return { handover: pos, stamp };
      if (pos > 0 && w.buf[pos - w.base] === D_DUMPEND) return endMarker(w, c, pos, visit) ? { handover: pos, stamp, done: true } : { handover: pos, stamp };
      const end = otherRecord(w, c, pos, visit);
      if (end < 0) return { handover: pos, stamp };
      pos = end;
    }
  } finally {
    w?.release();
    closeSync(fd);
  }
}

/**
 * The record at `pos` when it is not the usual vnode: decoded, and visited
 * unless the reader should take it (the first bytes not a dump header, the
 * end marker, damage, a record too long for the window, file data past the
 * end: then -1). Returns where the next record starts.
 */
function otherRecord(w: ScanWindow, c: Cursor, pos: number, visit: ScanVisitor): number {
  const tag = w.buf[pos - w.base];
  if (tag === D_DUMPEND) return -1;
  if (pos === 0 && !(w.len >= 5 && tag === D_DUMPHEADER && w.buf.readUInt32BE(1) === DUMP_BEGIN_MAGIC)) return -1;
  let rec: DumpRecord;
  for (;;) {
    c.buf = w.buf;
    c.base = w.base;
    c.pos = pos - w.base;
    c.end = w.len;
    try {
      rec = decodeRecord(c);
      break;
    } catch (e) {
      if (e !== NEED_MORE) return -1; // the reader meets it again, and says it
      // More of the record: the window from it on, larger if it already started there.
      if (w.base + w.len >= w.size) return -1;
      const want = w.base === pos ? 2 * w.buf.length : Math.max(w.buf.length, WINDOW);
      if (want > MAX_WINDOW) return -1;
      visit.beforeFill?.();
      w.fill(pos, want);
    }
  }
  if (rec.kind !== 'vnode') {
    visit.record(rec);
    return pos + rec.size;
  }
  const ref = vnodeRef(rec, w.buf.subarray(pos - w.base, pos - w.base + rec.size));
  const end = pos + rec.size + ref.dataLength;
  // File data past the end: the reader reports it (after visiting the vnode).
  if (end > w.size) return -1;
  visit.vnode(ref);
  return end;
}

/**
 * The end marker at `pos`, where all of it is in the window: visited, and
 * after it the bytes to the input's end as a trailing record, as the
 * reader does for a file (DumpReader.next). True when done; false (nothing
 * visited) leaves it to the reader: an end marker cut short, which it
 * reports. Saves opening the input again and the turns of the event loop
 * of the reader's asynchronous reads, for the few bytes of the end.
 */
function endMarker(w: ScanWindow, c: Cursor, pos: number, visit: ScanVisitor): boolean {
  c.buf = w.buf;
  c.base = w.base;
  c.pos = pos - w.base;
  c.end = w.len;
  let rec: DumpRecord;
  try {
    rec = decodeRecord(c);
  } catch {
    return false;
  }
  if (rec.kind !== 'end') return false;
  visit.record(rec);
  const at = pos + rec.size;
  if (w.size > at) visit.record({ kind: 'trailing', offset: at, size: w.size - at });
  return true;
}

/** The reader from `start` on, where the fast path hands over (damage, a record it does not take, an end marker cut short). */
async function slowScan(
  path: string,
  real: string,
  start: number,
  lenientEnd: boolean,
  visit: ScanVisitor,
  noEnd: (at: number) => void,
): Promise<void> {
  // Loaded here: a sound input never needs them (the fast path reads it to its end marker).
  const [{ DumpReader }, { FileSource }] = await Promise.all([import('../format/reader.js'), import('../source/file.js')]);
  const reader = new DumpReader(await FileSource.open(real, { name: path }), { start, expectHeader: start === 0 });
  let lastEnd = start;
  try {
    for (;;) {
      let rec: DumpRecord | null | undefined;
      try {
        rec = reader.nextBuffered() ?? (await reader.next());
      } catch (e) {
        if (lenientEnd && e instanceof DumpError && e.code === 'TRUNCATED' && lastEnd > 0 && e.offset === lastEnd) {
          noEnd(lastEnd);
          return;
        }
        throw e;
      }
      if (!rec) return;
      if (rec.kind === 'vnode') {
        visit.vnode({
          kind: 'vnode', vnode: rec.vnode, unique: rec.unique, offset: rec.offset, size: rec.size, dataKind: rec.data.kind,
          dataLength: rec.data.kind === 'filedata' ? rec.data.length : 0, canonical: false,
        });
      } else visit.record(rec);
      lastEnd = rec.kind === 'vnode' && rec.data.kind === 'filedata' ? rec.data.start + rec.data.length : rec.offset + rec.size;
    }
  } finally {
    await reader.close();
  }
}
