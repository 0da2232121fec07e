/**
 * `merge`: apply incremental dumps, in order, onto a full dump, writing the
 * same bytes as Coda's `codamergedump OUT FULL INCREMENTAL` (FORMAT.md 4).
 *
 * Memory is bounded by the number of vnodes, never by file data:
 *
 * 1. Index pass over the full dump (scan.ts: record by record, file data
 *    skipped): per class, one small entry per vnode (uniquifier, which
 *    input holds it, the offset of its VNODE record, the length of its file
 *    data, and whether its bytes are already what codamergedump writes for
 *    it), threaded per slot as Coda's table does (a stack: last seen first).
 * 2. One pass per incremental, in order: a changed vnode's entry is pointed
 *    at the incremental (it keeps its place), a new one is pushed on top of
 *    its slot, an RMVNODE unlinks one (or is only logged). Between two
 *    incrementals every slot is reversed: that is exactly what writing the
 *    intermediate merged dump and reading it back as the next full dump
 *    does, so merging F I1 I2 in one run gives the same bytes as merging
 *    (F + I1) then that result + I2 with Coda's program.
 * 3. Write pass, slot by slot. The header, the volume data and the index
 *    headers are encoded. A vnode whose bytes are what codamergedump writes
 *    (the usual case: a server wrote it) is not read again: vnodes that
 *    follow each other in one input, with their file data, leave as one
 *    range copied as it is (AtomicOutput.copyFrom: copy_file_range in the
 *    kernel where it can), so most of a merged dump is a few thousand
 *    copies of long runs of the full dump. Any other vnode is read again by
 *    position (through a 1 MiB read-ahead window per input), re-encoded in
 *    the server's field order, and its file data copied by position: small
 *    files from the window, files of 1 MiB and more range by range with
 *    copyFrom. The output is written through AtomicOutput's buffer, in
 *    large writes. Inputs must therefore be files (not standard input).
 *    mergedItems() (the item stream: gzip output, the library) decodes and
 *    re-encodes every vnode, and gives the same bytes.
 */
import type { FileSystem } from '../io/fs.js';
import { finding, vnodeKey, type Finding } from '../diagnostics/finding.js';
import { resolve } from 'node:path';
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { VOLUME_NAME_SIZE } from '../format/constants.js';
import {
  encodeEnd, encodeHeader, encodeIndexHeader, encodeVolume, type HeaderFields, type VolumeFields,
} from '../format/encoder.js';
import { DumpError, ioError } from '../format/errors.js';
import { item, type DumpItem } from '../format/items.js';
import { Cursor, NEED_MORE, decodeRecord } from '../format/decoder.js';
import {
  displayString, vnodeClass, vnodeSlot, type DumpHeader, type DumpRecord, type IndexClass, type Vnode, type VolumeData,
} from '../format/types.js';
import type { FileSource } from '../source/file.js';
import { DUMP_HEAD } from '../source/sniff.js';
import type { PositionalInput } from '../io/positional-input.js';
import { AtomicOutput } from '../io/atomic-output.js';
import { codaVolume, cString } from './coda-fields.js';
import { COPY_DIRECT, Window, changed, truncatedData, vnodePieces, type Piece } from './pieces.js';
import { scanDump, type ScanVisitor, type Stamp, type VnodeRef } from './scan.js';
import { EntryHash, MergeStream, STREAM_WINDOW, openAll, predict, type FullObserver } from './stream.js';
import { EntryColumns, MAX_INPUTS, MAX_RECORD, applyToSlot, type EntryFields } from './columns.js';

/** What a merge warns about (codes in src/diagnostics/codes.ts, area `merge`, plus TRAILING_DATA). */
export type MergeWarningCode = 'NOT_AGAINST_BASE' | 'RMVNODE_MISSING' | 'NO_END_MARKER' | 'TRAILING_DATA' | 'COUNT_MISMATCH';

/** A merge warning is a finding about one input file (`file`), severity warning. */
export type MergeWarning = Finding & { code: MergeWarningCode; file: string };

function mergeWarning(code: MergeWarningCode, file: string, offset: number | undefined, message: string): MergeWarning {
  return finding(code, offset, message, { severity: 'warning', file }) as MergeWarning;
}

/** One vnode of the merged table: which input holds its record, and where (fields in columns.ts). */
export type Entry = EntryFields;

