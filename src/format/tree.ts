/**
 * The volume tree: vnodes by (vnode, uniquifier), the entries of their
 * directories, parent links, reachability from the root (vnode 1), the
 * path of every vnode reached, and what no chain from the root reaches.
 * One walk for every module that needs the tree (verify's checks, path
 * listings, extract, repair).
 *
 * The model reads the vnodes through `TreeSource`, by index, and keeps what
 * it learns in typed arrays: a source may hold its vnodes as objects
 * (`ObjectSource`) or packed in columns (verify's checker, hundreds of
 * thousands of vnodes), and the walk makes no object or string per entry.
 *
 * Reachability is breadth first from the root, entries in the order the
 * source gives them: a vnode is reached through the first entry naming it
 * (its home); `.` and `..` are never followed; a second name for a vnode (a
 * hard link, a directory named twice, a loop) does not reach it again.
 */
import { vnodeKey } from '../diagnostics/finding.js';
import type { DirEntry } from '../dir/pages.js';

export { vnodeKey } from '../diagnostics/finding.js';

/** The entries of one directory, by position. */
export interface EntryList {
  readonly count: number;
  vnode(k: number): number;
  unique(k: number): number;
  /** The name as a binary string (one char per byte). */
  name(k: number): string;
  /** True for `.` and `..`. */
  isDot(k: number): boolean;
}

/** The vnodes of a volume, by index 0 .. size - 1. */
export interface TreeSource {
  readonly size: number;
  vnode(i: number): number;
  unique(i: number): number;
  /** The index of the vnode with this pair (the last one, if the pair comes twice), or -1. */
  find(vnode: number, unique: number): number;
  /** The entries of vnode i: undefined when it is not a directory (or its entries are not known). */
  entries(i: number): EntryList | undefined;
  /** Parent link of vnode i (the vnode record's parent fields), if the source knows them. */
  parent?(i: number): number;
  parentUnique?(i: number): number;
  /** find(vnode(i), unique(i)), when the source knows it faster. */
  canonical?(i: number): number;
  /** True when no two vnodes have the same pair (then vnode i stands for itself: canonical(i) = i). */
  readonly distinct?: boolean;
}

/** What a walk tells its caller about each entry it reads (every method optional). */
export interface TreeVisitor {
  /**
   * Entry k of directory `dir` (never `.` or `..`), naming vnode `child`
   * (-1: no vnode of the source has the pair: a dangling entry). `seen`: the
   * child was reached before. Return false to keep the walk from following
   * this entry (the child stays unreached unless another entry reaches it).
   */
  entry?(dir: number, list: EntryList, k: number, child: number, seen: boolean): boolean | void;
  /** Entry k of `dir` names no vnode of the source (after `entry`, if it did not refuse the entry). */
  dangling?(dir: number, list: EntryList, k: number): void;
  /** Entry k of `dir` is `.` or `..` (never followed). */
  dot?(dir: number, list: EntryList, k: number): void;
}

/** Where a chain of parent links from a vnode ends. */
export interface ParentChain {
  /** The vnodes climbed through, from the vnode itself up (indexes). */
  chain: number[];
  /** 'root': at vnode 1; 'missing': a parent that is not in the source; 'loop': back at a vnode of the chain. */
  end: 'root' | 'missing' | 'loop';
}

export class VolumeTree {
  readonly size: number;
  /** Index of the root (the first vnode numbered 1), or -1. */
  readonly root: number;
  /** 1 at the canonical index of every vnode reached. */
  private readonly reached: Uint8Array;
  /** The directory whose entry first reached a vnode (-1: not reached that way), and that entry. */
  private readonly homeDir: Int32Array;
  private readonly homeEntry: Int32Array;
  private pathCache: (string | undefined)[] | undefined;

  constructor(readonly source: TreeSource) {
    const n = (this.size = source.size);
    let root = 0;
    while (root < n && source.vnode(root) !== 1) root++;
    this.root = root < n ? root : -1;
    this.reached = new Uint8Array(n);
    this.homeDir = new Int32Array(n).fill(-1);
    this.homeEntry = new Int32Array(n).fill(-1);
  }

  /** A tree of vnode objects, walked from the root at once. */
  static of(vnodes: readonly TreeVnode[]): VolumeTree {
    const t = new VolumeTree(new ObjectSource(vnodes));
    t.walkFromRoot();
    return t;
  }

