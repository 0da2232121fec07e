/**
 * Packed forms of what the tree model reads, for dumps of a million vnodes
 * (issue #17): directory entries in typed arrays with their names in shared
 * buffers, and a table from (vnode, uniquifier) pairs to flags and a number,
 * in typed arrays: no string key, no object and no string per entry.
 */
import type { DirEntry } from '../dir/pages.js';
import type { EntryList } from './tree.js';

/** Bytes of names in one buffer of a NameStore (a longer list of names gets a buffer of its own). */
const NAME_CHUNK = 1 << 20;

/** Directory entry names, one after another, in buffers of 1 MiB. */
export class NameStore {
  private buf = Buffer.alloc(0);
  private used = 0;

  /** Room for `n` bytes: the buffer, and where they go in it. */
  take(n: number): [Buffer, number] {
    if (this.used + n > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(NAME_CHUNK, n));
      this.used = 0;
    }
    const at = this.used;
    this.used += n;
    return [this.buf, at];
  }
}

export function byName(a: DirEntry, b: DirEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Bits of an entry's name start (from the list's first name) in the 3-word form. */
const REL_BITS = 22;
const REL_MASK = (1 << REL_BITS) - 1;
/** Longest name the 3-word form holds (9 bits). */
const SHORT_NAME = 511;

/**
 * A directory's entries, packed: vnode, uniquifier and where the name is,
 * three numbers an entry (the name's start from the list's first name,
 * 22 bits, its length, 9 bits, and a bit for `.` and `..`; a list whose
 * names do not fit that takes four numbers an entry: start, then length
 * and the bit), and the names' bytes in a NameStore. `sorted`: sorted by
 * name (a stable sort: equal names keep their order in the pages); else in
 * the order given.
 */
export class PackedEntries implements EntryList {
  readonly count: number;
  /** vnode, uniquifier, then where the name is (one number, or two: see the class). */
  private readonly ids: Uint32Array;
  /** Numbers an entry: 3 or 4. */
  private readonly stride: number;
  private readonly names: Buffer;
  /** Where the first name starts in `names`. */
  private readonly start: number;

  constructor(entries: readonly DirEntry[], store: NameStore, sort = false) {
    const sorted = sort ? [...entries].sort(byName) : entries;
    const count = (this.count = sorted.length);
    let bytes = 0;
    let longest = 0;
    for (const e of sorted) {
      bytes += e.name.length;
      if (e.name.length > longest) longest = e.name.length;
    }
    const stride = (this.stride = bytes <= REL_MASK && longest <= SHORT_NAME ? 3 : 4);
    const ids = (this.ids = new Uint32Array(stride * count));
    const [names, start] = store.take(bytes);
    this.names = names;
    this.start = start;
    let at = start;
    for (let k = 0; k < count; k++) {
      const e = sorted[k];
      const n = e.name;
      names.write(n, at, 'latin1');
      const dot = n === '.' || n === '..' ? 0x80000000 : 0;
      ids[stride * k] = e.vnode;
      ids[stride * k + 1] = e.unique;
      if (stride === 3) ids[3 * k + 2] = ((at - start) | (n.length << REL_BITS) | dot) >>> 0;
      else {
        ids[4 * k + 2] = at;
        ids[4 * k + 3] = (n.length | dot) >>> 0;
      }
      at += n.length;
    }
  }

  vnode(k: number): number {
    return this.ids[this.stride * k];
  }

  unique(k: number): number {
    return this.ids[this.stride * k + 1];
  }

  /** Where entry k's name starts in `names`. */
  private nameAt(k: number): number {
    return this.stride === 3 ? this.start + (this.ids[3 * k + 2] & REL_MASK) : this.ids[4 * k + 2];
  }

  private nameLength(k: number): number {
    return this.stride === 3 ? (this.ids[3 * k + 2] >>> REL_BITS) & SHORT_NAME : this.ids[4 * k + 3] & 0x7fffffff;
  }

  name(k: number): string {
    const at = this.nameAt(k);
    return this.names.toString('latin1', at, at + this.nameLength(k));
  }

  isDot(k: number): boolean {
    return this.ids[this.stride * k + this.stride - 1] >>> 31 === 1;
  }

  /** True when entry k has the same name as entry k - 1 (names that come twice are next to each other). */
  sameNameAsPrevious(k: number): boolean {
    if (k === 0) return false;
    const len = this.nameLength(k);
    if (this.nameLength(k - 1) !== len) return false;
    const a = this.nameAt(k);
    const b = this.nameAt(k - 1);
    return this.names.compare(this.names, b, b + len, a, a + len) === 0;
  }
}

const isU32 = (x: number): boolean => x >>> 0 === x;

/** PairTable.reserve makes room for at most this many pairs at once (callers pass counts of what they hold, but still). */
const MAX_RESERVE = 1 << 24;

