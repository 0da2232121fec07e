/**
 * The vnodes that survive whole, as record indexes into the walk's table
 * (records.ts), found by (vnode, uniquifier) through a binary search in runs
 * of increasing vnode numbers (or an open-addressing table of typed arrays),
 * with their directories' entries packed (no object or string per entry)
 * and their paths from the one volume tree model, made when asked for. A Survivor object is made only when one is read
 * whole (`get`, iteration).
 */
import type { PackedEntries } from '../check/checker.js';
import { VolumeTree, type EntryList, type TreeSource } from '../format/tree.js';
import type { Vnode } from '../format/types.js';
import type { FoundRecords } from './records.js';
import type { FileRange, VStream } from './vstream.js';
import type { FoundRecord } from './records.js';

/** A vnode that survives whole, with where its record came from. */
export interface Survivor {
  found: FoundRecord;
  vnode: Vnode;
  path: string | null;
  from: FileRange[];
}

/** Most slots a PairMap reserves from a count it is given. */
const MAX_RESERVE = 1 << 21;

/**
 * (vnode, uniquifier) -> a non-negative number, in typed arrays (open
 * addressing, linear probing), no string key per vnode: a slot holds the
 * value and the vnode number (8 bytes); the uniquifier of a value is read
 * through `uniqueOf` (the caller's columns). Both numbers of a pair must be
 * 32-bit unsigned (decoded ones always are).
 */
export class PairMap {
  private vnodes: Uint32Array;
  /** -1: empty. */
  private values: Int32Array;
  private mask: number;
  size = 0;

  constructor(
    private readonly uniqueOf: (value: number) => number,
    expected = 0,
  ) {
    let cap = 1024;
    const want = Math.min(expected, MAX_RESERVE);
    while (want * 8 > cap * 5) cap *= 2;
    this.vnodes = new Uint32Array(cap);
    this.values = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  private slot(vnode: number, unique: number): number {
    let h = Math.imul(vnode, 0x9e3779b1) ^ Math.imul(unique ^ (unique >>> 15), 0x85ebca6b);
    h ^= h >>> 16;
    return h & this.mask;
  }

  /** The value of the pair, or -1. */
  get(vnode: number, unique: number): number {
    if (vnode >>> 0 !== vnode || unique >>> 0 !== unique) return -1;
    const { vnodes, values, mask } = this;
    for (let s = this.slot(vnode, unique); ; s = (s + 1) & mask) {
      const v = values[s];
      if (v < 0) return -1;
      if (vnodes[s] === vnode && this.uniqueOf(v) === unique) return v;
    }
  }

  /** Give a pair that is not in the map a value (value >= 0; its uniquifier is uniqueOf(value)). */
  add(vnode: number, value: number): void {
    const { vnodes, values, mask } = this;
    let s = this.slot(vnode, this.uniqueOf(value));
    while (values[s] >= 0) s = (s + 1) & mask;
    vnodes[s] = vnode;
    values[s] = value;
    if (++this.size * 8 > mask * 5) this.grow();
  }

  /** Set the pair's value, replacing the one it has (value >= 0; its uniquifier is uniqueOf(value)). */
  set(vnode: number, unique: number, value: number): void {
    const { vnodes, values, mask } = this;
    for (let s = this.slot(vnode, unique); values[s] >= 0; s = (s + 1) & mask) {
      if (vnodes[s] === vnode && this.uniqueOf(values[s]) === unique) {
        values[s] = value;
        return;
      }
    }
    this.add(vnode, value);
  }

  private grow(): void {
    const { vnodes, values } = this;
    const cap = values.length * 2;
    this.vnodes = new Uint32Array(cap);
    this.values = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let i = 0; i < values.length; i++) {
      if (values[i] < 0) continue;
      let s = this.slot(vnodes[i], this.uniqueOf(values[i]));
      while (this.values[s] >= 0) s = (s + 1) & this.mask;
      this.vnodes[s] = vnodes[i];
      this.values[s] = values[i];
    }
  }
}

/** Runs of increasing vnode numbers RunPairMap searches before it turns to a PairMap. */
const MAX_RUNS = 8;

/**
 * (vnode, uniquifier) -> value, for values 0, 1, 2... added in turn, each
 * pair once. While the values' vnode numbers form at most MAX_RUNS runs of
 * strictly increasing numbers (a full dump read in order has two: the large
 * index's, then the small one's), a pair is found by a binary search in each
 * run (a number comes at most once in a run): no memory beyond the caller's
 * columns. Past that (an incremental dump, a disordered or damaged one) it
 * puts the values so far into a PairMap and uses it from then on.
 */
export class RunPairMap {
  private map: PairMap | undefined;
  /** First value of each run; the last run ends at `size`. */
  private readonly runs: number[] = [];
  size = 0;
  private last = -1;

  constructor(
    private readonly vnodeOf: (value: number) => number,
    private readonly uniqueOf: (value: number) => number,
  ) {}

