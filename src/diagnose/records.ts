/**
 * The records a walk found, in stream order, as columns of typed arrays.
 *
 * A dump of a million small files has a million vnode records: decoded,
 * each is a dozen objects and strings (the record, its version vector, its
 * data, the walk's own note of it), half a kilobyte a record. The table
 * keeps, of a plain vnode record (a file or symbolic link), only the
 * numbers diagnosis and repair plan with, 33 bytes a record in chunks that
 * grow without copying, and of a directory its entries packed (12 bytes an
 * entry and the bytes of its name); the record itself is decoded again from
 * the input when it is asked for (`get`, through VStream.decodeAtSync, from
 * a read-ahead window: cheap in stream order). The other records, and every
 * record of a stream that cannot be read again synchronously, are kept as
 * decoded.
 */
import { NameArena, PackedEntries } from '../check/checker.js';
import { scanDirectory } from '../dir/pages.js';
import type { DumpRecord, Vnode } from '../format/types.js';
import type { VStream } from './vstream.js';
import { usableVnode } from './resync.js';

/** A record the walk found, with where it lies in the true stream. */
export interface FoundRecord {
  rec: DumpRecord;
  /** Virtual start of the record and its end (including file data). */
  at: number;
  end: number;
  run: number;
  /** Every byte of the record, file data included, is readable. */
  complete: boolean;
  /** For a vnode with file data: readable bytes from the start of its data (contiguous). */
  dataReadable?: number;
  /** Found after the end marker (only when scanning past it). */
  afterEnd?: boolean;
  /**
   * Whole as far as its length goes, but not to be trusted: a sound record
   * starts inside its data ('overlap'), or the chain breaks right after it
   * where a seam of unknown position is known to exist ('seam').
   */
  suspect?: 'overlap' | 'seam';
}

const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/** Record kinds, as the table stores them. */
export const K_HEADER = 1;
export const K_VOLUME = 2;
export const K_INDEX = 3;
export const K_VNODE = 4;
export const K_RMVNODE = 5;
export const K_NULLVNODE = 6;
export const K_END = 7;
export const K_OTHER = 8;

const KIND: Record<DumpRecord['kind'], number> = {
  header: K_HEADER, volume: K_VOLUME, index: K_INDEX, vnode: K_VNODE, rmvnode: K_RMVNODE, nullvnode: K_NULLVNODE, end: K_END, trailing: K_OTHER,
};

/** Data kinds of a vnode. */
export const D_NONE = 0;
export const D_DIRPAGES = 1;
export const D_FILEDATA = 2;
export const D_BADINODE = 3;

const F_COMPLETE = 1;
const F_AFTER_END = 2;
const F_OVERLAP = 4;
const F_SEAM = 8;
/** The record is not kept: decode it again to see it. */
const F_COMPACT = 16;
/** usableVnode(rec). */
const F_USABLE = 32;

/** Offsets below 2^40 fit the `at` columns (a 32-bit low part and a byte). */
const AT_LIMIT = 2 ** 40;
const TWO32 = 2 ** 32;

class Chunk {
  /** The record's offset: its low 32 bits and the byte above them (`far` holds offsets from 2^40 on). */
  readonly atLow = new Uint32Array(CHUNK);
  readonly atHigh = new Uint8Array(CHUNK);
  /** end - at (`long` holds the ends of records 4 GiB long or more). */
  readonly len = new Uint32Array(CHUNK);
  readonly vnode = new Uint32Array(CHUNK);
  readonly unique = new Uint32Array(CHUNK);
  readonly parent = new Uint32Array(CHUNK);
  readonly parentUnique = new Uint32Array(CHUNK);
  /** File data length (FILEDATA count), or a directory's page count. */
  readonly dataLength = new Uint32Array(CHUNK);
  readonly flags = new Uint8Array(CHUNK);
  readonly kind = new Uint8Array(CHUNK);
  readonly type = new Uint8Array(CHUNK);
  readonly dataKind = new Uint8Array(CHUNK);
}

const DATA_KIND = { none: D_NONE, dirpages: D_DIRPAGES, filedata: D_FILEDATA, badinode: D_BADINODE } as const;