export interface ClassTable {
  cls: IndexClass;
  /** Running 'v': the full dump's declared count, +1 per vnode added, -1 per vnode removed. */
  declared: number;
  lists: number;
  /**
   * The full dump's vnodes by slot (ascending), each slot's in the order
   * they are written (head first: Coda's table is a stack), except the
   * slots in `touched`, whose entries here are stale. Typed-array columns
   * (columns.ts): a full dump of a million vnodes needs no object per vnode.
   * An incremental's changed vnode of a slot not in `touched` is updated
   * here, in place (its place in the slot stays).
   */
  base: EntryColumns;
  /**
   * The slots an incremental changed, added to or removed from: their
   * vnodes, head first. Sparse: 'lists' comes from the input (up to
   * 2^32-1), so nothing is sized by it.
   */
  touched: Map<number, Entry[]>;
}

/** Index in `t.base` of the first entry of `slot` or of a later slot (binary search). */
function baseIndex(t: ClassTable, slot: number): number {
  let lo = 0;
  let hi = t.base.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t.base.slot(mid) < slot) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The entries of `slot`, head first, as a list an incremental may change (moved to `touched` on first use). */
function slotList(t: ClassTable, slot: number): Entry[] {
  let l = t.touched.get(slot);
  if (!l) {
    l = [];
    const b = t.base;
    for (let i = baseIndex(t, slot); i < b.length && b.slot(i) === slot; i++) {
      l.push(b.read(i, { slot: 0, unique: 0, src: 0, offset: 0, size: 0, data: 0, canonical: false }));
    }
    t.touched.set(slot, l);
  }
  return l;
}

/**
 * Reverse the vnodes of every slot (what writing a merged dump and reading
 * it back as the next base does): in `base`, every run of one slot.
 */
function reverseSlots(t: ClassTable): void {
  for (const l of t.touched.values()) l.reverse();
  const b = t.base;
  for (let i = 0; i < b.length; ) {
    let j = i + 1;
    const slot = b.slot(i);
    while (j < b.length && b.slot(j) === slot) j++;
    for (let lo = i, hi = j - 1; lo < hi; lo++, hi--) b.swap(lo, hi);
    i = j;
  }
}

/**
 * The merged table's vnodes of one class in the order they are written:
 * slot by slot, head first. With `scratch`, the full dump's entries are
 * that one object, filled again for each (valid until the next is asked
 * for: the write pass makes no object per vnode); without it, each is an
 * object of its own.
 */
export function* tableOrder(t: ClassTable, scratch?: Entry): Generator<Entry> {
  const b = t.base;
  const touched = [...t.touched.keys()].sort((x, y) => x - y);
  let i = 0;
  let j = 0;
  while (i < b.length || j < touched.length) {
    const bs = i < b.length ? b.slot(i) : Infinity;
    const ts = j < touched.length ? touched[j] : Infinity;
    if (ts <= bs) {
      yield* t.touched.get(ts)!;
      j++;
      if (ts === bs) while (i < b.length && b.slot(i) === bs) i++;
    } else {
      yield b.read(i++, scratch ?? { slot: 0, unique: 0, src: 0, offset: 0, size: 0, data: 0, canonical: false });
    }
  }
}

export interface IncrementalStats {
  file: string;
  level: number;
  oldest: number;
  latest: number;
  changed: number;
  added: number;
  removed: number;
  /** RMVNODE records naming a vnode that was not there. */
  notFound: number;
}

export interface MergePlan {
  /** Input paths: [0] the full dump, then the incrementals in order. */
  inputs: string[];
  header: HeaderFields;
  volume: VolumeFields;
  large: ClassTable;
  small: ClassTable;
  incrementals: IncrementalStats[];
  warnings: MergeWarning[];
  /** Each input's size and modification time when it was read (the write pass refuses an input changed since). */
  stamps?: (Stamp | undefined)[];
}

export interface IndexResult {
  declared: number;
  lists: number;
  vnodes: number;
}

export interface MergeResult {
  output: string;
  bytes: number;
  header: HeaderFields;
  large: IndexResult;
  small: IndexResult;
  incrementals: IncrementalStats[];
  warnings: MergeWarning[];
}

function refuse(message: string, file?: string): DumpError {
  return new DumpError('MERGE_REFUSED', message, undefined, file);
}