  /** find(vnode(i), unique(i)): the index that stands for vnode i's pair. */
  canonical(i: number): number {
    const s = this.source;
    if (s.distinct === true) return i;
    return s.canonical ? s.canonical(i) : s.find(s.vnode(i), s.unique(i));
  }

  /** Walk from the root; false when there is none. */
  walkFromRoot(visitor?: TreeVisitor): boolean {
    if (this.root < 0) return false;
    this.walk(this.root, visitor);
    return true;
  }

  /**
   * Breadth first from `start` (its own entries, whichever vnode has its
   * pair), marking what it reaches. Walks add up: a later walk (from an
   * orphan) does not reach again what an earlier one reached.
   */
  walk(start: number, visitor: TreeVisitor = {}): void {
    const src = this.source;
    const reached = this.reached;
    // Which callbacks there are, once: verify's checks want only dangling entries.
    const onEntry = visitor.entry !== undefined;
    const onDangling = visitor.dangling !== undefined;
    const onDot = visitor.dot !== undefined;
    this.pathCache = undefined;
    const s = this.canonical(start);
    if (s >= 0) reached[s] = 1;
    const queue = [start];
    for (let q = 0; q < queue.length; q++) {
      const dir = queue[q];
      const list = src.entries(dir);
      if (!list) continue;
      for (let k = 0; k < list.count; k++) {
        if (list.isDot(k)) {
          if (onDot) visitor.dot!(dir, list, k);
          continue;
        }
        const c = src.find(list.vnode(k), list.unique(k));
        const seen = c >= 0 && reached[c] === 1;
        if (onEntry && visitor.entry!(dir, list, k, c, seen) === false) continue;
        if (c < 0) {
          if (onDangling) visitor.dangling!(dir, list, k);
          continue;
        }
        if (seen) continue;
        reached[c] = 1;
        this.homeDir[c] = dir;
        this.homeEntry[c] = k;
        if (src.entries(c) !== undefined) queue.push(c);
      }
    }
  }

  /** Some walk reached vnode i (or the vnode that has its pair). */
  isReached(i: number): boolean {
    const c = this.canonical(i);
    return c >= 0 && this.reached[c] === 1;
  }

  /** The directory whose entry reached vnode i, and that entry's position; null for a walk's start or what no walk reached. */
  home(i: number): { dir: number; entry: number } | null {
    const c = this.canonical(i);
    if (c < 0 || this.homeDir[c] < 0) return null;
    return { dir: this.homeDir[c], entry: this.homeEntry[c] };
  }

  /**
   * Path of vnode i from the start of the walk that reached it: names joined
   * by `/` (binary strings), '' for the start itself; null when no walk
   * reached it.
   */
  path(i: number): string | null {
    const c = this.canonical(i);
    if (c < 0 || this.reached[c] !== 1) return null;
    const cache = (this.pathCache ??= []);
    const up: number[] = [];
    let p = c;
    while (cache[p] === undefined && this.homeDir[p] >= 0) {
      up.push(p);
      p = this.canonical(this.homeDir[p]);
    }
    let base = cache[p] ?? (cache[p] = '');
    for (let j = up.length - 1; j >= 0; j--) {
      const v = up[j];
      const name = this.source.entries(this.homeDir[v])!.name(this.homeEntry[v]);
      base = cache[v] = base === '' ? name : `${base}/${name}`;
    }
    return base;
  }

  /** Indexes of the vnodes no walk reached, in source order. */
  unreached(): number[] {
    const out: number[] = [];
    this.forEachUnreached((i) => out.push(i));
    return out;
  }

  /** Call `lost(i)` for every vnode no walk reached, in source order (no array made). */
  forEachUnreached(lost: (i: number) => void): void {
    const reached = this.reached;
    if (this.source.distinct === true) {
      for (let i = 0; i < this.size; i++) if (reached[i] === 0) lost(i);
    } else {
      for (let i = 0; i < this.size; i++) if (!this.isReached(i)) lost(i);
    }
  }

  /**
   * The tops of what no walk reached: unreached vnodes that no entry of
   * another unreached directory names. Empty when the unreached directories
   * only name each other in a loop.
   */
  orphanTops(): number[] {
    const src = this.source;
    const lost = this.unreached();
    const named = new Uint8Array(this.size);
    for (const d of lost) {
      const list = src.entries(d);
      if (!list) continue;
      const self = this.canonical(d);
      for (let k = 0; k < list.count; k++) {
        if (list.isDot(k)) continue;
        const c = src.find(list.vnode(k), list.unique(k));
        if (c >= 0 && c !== self && this.reached[c] === 0) named[c] = 1;
      }
    }
    return lost.filter((i) => named[this.canonical(i)] === 0);
  }