export class FoundRecords implements Iterable<FoundRecord> {
  length = 0;
  private readonly chunks: Chunk[] = [];
  /** Records kept as decoded, by index. */
  private readonly kept = new Map<number, DumpRecord>();
  /** dataReadable where it is not the whole data (records that are not complete). */
  private readonly readable = new Map<number, number>();
  /** The entries of usable directory records, packed (their pages are not kept). */
  private readonly dirs = new Map<number, PackedEntries>();
  private readonly arena = new NameArena();
  /** The ends of records whose length the 32-bit column cannot hold, by index. */
  private readonly long = new Map<number, number>();
  /** The offsets of records at 2^40 and beyond, by index. */
  private readonly far = new Map<number, number>();
  /**
   * The run of each record, as runs of records: record runStart[k] and
   * those after it, up to the next start, have run runValue[k] (a walk's
   * records come run after run: one entry a run, not 4 bytes a record).
   */
  private readonly runStart: number[] = [];
  private readonly runValue: number[] = [];

  /** @param vs the stream the records were decoded from (to decode them again). */
  constructor(private readonly vs: VStream | null) {}

  /** Add the record the walk found; returns its index. */
  push(f: FoundRecord): number {
    const i = this.length++;
    if ((i & IN_CHUNK) === 0) this.chunks.push(new Chunk());
    const c = this.chunks[i >> CHUNK_BITS];
    const j = i & IN_CHUNK;
    const r = f.rec;
    c.atLow[j] = f.at % TWO32;
    c.atHigh[j] = Math.floor(f.at / TWO32);
    if (!Number.isSafeInteger(f.at) || f.at < 0 || f.at >= AT_LIMIT) this.far.set(i, f.at);
    const len = f.end - f.at;
    c.len[j] = len;
    if (len >>> 0 !== len || f.at + len !== f.end) this.long.set(i, f.end);
    const runs = this.runValue.length;
    if (runs === 0 || this.runValue[runs - 1] !== f.run) {
      this.runStart.push(i);
      this.runValue.push(f.run);
    }
    c.kind[j] = KIND[r.kind];
    let flags = (f.complete ? F_COMPLETE : 0) | (f.afterEnd ? F_AFTER_END : 0) | (f.suspect === 'overlap' ? F_OVERLAP : f.suspect === 'seam' ? F_SEAM : 0);
    let keep = true;
    if (r.kind === 'vnode') {
      c.vnode[j] = r.vnode;
      c.unique[j] = r.unique;
      c.parent[j] = r.parent;
      c.parentUnique[j] = r.parentUnique;
      c.type[j] = r.type;
      c.dataKind[j] = DATA_KIND[r.data.kind];
      c.dataLength[j] = r.data.kind === 'filedata' ? r.data.length : r.data.kind === 'dirpages' ? r.data.count : 0;
      if (usableVnode(r)) {
        flags |= F_USABLE;
        if (r.data.kind === 'dirpages') this.dirs.set(i, new PackedEntries(r.data.pages, scanDirectory(r.data.pages), this.arena));
      }
      keep = this.vs === null || !this.vs.canReadSync || !fits(r);
    } else if (r.kind === 'rmvnode') {
      c.vnode[j] = r.vnode;
      c.unique[j] = r.unique;
    }
    if (keep) this.kept.set(i, r);
    else flags |= F_COMPACT;
    c.flags[j] = flags;
    if (f.dataReadable !== undefined && !(f.complete && r.kind === 'vnode' && r.data.kind === 'filedata' && f.dataReadable === r.data.length)) this.readable.set(i, f.dataReadable);
    return i;
  }

  private c(i: number): Chunk {
    return this.chunks[i >> CHUNK_BITS];
  }