function hex8(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

function requireFile(path: string, what: string): void {
  if (path === '-') {
    throw new DumpError('USAGE', `${what} must be a file: merge reads its inputs twice, by position, so standard input cannot be used`, undefined, '-');
  }
}

/** How a message names a vnode or an RMVNODE (made only for a message: once per vnode, it would cost more than the check). */
function what(rec: { kind: 'vnode' | 'rmvnode'; vnode: number; unique: number }): string {
  return rec.kind === 'rmvnode' ? `RMVNODE ${vnodeKey(rec.vnode, rec.unique)}` : `vnode ${vnodeKey(rec.vnode, rec.unique)}`;
}

/** The checks Coda's merge makes (or asserts) on a vnode before it can copy it. */
function checkVnode(rec: VnodeRef | { kind: 'rmvnode'; vnode: number; unique: number; offset: number }, cls: IndexClass | null, t: ClassTable | null, file: string): number {
  if (!cls || !t) throw new DumpError('BAD_VALUE', `${what(rec)} before any index header`, rec.offset, file);
  const slot = vnodeSlot(rec.vnode);
  if (rec.vnode === 0 || vnodeClass(rec.vnode) !== cls) {
    throw new DumpError('BAD_VALUE', `${what(rec)} is in the ${cls} index, but its number belongs to the ${vnodeClass(rec.vnode)} index`, rec.offset, file);
  }
  if (slot >= t.lists) {
    throw new DumpError('BAD_VALUE', `${what(rec)} is in slot ${slot}, beyond the ${t.lists} lists its index declares`, rec.offset, file);
  }
  if (rec.kind === 'vnode') {
    if (rec.dataKind === 'badinode') {
      throw refuse(`vnode ${vnodeKey(rec.vnode, rec.unique)} has BADINODE (the server could not read its data): Coda's merge aborts on it, so no merged dump is written`, file);
    }
    const want = cls === 'large' ? 'dirpages' : 'filedata';
    if (rec.dataKind !== want) {
      throw new DumpError('BAD_VALUE', `vnode ${vnodeKey(rec.vnode, rec.unique)} in the ${cls} index has no ${want === 'dirpages' ? 'DIRPAGES' : 'FILEDATA'}, which Coda's merge requires`, rec.offset, file);
    }
  }
  return slot;
}

function sameInput(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Compressed inputs (gzip, Amanda...) are decoded once into temporary files
 * (merge reads its inputs by position); this maps an input's name to the
 * file that holds its dump stream, for the merge in progress.
 */
const decodedCopies = new Map<string, string>();

/**
 * Read an input once (scan.ts), from its decoded copy where it has one:
 * every vnode to `vnode` (valid only during the call), every other record to
 * `record`; warnings go to `warn`.
 */
function scan(
  path: string,
  lenientEnd: boolean,
  record: (rec: Exclude<DumpRecord, Vnode>) => void,
  vnode: (r: VnodeRef) => void,
  warn: (w: MergeWarning) => void,
  observer?: FullObserver,
): Promise<Stamp | undefined> {
  const visitor: ScanVisitor = observer
    ? { record, vnode, window: (w) => observer.window!(w), beforeFill: () => observer.beforeFill!(), room: () => observer.room!(), handover: () => observer.handover!() }
    : { record, vnode };
  return scanDump(path, decodedCopies.get(path) ?? path, lenientEnd, visitor, (at) =>
    warn(mergeWarning('NO_END_MARKER', path, at, `ends at byte ${at} without an end marker (merged anyway, as Coda does)`)),
  );
}

/**
 * Read the full dump and the incrementals and build the merged table.
 * Throws DumpError MERGE_REFUSED for the refusals Coda makes (onto an
 * incremental, from a full dump, different parent volume ids or names, an
 * incremental with fewer lists than the base, BADINODE), and a decode
 * error for damaged input.
 */
export async function planMerge(full: string, incrementals: string[], observer?: FullObserver): Promise<MergePlan> {
  if (incrementals.length === 0) throw new DumpError('USAGE', 'name at least one incremental dump to merge');
  if (incrementals.length >= MAX_INPUTS) throw new DumpError('USAGE', `at most ${MAX_INPUTS - 1} incremental dumps can be merged at once`);
  requireFile(full, 'the full dump');
  for (const f of incrementals) requireFile(f, 'an incremental dump');
  const warnings: MergeWarning[] = [];
  const warn = (w: MergeWarning) => warnings.push(w);

  // 1. The full dump.
  let fh: DumpHeader | null = null;
  let fv: VolumeData | null = null;
  const tables: Partial<Record<IndexClass, ClassTable>> = {};
  const counts: Partial<Record<IndexClass, { records: number; offset: number }>> = {};
  /** The classes whose vnodes did not come in ascending slots, one per slot. */
  const unsorted = new Set<IndexClass>();
  let cls: IndexClass | null = null;
  let sawEnd = false;
  const stamps: (Stamp | undefined)[] = [];
  stamps.push(await scan(full, false, (r) => {
    switch (r.kind) {
      case 'header':
        if (r.incremental !== 0) throw refuse(`trying to merge onto an incremental dump: ${full} is incremental (level ${r.incremental}); the first dump must be a full dump`, full);
        fh = r;
        break;
      case 'volume': fv = r; break;
      case 'index':
        if (tables[r.index]) throw new DumpError('BAD_VALUE', `a second ${r.index} index`, r.offset, full);
        if (r.lists === 0) throw new DumpError('BAD_VALUE', `the ${r.index} index declares 0 lists (Coda requires at least one)`, r.offset, full);
        cls = r.index;
        tables[cls] = { cls, declared: r.declared, lists: r.lists, base: new EntryColumns(), touched: new Map() };
        counts[cls] = { records: 0, offset: r.offset };
        break;
      case 'nullvnode':
        if (cls) counts[cls]!.records++;
        break;
      case 'rmvnode':
        throw refuse(`the full dump holds an RMVNODE record (${vnodeKey(r.vnode, r.unique)}), which only incrementals can`, full);
      case 'end': sawEnd = true; break;
      case 'trailing':
        throw new DumpError('TRAILING_DATA', `${r.size} bytes after the end marker (Coda's merge refuses a full dump with an improper postamble)`, r.offset, full);
    }
    observer?.record(r);
  }, (r) => {
    // Every vnode of the full dump: kept short (it runs once per vnode, most of the scan's time).
    const t = cls ? tables[cls]! : null;
    const slot = checkVnode(r, cls, t, full);
    counts[cls!]!.records++;
    const base = t!.base;
    if (base.length > 0 && base.slot(base.length - 1) >= slot) unsorted.add(cls!);
    if (r.size > MAX_RECORD) throw new DumpError('BAD_VALUE', `vnode ${vnodeKey(r.vnode, r.unique)} has a record of ${r.size} bytes, more than merge can hold`, r.offset, full);
    base.push(slot, r.unique, 0, r.offset, r.size, r.dataLength, r.canonical);
    observer?.vnode(r, slot, cls!);
  }, warn, observer));
  const header = fh as DumpHeader | null;
  const fullVolume = fv as VolumeData | null;
  if (!header) throw new DumpError('NOT_A_DUMP', 'no dump header', 0, full);
  if (!fullVolume) throw new DumpError('BAD_VALUE', 'no volume disk data', undefined, full);
  for (const c of ['large', 'small'] as const) {
    if (!tables[c]) throw new DumpError('BAD_VALUE', `no ${c} index`, undefined, full);
    const n = counts[c]!;
    if (n.records !== tables[c]!.declared) {
      warn(mergeWarning('COUNT_MISMATCH', full, n.offset, `the ${c} index declares ${tables[c]!.declared} vnodes but ${n.records} follow (Coda's merge reads exactly the declared number)`));
    }
    // By slot (a stable sort: a slot's vnodes in the order seen; a server writes them sorted), and
    // Coda's table is a stack: the full dump's vnodes of a slot come out last seen first.
    if (unsorted.has(c)) {
      tables[c]!.base = tables[c]!.base.sortedBySlot();
      reverseSlots(tables[c]!);
    }
  }
  if (!sawEnd) throw new DumpError('TRUNCATED', 'no end marker', undefined, full);
  const large = tables.large!;
  const small = tables.small!;
  const fullName = cString(header.name, VOLUME_NAME_SIZE);

  // 2. The incrementals, in order.
  let latest = header.latest;
  let lastHeader: DumpHeader = header;
  let volume: VolumeData = fullVolume;
  const stats: IncrementalStats[] = [];
  for (let k = 0; k < incrementals.length; k++) {
    const file = incrementals[k];
    if (sameInput(file, full) || incrementals.slice(0, k).some((f) => sameInput(f, file))) {
      throw new DumpError('USAGE', 'named twice among the inputs', undefined, file);
    }
    const src = k + 1;
    const st: IncrementalStats = { file, level: 0, oldest: 0, latest: 0, changed: 0, added: 0, removed: 0, notFound: 0 };
    let ih: DumpHeader | null = null;
    let iv: VolumeData | null = null;
    const seenIdx = new Set<IndexClass>();
    let icls: IndexClass | null = null;
    stamps.push(await scan(file, true, (r) => {
      switch (r.kind) {
        case 'header': {
          if (r.incremental === 0) throw refuse(`trying to merge from a full dump: ${file} is a full dump, not an incremental`, file);
          const name = cString(r.name, VOLUME_NAME_SIZE);
          if (r.parentId !== header.parentId || name !== fullName) {
            throw refuse(
              `volume ids or names don't match: ${full} has parent volume ${hex8(header.parentId)} name "${displayString(fullName)}", ` +
                `${file} has parent volume ${hex8(r.parentId)} name "${displayString(name)}"`,
              file,
            );
          }
          if (r.oldest !== latest) {
            warn(mergeWarning('NOT_AGAINST_BASE', file, r.offset,
              `was not taken against this base: its oldest ordering uniquifier is ${r.oldest}, the base's latest is ${latest} (merged anyway, as Coda does)`));
          }
          st.level = r.incremental;
          st.oldest = r.oldest;
          st.latest = r.latest;
          ih = r;
          break;
        }
        case 'volume': iv = r; break;
        case 'index': {
          if (seenIdx.has(r.index)) throw new DumpError('BAD_VALUE', `a second ${r.index} index`, r.offset, file);
          seenIdx.add(r.index);
          icls = r.index;
          const t = tables[icls]!;
          if (r.lists < t.lists) {
            throw refuse(`the full dump has more vnode slots than the incremental: ${t.lists} ${icls} lists in the base, ${r.lists} in ${file}`, file);
          }
          t.lists = r.lists;
          break;
        }
        case 'nullvnode': break;
        case 'rmvnode': {
          const t = icls ? tables[icls]! : null;
          const slot = checkVnode(r, icls, t, file);
          if (applyToSlot(slotList(t!, slot), r.unique, null) === 'removed') {
            t!.declared--;
            st.removed++;
          } else {
            st.notFound++;
            warn(mergeWarning('RMVNODE_MISSING', file, r.offset, `removes vnode ${vnodeKey(r.vnode, r.unique)}, which the base does not hold (only logged, as Coda does)`));
          }
          break;
        }
        case 'end': break;
        case 'trailing':
          warn(mergeWarning('TRAILING_DATA', file, r.offset, `${r.size} bytes after the end marker (ignored, as Coda does)`));
          break;
      }
    }, (r) => {
      const t = icls ? tables[icls]! : null;
      const slot = checkVnode(r, icls, t, file);
      if (r.size > MAX_RECORD) throw new DumpError('BAD_VALUE', `vnode ${vnodeKey(r.vnode, r.unique)} has a record of ${r.size} bytes, more than merge can hold`, r.offset, file);
      if (!t!.touched.has(slot)) {
        // A slot no incremental touched yet: a changed vnode is updated in the columns, in place.
        const b = t!.base;
        for (let i = baseIndex(t!, slot); i < b.length && b.slot(i) === slot; i++) {
          if (b.unique(i) !== r.unique) continue;
          b.update(i, src, r.offset, r.size, r.dataLength, r.canonical);
          st.changed++;
          return;
        }
      }
      const rec = { slot, unique: r.unique, src, offset: r.offset, size: r.size, data: r.dataLength, canonical: r.canonical };
      if (applyToSlot(slotList(t!, slot), r.unique, rec) === 'changed') {
        st.changed++;
      } else {
        t!.declared++;
        st.added++;
      }
    }, warn));
    const incHeader = ih as DumpHeader | null;
    const incVolume = iv as VolumeData | null;
    if (!incHeader) throw new DumpError('NOT_A_DUMP', 'no dump header', 0, file);
    if (!incVolume) throw new DumpError('BAD_VALUE', 'no volume disk data', undefined, file);
    for (const c of ['large', 'small'] as const) {
      if (!seenIdx.has(c)) throw new DumpError('BAD_VALUE', `no ${c} index`, undefined, file);
    }
    lastHeader = incHeader;
    volume = incVolume;
    latest = incHeader.latest;
    stats.push(st);
    // Writing a merged dump and reading it back as the next base reverses every slot.
    if (k < incrementals.length - 1) for (const t of [large, small]) reverseSlots(t);
  }

  return {
    inputs: [full, ...incrementals],
    header: {
      volumeId: header.volumeId, parentId: header.parentId, name: fullName, backupDate: lastHeader.backupDate,
      incremental: header.incremental, oldest: header.oldest, latest,
    },
    volume: codaVolume(volume),
    large,
    small,
    incrementals: stats,
    warnings,
    stamps,
  };
}

/** Read and decode the record of `e` again: exactly its bytes, one read. */
export async function recordAt(src: FileSource, c: Cursor, e: Entry, file: string): Promise<DumpRecord> {
  if (c.buf.length < e.size) c.buf = Buffer.allocUnsafe(e.size);
  let got = 0;
  while (got < e.size) {
    const n = await src.read(c.buf, got, e.size - got, e.offset + got);
    if (n === 0) throw changed(file, e.offset, 'it is shorter now');
    got += n;
  }
  c.base = e.offset;
  c.pos = 0;
  c.end = e.size;
  try {
    return decodeRecord(c);
  } catch (x) {
    if (x === NEED_MORE) throw changed(file, e.offset, 'a record is longer now');
    throw x;
  }
}

/**
 * The merged dump as pieces, in order: encoded records, file data of up to
 * COPY_DIRECT bytes as views of a window (valid until the next piece), and
 * longer file data as ranges to copy. With `runs`, every vnode whose bytes
 * are what codamergedump writes for it (Entry.canonical) is not decoded
 * again: consecutive ones that follow each other in one input leave as one
 * range to copy, its records and file data as they are.
 */
function* mergedPieces(plan: MergePlan, windows: Window[], runs: boolean): Generator<Piece> {
  const c = new Cursor(Buffer.alloc(0));
  const scratch: Entry = { slot: 0, unique: 0, src: 0, offset: 0, size: 0, data: 0, canonical: false };
  yield item(encodeHeader(plan.header));
  yield item(encodeVolume(plan.volume));
  /** The run being gathered: input `src`, bytes [start, end). */
  let src = -1;
  let start = 0;
  let end = 0;
  const run = (): Piece => {
    const piece: Piece = { kind: 'copy', fd: windows[src].fd, file: plan.inputs[src], position: start, length: end - start };
    src = -1;
    return piece;
  };
  for (const t of [plan.large, plan.small]) {
    yield item(encodeIndexHeader(t.cls, t.declared >>> 0, t.lists));
    // Slot order; only the slots that hold vnodes (the others write nothing).
    for (const e of tableOrder(t, scratch)) {
      if (runs && e.canonical) {
        if (e.src === src && e.offset === end) end += e.size + e.data;
        else {
          if (src >= 0) yield run();
          src = e.src;
          start = e.offset;
          end = e.offset + e.size + e.data;
        }
        continue;
      }
      if (src >= 0) yield run();
      yield* vnodePieces(e, t.cls, windows[e.src], c);
    }
    if (src >= 0) yield run();
  }
  yield item(encodeEnd());
}

/** Open every input (its decoded copy, for a compressed one) read only, into `fds` (the caller closes them). */
function openInputs(plan: MergePlan, fds: number[]): void {
  for (const p of plan.inputs) {
    try {
      fds.push(openSync(decodedCopies.get(p) ?? p, 'r'));
    } catch (e) {
      throw ioError(e, p);
    }
  }
}

/**
 * The write pass copies runs of an input as they are, without decoding them
 * again: refuse an input whose size or modification time is not what the
 * scan saw.
 */
function unchanged(plan: MergePlan, fds: number[]): void {
  for (let i = 0; i < fds.length; i++) {
    const was = plan.stamps?.[i];
    if (!was) continue;
    let now: Stats;
    try {
      now = fstatSync(fds[i]);
    } catch (e) {
      throw ioError(e, plan.inputs[i]);
    }
    if (now.size !== was.size || now.mtimeMs !== was.mtimeMs) {
      throw new DumpError('IO', `the input changed while it was being merged (its size or modification time is not what was read)`, undefined, plan.inputs[i]);
    }
  }
}

/** Open every input for the write pass (read only), run `body`, close them. */
function withInputs<T>(plan: MergePlan, body: (windows: Window[]) => T): T {
  const fds: number[] = [];
  try {
    openInputs(plan, fds);
    unchanged(plan, fds);
    return body(fds.map((fd, i) => new Window(fd, plan.inputs[i])));
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/**
 * The merged dump as a stream of items (reads every input by position).
 * `filedata` items are views of a reused buffer, valid until the next item.
 */
export async function* mergedItems(plan: MergePlan): AsyncGenerator<DumpItem> {
  const fds: number[] = [];
  try {
    openInputs(plan, fds);
    const windows = fds.map((fd, i) => new Window(fd, plan.inputs[i]));
    let buf: Buffer | undefined;
    for (const piece of mergedPieces(plan, windows, false)) {
      if (piece.kind !== 'copy') {
        yield piece;
        continue;
      }
      buf ??= Buffer.allocUnsafe(COPY_DIRECT);
      for (let pos = piece.position, left = piece.length; left > 0; ) {
        let n: number;
        try {
          n = readSync(piece.fd, buf, 0, Math.min(left, buf.length), pos);
        } catch (e) {
          throw ioError(e, piece.file);
        }
        if (n === 0) throw truncatedData(piece.file, piece.vnode, pos, left);
        yield { kind: 'filedata', data: buf.subarray(0, n) };
        pos += n;
        left -= n;
      }
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/**
 * Write the merged dump to `out`: records and small files through its
 * buffer (a few large writes), long file data copied range by range
 * (AtomicOutput.copyFrom: in the kernel where it can).
 */
export function writeMerged(plan: MergePlan, out: AtomicOutput): void {
  withInputs(plan, (windows) => {
    for (const piece of mergedPieces(plan, windows, true)) {
      if (piece.kind !== 'copy') {
        out.write(piece.data);
        continue;
      }
      const n = out.copyFrom(piece.fd, piece.position, piece.length);
      if (n < piece.length) throw truncatedData(piece.file, piece.vnode, piece.position + n, piece.length - n);
    }
  });
}

function indexResult(t: ClassTable): IndexResult {
  let vnodes = t.base.length;
  for (const [slot, l] of t.touched) {
    vnodes += l.length;
    for (let i = baseIndex(t, slot); i < t.base.length && t.base.slot(i) === slot; i++) vnodes--;
  }
  return { declared: t.declared >>> 0, lists: t.lists, vnodes };
}

/**
 * True when `path` starts with a dump header (then it is no container: the
 * sniffer says 'dump' for these bytes). False for anything else, and when
 * it cannot be read: sniffPath then looks again and says why. Saves loading
 * the containers' code (source/open.js) for the usual raw dump.
 */
function startsAsDump(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(DUMP_HEAD.length);
    return readSync(fd, b, 0, b.length, 0) === b.length && b.equals(DUMP_HEAD);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Merge `incrementals` (in order) onto `full` and write the result to `out`
 * atomically (never replacing an existing file unless `force`, never one of
 * the inputs). The merged dump is streamed (stream.ts: written while the
 * full dump is read) where it can be; `stream: false` forces the present
 * path (plan, then write pass), which gives the same bytes.
 */
export async function mergeDumps(
  full: string, incrementals: string[], out: string, opts: { force?: boolean; gzip?: boolean; tmpdir?: string; fs?: Partial<FileSystem>; stream?: boolean; direct?: boolean } = {},
): Promise<MergeResult> {
  if (out === '-') throw new DumpError('USAGE', 'the merged dump must go to a file (-o OUT), not standard output', undefined, '-');
  for (const f of [full, ...incrementals]) {
    if (f !== '-' && sameInput(out, f)) throw new DumpError('USAGE', 'the output is one of the inputs; inputs are never modified', undefined, out);
  }
  const opened: PositionalInput[] = [];
  try {
    for (const f of [full, ...incrementals]) {
      if (f === '-' || startsAsDump(f)) continue;
      // Not a dump from its first byte: sniffed, and decoded when a container (gzip, Amanda...).
      const { isContainer, sniffPath } = await import('../source/open.js');
      if (!isContainer(await sniffPath(f))) continue;
      const { openPositional } = await import('../io/positional-input.js');
      const p = await openPositional(f, { tmpdir: opts.tmpdir });
      opened.push(p);
      decodedCopies.set(f, p.path);
    }
    return await mergeOpened(full, incrementals, out, opts);
  } finally {
    for (const p of opened) {
      for (const [k, v] of decodedCopies) if (v === p.path) decodedCopies.delete(k);
      await p.close().catch(() => undefined);
    }
  }
}

/**
 * The streaming merge (stream.ts), where it can be tried: the merged dump
 * written while the full dump is read. Null where it is not tried (then the
 * present path: planMerge, then the write pass).
 */
async function startStream(full: string, incrementals: string[], out: string, force: boolean, direct: boolean): Promise<MergeStream | null> {
  if (full === '-' || incrementals.length === 0 || incrementals.length >= MAX_INPUTS || incrementals.includes('-')) return null;
  const real = (p: string) => decodedCopies.get(p) ?? p;
  const p = await predict(incrementals, incrementals.map(real));
  if (!p) return null;
  const fds = openAll([full, ...incrementals].map(real));
  if (!fds) return null;
  let output: AtomicOutput;
  try {
    // Refusals of the output (it exists...) come after planMerge's, as on the present path: it makes them again.
    // Direct I/O where the file system takes it (the disk writes the output as the scan goes), else write-behind.
    output = new AtomicOutput(out, { force, writeBehind: true, direct, bufferSize: STREAM_WINDOW });
  } catch {
    for (const fd of fds) closeSync(fd);
    return null;
  }
  return new MergeStream(output, [full, ...incrementals], fds, p);
}

/** The hash of the plan's entries in the write pass's order (MergeStream.finish compares it with what it wrote). */
function planHash(plan: MergePlan): EntryHash {
  const h = new EntryHash();
  const scratch: Entry = { slot: 0, unique: 0, src: 0, offset: 0, size: 0, data: 0, canonical: false };
  for (const t of [plan.large, plan.small]) for (const e of tableOrder(t, scratch)) h.addEntry(t.cls, e);
  return h;
}

async function mergeOpened(
  full: string, incrementals: string[], out: string, opts: { force?: boolean; gzip?: boolean; fs?: Partial<FileSystem>; stream?: boolean; direct?: boolean },
): Promise<MergeResult> {
  const gzip = opts.gzip || out.endsWith('.gz');
  const stream = !gzip && opts.fs === undefined && opts.stream !== false ? await startStream(full, incrementals, out, opts.force ?? false, opts.direct ?? true) : null;
  let plan: MergePlan;
  if (stream) {
    try {
      try {
        plan = await planMerge(full, incrementals, stream);
      } catch (e) {
        stream.kill();
        throw e;
      }
      await stream.settle();
      if (stream.finish(plan, planHash(plan))) {
        const bytes = stream.out.bytesWritten;
        stream.out.commit();
        return {
          output: out, bytes, header: plan.header, large: indexResult(plan.large), small: indexResult(plan.small),
          incrementals: plan.incrementals, warnings: plan.warnings,
        };
      }
    } catch (e) {
      stream.kill();
      throw e;
    } finally {
      for (const fd of stream.fds) closeSync(fd);
    }
  } else plan = await planMerge(full, incrementals);
  if (gzip) {
    const { writeDumpFile } = await import('../io/write-dump.js');
    const res = await writeDumpFile(out, mergedItems(plan), { force: opts.force ?? false, gzip: opts.gzip, fs: opts.fs });
    return {
      output: out, bytes: res.bytes, header: plan.header, large: indexResult(plan.large), small: indexResult(plan.small),
      incrementals: plan.incrementals, warnings: plan.warnings,
    };
  }
  // Write-behind: the disk writes the merged dump while it is copied, instead of all of it at commit's fsync.
  const output = new AtomicOutput(out, { force: opts.force ?? false, fs: opts.fs, writeBehind: true });
  let bytes: number;
  try {
    writeMerged(plan, output);
    bytes = output.bytesWritten;
    output.commit();
  } catch (e) {
    output.abort();
    throw e;
  }
  return {
    output: out, bytes, header: plan.header, large: indexResult(plan.large), small: indexResult(plan.small),
    incrementals: plan.incrementals, warnings: plan.warnings,
  };
}