/**
 * (vnode, uniquifier) -> two bits of flags and a number (-1 until set), by
 * open addressing in typed arrays: 13 bytes a slot, at most three quarters
 * of them used, grown by doubling as pairs are added (never sized from a
 * count the input declares), or sized once with `reserve` (any number of
 * slots: a million pairs take 1.33 million slots, not the 2^21 doubling
 * gives, and no copy). Pairs that are not two 32-bit numbers (never
 * decoded, possible in hand-made records) go to an ordinary map.
 */
export class PairTable {
  private vnodes = new Uint32Array(1024);
  private uniques = new Uint32Array(1024);
  private values = new Int32Array(1024).fill(-1);
  /** 0: an empty slot; else flags | 4 (in use). */
  private flags = new Uint8Array(1024);
  private size = 1024;
  private count = 0;
  private other: Map<string, { flags: number; value: number }> | undefined;

  /** A slot from the pair's hash: the hash's 32 bits scaled to the table's size. */
  private hash(vnode: number, unique: number): number {
    let h = Math.imul(vnode, 0x9e3779b1) ^ Math.imul(unique ^ (unique >>> 15), 0x85ebca6b);
    h ^= h >>> 16;
    return Math.floor(((h >>> 0) * this.size) / 4294967296);
  }

  /** The slot of the pair, or -1 (`add`: made when missing). */
  private slot(vnode: number, unique: number, add: boolean): number {
    const size = this.size;
    for (let s = this.hash(vnode, unique); ; s = s + 1 === size ? 0 : s + 1) {
      if (this.flags[s] === 0) {
        if (!add) return -1;
        this.vnodes[s] = vnode;
        this.uniques[s] = unique;
        this.values[s] = -1;
        this.flags[s] = 4;
        if (++this.count * 4 > size * 3) {
          this.resize(size * 2);
          return this.slot(vnode, unique, false);
        }
        return s;
      }
      if (this.vnodes[s] === vnode && this.uniques[s] === unique) return s;
    }
  }

  /** Room for `n` more pairs (at most MAX_RESERVE) without growing: the table is resized once, now, if it must be. */
  reserve(n: number): void {
    const want = Math.ceil(((this.count + Math.min(Math.max(n, 0), MAX_RESERVE)) * 4) / 3) + 1;
    if (want > this.size) this.resize(want);
  }

  private resize(size: number): void {
    const { vnodes, uniques, values, flags } = this;
    this.vnodes = new Uint32Array(size);
    this.uniques = new Uint32Array(size);
    this.values = new Int32Array(size).fill(-1);
    this.flags = new Uint8Array(size);
    this.size = size;
    for (let i = 0; i < flags.length; i++) {
      if (flags[i] === 0) continue;
      let s = this.hash(vnodes[i], uniques[i]);
      while (this.flags[s] !== 0) s = s + 1 === size ? 0 : s + 1;
      this.vnodes[s] = vnodes[i];
      this.uniques[s] = uniques[i];
      this.values[s] = values[i];
      this.flags[s] = flags[i];
    }
  }

  private odd(vnode: number, unique: number, add: boolean): { flags: number; value: number } | undefined {
    const key = `${vnode}.${unique}`;
    let e = this.other?.get(key);
    if (!e && add) (this.other ??= new Map()).set(key, (e = { flags: 0, value: -1 }));
    return e;
  }

  /** The pair's flags (0: never added). */
  flagsOf(vnode: number, unique: number): number {
    if (!isU32(vnode) || !isU32(unique)) return this.odd(vnode, unique, false)?.flags ?? 0;
    const s = this.slot(vnode, unique, false);
    return s < 0 ? 0 : this.flags[s] & 3;
  }

  /** Set flags on the pair (added if missing). */
  mark(vnode: number, unique: number, flags: number): void {
    if (!isU32(vnode) || !isU32(unique)) {
      this.odd(vnode, unique, true)!.flags |= flags;
      return;
    }
    const s = this.slot(vnode, unique, true); // first: adding may grow the arrays
    this.flags[s] |= flags;
  }

  /** The pair's number (-1: none set, or never added). */
  value(vnode: number, unique: number): number {
    if (!isU32(vnode) || !isU32(unique)) return this.odd(vnode, unique, false)?.value ?? -1;
    const s = this.slot(vnode, unique, false);
    return s < 0 ? -1 : this.values[s];
  }

  /** Set the pair's number (added if missing). */
  setValue(vnode: number, unique: number, value: number): void {
    if (!isU32(vnode) || !isU32(unique)) {
      this.odd(vnode, unique, true)!.value = value;
      return;
    }
    const s = this.slot(vnode, unique, true); // first: adding may grow the arrays
    this.values[s] = value;
  }
}
