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
 * grow to, file data running past the end, the end marker and what follows
 * it) is handed over, from that record on, to the DumpReader that merge
 * always read with: the records visited, the errors and the warnings are
 * exactly the reader's.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { D_DUMPEND, D_DUMPHEADER, D_ENDVV, D_FILEDATA, D_VNODE, DUMP_BEGIN_MAGIC } from '../format/constants.js';
import { Cursor, NEED_MORE, decodeRecord } from '../format/decoder.js';
import { encodeVnode } from '../format/encoder.js';
import { DumpError, ioError } from '../format/errors.js';
import { DumpReader } from '../format/reader.js';
import { vnodeDataSpec } from '../format/reencode.js';
import { vnodeClass, vnodeSlot, type DumpRecord, type Vnode } from '../format/types.js';
import { FileSource } from '../source/file.js';
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

/** A record as the scan hands it over: vnodes as VnodeRef, the others decoded. */
export type ScanRecord = Exclude<DumpRecord, Vnode> | VnodeRef;

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
const FILE_VNODE_TAGS: readonly (readonly [number, number])[] = (() => {
  const t: [number, number][] = [];
  const ch = (s: string) => s.charCodeAt(0);
  t.push([0, D_VNODE], [9, ch('t')], [11, ch('b')], [14, ch('l')], [17, ch('L')], [22, ch('v')], [27, ch('V')]);
  for (let i = 0; i < 8; i++) t.push([28 + 5 * i, 0x30 + i]);
  t.push([68, ch('s')], [73, ch('u')], [78, ch('f')], [83, D_ENDVV]);
  t.push([84, ch('m')], [89, ch('a')], [94, ch('o')], [99, ch('p')], [104, ch('q')], [109, D_FILEDATA]);
  return t;
})();

/** True when the FILE_VNODE_SIZE bytes at `at` are the usual vnode's (the caller checks they are there). */
export function isUsualFileVnode(b: Buffer, at: number): boolean {
  for (let i = 0; i < FILE_VNODE_TAGS.length; i++) {
    const [off, byte] = FILE_VNODE_TAGS[i];
    if (b[at + off] !== byte) return false;
  }
  return true;
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

/**
 * Read `path` (its dump stream in `real`: itself, or a decoded copy) once
 * and hand every record to `visit`. For an incremental (`lenientEnd`), a
 * missing end marker after a complete record is only a warning, as in Coda
 * (NO_END_MARKER, made by `noEnd`); anywhere else a truncation is an error.
 * Returns the input's size and modification time.
 */
export async function scanDump(
  path: string,
  real: string,
  lenientEnd: boolean,
  visit: (rec: ScanRecord) => void,
  noEnd: (at: number) => void,
): Promise<Stamp | undefined> {
  const fast = fastScan(path, real, visit);
  await slowScan(path, real, fast.handover, fast.lastEnd, lenientEnd, visit, noEnd);
  return fast.stamp;
}

/**
 * The fast path: records from the start while it can; returns where the
 * reader takes over (a record's offset) and where the last record visited
 * ended (its file data included).
 */
function fastScan(path: string, real: string, visit: (rec: ScanRecord) => void): { handover: number; lastEnd: number; stamp?: Stamp } {
  let fd: number;
  try {
    fd = openSync(real, 'r');
  } catch {
    return { handover: 0, lastEnd: 0 }; // the reader opens it and says why it cannot
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { handover: 0, lastEnd: 0 };
    const size = st.size;
    const stamp = { size, mtimeMs: st.mtimeMs };
    let buf = Buffer.allocUnsafe(WINDOW);
    /** The window: buf[0, len) holds the input's bytes from `base`. */
    let base = 0;
    let len = 0;
    const c = new Cursor(buf);
    /** Read the window again from `pos` (at least `want` bytes of buffer). */
    const fill = (pos: number, want: number) => {
      if (buf.length < want) buf = Buffer.allocUnsafe(want);
      let got = 0;
      try {
        while (got < buf.length && pos + got < size) {
          const n = readSync(fd, buf, got, Math.min(buf.length - got, size - pos - got), pos + got);
          if (n === 0) break;
          got += n;
        }
      } catch (e) {
        throw ioError(e, path);
      }
      base = pos;
      len = got;
    };
    let pos = 0;
    let lastEnd = 0;
    for (;;) {
      // At least the usual vnode's bytes in the window (fewer only at the end of the input).
      if (pos + FILE_VNODE_SIZE > base + len && base + len < size) fill(pos, WINDOW);
      if (pos < base || pos >= base + len) return { handover: pos, lastEnd, stamp };
      const at = pos - base;
      const tag = buf[at];
      let rec: ScanRecord;
      if (tag === D_VNODE && pos + FILE_VNODE_SIZE <= base + len && isUsualFileVnode(buf, at)) {
        rec = {
          kind: 'vnode', vnode: buf.readUInt32BE(at + 1), unique: buf.readUInt32BE(at + 5), offset: pos, size: FILE_VNODE_SIZE,
          dataKind: 'filedata', dataLength: buf.readUInt32BE(at + 110), canonical: true,
        };
      } else {
        if (tag === D_DUMPEND) return { handover: pos, lastEnd, stamp };
        if (pos === 0 && !(len >= 5 && tag === D_DUMPHEADER && buf.readUInt32BE(1) === DUMP_BEGIN_MAGIC)) return { handover: 0, lastEnd, stamp };
        let decoded: DumpRecord | undefined;
        for (;;) {
          c.buf = buf;
          c.base = base;
          c.pos = pos - base;
          c.end = len;
          try {
            decoded = decodeRecord(c);
            break;
          } catch (e) {
            if (e !== NEED_MORE) return { handover: pos, lastEnd, stamp }; // the reader meets it again, and says it
            // More of the record: the window from it on, larger if it was already there.
            if (base + len >= size) return { handover: pos, lastEnd, stamp };
            const want = base === pos ? 2 * buf.length : Math.max(buf.length, WINDOW);
            if (want > MAX_WINDOW) return { handover: pos, lastEnd, stamp };
            fill(pos, want);
          }
        }
        rec = decoded.kind === 'vnode' ? vnodeRef(decoded, buf.subarray(pos - base, pos - base + decoded.size)) : decoded;
      }
      const end = pos + rec.size + (rec.kind === 'vnode' ? rec.dataLength : 0);
      // File data past the end: the reader reports it (after visiting the vnode).
      if (end > size) return { handover: pos, lastEnd, stamp };
      visit(rec);
      pos = lastEnd = end;
    }
  } finally {
    closeSync(fd);
  }
}

/** The reader from `start` on (nothing to do when the fast path read through the end marker: it never does). */
async function slowScan(
  path: string,
  real: string,
  start: number,
  lastEndBefore: number,
  lenientEnd: boolean,
  visit: (rec: ScanRecord) => void,
  noEnd: (at: number) => void,
): Promise<void> {
  const reader = new DumpReader(await FileSource.open(real, { name: path }), { start, expectHeader: start === 0 });
  let lastEnd = lastEndBefore;
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
        visit({
          kind: 'vnode', vnode: rec.vnode, unique: rec.unique, offset: rec.offset, size: rec.size, dataKind: rec.data.kind,
          dataLength: rec.data.kind === 'filedata' ? rec.data.length : 0, canonical: false,
        });
      } else visit(rec);
      lastEnd = rec.kind === 'vnode' && rec.data.kind === 'filedata' ? rec.data.start + rec.data.length : rec.offset + rec.size;
    }
  } finally {
    await reader.close();
  }
}