  /** The value of the pair, or -1. */
  get(vnode: number, unique: number): number {
    if (this.map) return this.map.get(vnode, unique);
    if (vnode >>> 0 !== vnode || unique >>> 0 !== unique) return -1;
    const { runs } = this;
    for (let r = runs.length - 1; r >= 0; r--) {
      let lo = runs[r];
      let hi = (r + 1 < runs.length ? runs[r + 1] : this.size) - 1;
      if (hi < lo || vnode < this.vnodeOf(lo) || vnode > this.vnodeOf(hi)) continue;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = this.vnodeOf(mid);
        if (v < vnode) lo = mid + 1;
        else if (v > vnode) hi = mid - 1;
        else {
          if (this.uniqueOf(mid) === unique) return mid;
          break;
        }
      }
    }
    return -1;
  }

  /** Add the next value (`size`), whose pair is not in the map yet. */
  add(vnode: number, value: number): void {
    if (value !== this.size) throw new RangeError(`RunPairMap: value ${value} added as number ${this.size}`);
    this.size++;
    if (this.map) return this.map.add(vnode, value);
    if (this.runs.length === 0 || vnode <= this.last) {
      this.runs.push(value);
      if (this.runs.length > MAX_RUNS) {
        const map = (this.map = new PairMap(this.uniqueOf, this.size));
        for (let j = 0; j < this.size; j++) map.add(this.vnodeOf(j), j);
        return;
      }
    }
    this.last = vnode;
  }
}

export class SurvivorList implements Iterable<Survivor>, TreeSource {
  /** Survivor j is record `recordOf[j]`. */
  private recordOf: Uint32Array;
  size = 0;
  private readonly pairs: RunPairMap;
  private readonly dirs = new Map<number, PackedEntries>();
  private tree: VolumeTree | null = null;
  readonly distinct = true;

  constructor(
    readonly records: FoundRecords,
    private readonly vs: VStream,
  ) {
    this.recordOf = new Uint32Array(Math.min(records.length, 1 << 16) || 1);
    this.pairs = new RunPairMap(
      (j) => records.vnode(this.recordOf[j]),
      (j) => records.unique(this.recordOf[j]),
    );
  }

  get length(): number {
    return this.size;
  }

  /** Add record i unless its pair survives already; false when it does. */
  add(i: number): boolean {
    const r = this.records;
    const v = r.vnode(i);
    const u = r.unique(i);
    if (this.pairs.get(v, u) >= 0) return false;
    const j = this.size++;
    if (j === this.recordOf.length) {
      const more = new Uint32Array(Math.min(this.recordOf.length * 2, r.length));
      more.set(this.recordOf);
      this.recordOf = more;
    }
    this.recordOf[j] = i;
    this.pairs.add(v, j);
    if (r.type(i) === 2) {
      const e = r.entries(i);
      if (e) this.dirs.set(j, e);
    }
    return true;
  }

  /** The record index of survivor j. */
  record(j: number): number {
    return this.recordOf[j];
  }

  /** The survivor with this pair, or -1. */
  find(vnode: number, unique: number): number {
    return this.pairs.get(vnode, unique);
  }

  has(vnode: number, unique: number): boolean {
    return this.pairs.get(vnode, unique) >= 0;
  }

  vnode(j: number): number {
    return this.records.vnode(this.recordOf[j]);
  }
  unique(j: number): number {
    return this.records.unique(this.recordOf[j]);
  }
  type(j: number): number {
    return this.records.type(this.recordOf[j]);
  }
  parent(j: number): number {
    return this.records.parent(this.recordOf[j]);
  }
  parentUnique(j: number): number {
    return this.records.parentUnique(this.recordOf[j]);
  }
  /** A surviving directory's entries (in its pages' chain order). */
  entries(j: number): EntryList | undefined {
    return this.dirs.get(j);
  }

  /** The volume tree of the survivors, walked from the root (made once). */
  private walked(): VolumeTree {
    if (!this.tree) {
      this.tree = new VolumeTree(this);
      this.tree.walkFromRoot();
    }
    return this.tree;
  }

  /** Survivor j's path from the surviving directories ('.' for the root), or null when no chain from the root reaches it. */
  path(j: number): string | null {
    const t = this.walked();
    return j === t.root ? '.' : t.path(j);
  }

  /** File ranges of survivor j's whole record. */
  from(j: number): FileRange[] {
    const i = this.recordOf[j];
    return this.vs.fileRanges(this.records.at(i), this.records.end(i));
  }

  /** Survivor j, whole (a new object each time). */
  get(j: number): Survivor {
    const found = this.records.get(this.recordOf[j]);
    return { found, vnode: found.rec as Vnode, path: this.path(j), from: this.from(j) };
  }

  /** How many survivors `pred` holds for (by index: nothing is decoded). */
  count(pred: (j: number) => boolean): number {
    let n = 0;
    for (let j = 0; j < this.size; j++) if (pred(j)) n++;
    return n;
  }

  *[Symbol.iterator](): Iterator<Survivor> {
    for (let j = 0; j < this.size; j++) yield this.get(j);
  }

  map<T>(fn: (s: Survivor, j: number) => T): T[] {
    const out: T[] = [];
    for (let j = 0; j < this.size; j++) out.push(fn(this.get(j), j));
    return out;
  }

  filter(fn: (s: Survivor, j: number) => boolean): Survivor[] {
    const out: Survivor[] = [];
    for (let j = 0; j < this.size; j++) {
      const s = this.get(j);
      if (fn(s, j)) out.push(s);
    }
    return out;
  }
}