  /** The vnode vnode i's parent link names (-1: none in the source, or the source has no parent links). */
  parentOf(i: number): number {
    const s = this.source;
    if (!s.parent || !s.parentUnique) return -1;
    return s.find(s.parent(i), s.parentUnique(i));
  }

  /**
   * Call `missing(i)` for every vnode but the root whose parent link names
   * no vnode of the source, in source order. The look-up is made once for a
   * run of vnodes with the same parent (vnodes of one directory often follow
   * each other).
   */
  forEachMissingParent(missing: (i: number) => void): void {
    const s = this.source;
    if (!s.parent || !s.parentUnique) return;
    let parent = NaN;
    let parentUnique = NaN;
    let found = false;
    for (let i = 0; i < this.size; i++) {
      if (s.vnode(i) === 1) continue;
      const p = s.parent(i);
      const pu = s.parentUnique(i);
      if (p !== parent || pu !== parentUnique) {
        parent = p;
        parentUnique = pu;
        found = s.find(p, pu) >= 0;
      }
      if (!found) missing(i);
    }
  }

  /** Climb the parent links from vnode i until the root, a parent not in the source, or a loop. */
  climb(i: number): ParentChain {
    const chain: number[] = [];
    const on = new Set<number>();
    let p = this.canonical(i);
    if (p < 0) p = i;
    for (;;) {
      if (on.has(p)) return { chain, end: 'loop' };
      chain.push(p);
      on.add(p);
      if (this.source.vnode(p) === 1) return { chain, end: 'root' };
      const up = this.parentOf(p);
      if (up < 0) return { chain, end: 'missing' };
      p = up;
    }
  }
}

/** A vnode as ObjectSource holds it. */
export interface TreeVnode {
  vnode: number;
  unique: number;
  /** A directory's entries (absent: not a directory, or its pages are not known). */
  entries?: readonly DirEntry[];
  parent?: number;
  parentUnique?: number;
}

/** Entries held as objects (one EntryList a directory, none an entry). */
export class DirEntryList implements EntryList {
  readonly count: number;
  constructor(readonly list: readonly DirEntry[]) {
    this.count = list.length;
  }
  vnode(k: number): number {
    return this.list[k].vnode;
  }
  unique(k: number): number {
    return this.list[k].unique;
  }
  name(k: number): string {
    return this.list[k].name;
  }
  isDot(k: number): boolean {
    const n = this.list[k].name;
    return n === '.' || n === '..';
  }
}

/**
 * Vnodes held as objects, found by `vnodeKey`: the last of the first
 * `indexed` vnodes with a pair stands for it (default: all of them).
 */
export class ObjectSource<V extends TreeVnode = TreeVnode> implements TreeSource {
  readonly size: number;
  private readonly byKey = new Map<string, number>();
  private readonly lists: (EntryList | undefined)[];

  constructor(readonly vnodes: readonly V[], indexed = vnodes.length, entriesOf: (v: V) => EntryList | undefined = defaultEntries) {
    this.size = vnodes.length;
    for (let i = 0; i < indexed; i++) this.byKey.set(vnodeKey(vnodes[i].vnode, vnodes[i].unique), i);
    this.lists = vnodes.map(entriesOf);
  }

  vnode(i: number): number {
    return this.vnodes[i].vnode;
  }
  unique(i: number): number {
    return this.vnodes[i].unique;
  }
  find(vnode: number, unique: number): number {
    return this.byKey.get(vnodeKey(vnode, unique)) ?? -1;
  }
  /** The index of the vnode with this key, or -1. */
  index(key: string): number {
    return this.byKey.get(key) ?? -1;
  }
  entries(i: number): EntryList | undefined {
    return this.lists[i];
  }
  parent(i: number): number {
    return this.vnodes[i].parent ?? NaN;
  }
  parentUnique(i: number): number {
    return this.vnodes[i].parentUnique ?? NaN;
  }
}

function defaultEntries(v: TreeVnode): EntryList | undefined {
  return v.entries ? new DirEntryList(v.entries) : undefined;
}