  at(i: number): number {
    if (this.far.size > 0 && this.far.has(i)) return this.far.get(i)!;
    const c = this.c(i);
    const j = i & IN_CHUNK;
    return c.atHigh[j] * TWO32 + c.atLow[j];
  }
  end(i: number): number {
    return this.long.size > 0 && this.long.has(i) ? this.long.get(i)! : this.at(i) + this.c(i).len[i & IN_CHUNK];
  }
  run(i: number): number {
    const starts = this.runStart;
    let hi = starts.length - 1;
    if (i >= starts[hi]) return this.runValue[hi];
    let lo = 0;
    // The last start at or before i.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.runValue[lo];
  }
  /** K_HEADER .. K_OTHER. */
  kind(i: number): number {
    return this.c(i).kind[i & IN_CHUNK];
  }
  isVnode(i: number): boolean {
    return this.kind(i) === K_VNODE;
  }
  vnode(i: number): number {
    return this.c(i).vnode[i & IN_CHUNK];
  }
  unique(i: number): number {
    return this.c(i).unique[i & IN_CHUNK];
  }
  parent(i: number): number {
    return this.c(i).parent[i & IN_CHUNK];
  }
  parentUnique(i: number): number {
    return this.c(i).parentUnique[i & IN_CHUNK];
  }
  type(i: number): number {
    return this.c(i).type[i & IN_CHUNK];
  }
  /** D_NONE .. D_BADINODE. */
  dataKind(i: number): number {
    return this.c(i).dataKind[i & IN_CHUNK];
  }
  /** A vnode's file data length (FILEDATA), or page count (DIRPAGES). */
  dataLength(i: number): number {
    return this.c(i).dataLength[i & IN_CHUNK];
  }
  /** Where a vnode's file data starts (FILEDATA only). */
  dataStart(i: number): number {
    return this.end(i) - this.dataLength(i);
  }
  complete(i: number): boolean {
    return (this.c(i).flags[i & IN_CHUNK] & F_COMPLETE) !== 0;
  }
  afterEnd(i: number): boolean {
    return (this.c(i).flags[i & IN_CHUNK] & F_AFTER_END) !== 0;
  }
  suspect(i: number): 'overlap' | 'seam' | undefined {
    const f = this.c(i).flags[i & IN_CHUNK];
    return f & F_OVERLAP ? 'overlap' : f & F_SEAM ? 'seam' : undefined;
  }
  /** usableVnode() of a vnode record. */
  usable(i: number): boolean {
    return (this.c(i).flags[i & IN_CHUNK] & F_USABLE) !== 0;
  }
  dataReadable(i: number): number | undefined {
    const r = this.readable.get(i);
    if (r !== undefined) return r;
    return this.kind(i) === K_VNODE && this.dataKind(i) === D_FILEDATA ? this.dataLength(i) : undefined;
  }

  /** The entries of a usable directory record, in its pages' chain order. */
  entries(i: number): PackedEntries | undefined {
    return this.dirs.get(i);
  }

  /** Mark record i as not to be trusted (its data overlaps the next record, or may run across a seam). */
  setSuspect(i: number, why: 'overlap' | 'seam', dataReadable?: number): void {
    const c = this.c(i);
    const j = i & IN_CHUNK;
    c.flags[j] = (c.flags[j] & ~(F_COMPLETE | F_OVERLAP | F_SEAM)) | (why === 'overlap' ? F_OVERLAP : F_SEAM);
    if (dataReadable !== undefined) this.readable.set(i, dataReadable);
    else if (!this.readable.has(i) && this.dataKind(i) === D_FILEDATA && this.kind(i) === K_VNODE) this.readable.set(i, this.dataLength(i));
  }

  /** The record itself (decoded again when it was not kept). */
  rec(i: number): DumpRecord {
    const r = this.kept.get(i);
    if (r !== undefined) return r;
    return this.vs!.decodeAtSync(this.at(i));
  }

  /** A vnode record (decoded again when it was not kept). */
  vnodeRec(i: number): Vnode {
    return this.rec(i) as Vnode;
  }

  /** Record i as the walk found it (a new object each time: change it through the table). */
  get(i: number): FoundRecord {
    const f: FoundRecord = { rec: this.rec(i), at: this.at(i), end: this.end(i), run: this.run(i), complete: this.complete(i) };
    if (this.afterEnd(i)) f.afterEnd = true;
    const d = this.dataReadable(i);
    if (d !== undefined) f.dataReadable = d;
    const s = this.suspect(i);
    if (s) f.suspect = s;
    return f;
  }

  *[Symbol.iterator](): Iterator<FoundRecord> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  map<T>(fn: (f: FoundRecord, i: number) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(fn(this.get(i), i));
    return out;
  }

  find(fn: (f: FoundRecord, i: number) => boolean): FoundRecord | undefined {
    for (let i = 0; i < this.length; i++) {
      const f = this.get(i);
      if (fn(f, i)) return f;
    }
    return undefined;
  }

  some(fn: (f: FoundRecord, i: number) => boolean): boolean {
    return this.find(fn) !== undefined;
  }

  filter(fn: (f: FoundRecord, i: number) => boolean): FoundRecord[] {
    const out: FoundRecord[] = [];
    for (let i = 0; i < this.length; i++) {
      const f = this.get(i);
      if (fn(f, i)) out.push(f);
    }
    return out;
  }
}

/** The numbers the table holds fit its columns (always for decoded records). */
function fits(r: Vnode): boolean {
  const u32 = (x: number) => x >>> 0 === x;
  return u32(r.vnode) && u32(r.unique) && u32(r.parent) && u32(r.parentUnique) && (r.type & 255) === r.type && (r.data.kind !== 'filedata' || u32(r.data.length));
}
