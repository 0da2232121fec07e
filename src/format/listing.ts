/** `ls`: every vnode with its path, in path order, like `tar tv`. */
import { decodeDirectory } from '../dir/pages.js';
import { VNODE_DIR, VNODE_SYMLINK } from './constants.js';
import { DumpError } from './errors.js';
import { NameStore, PackedEntries, PairTable } from './packed.js';
import type { DumpReader } from './reader.js';
import { VolumeTree, type EntryList, type TreeSource } from './tree.js';
import { typeName, type VnodeTypeName } from './types.js';

export interface ListEntry {
  path: string;
  vnode: number;
  unique: number;
  type: VnodeTypeName;
  mode: number;
  size: number;
  mtime: number;
  owner: number;
  target?: string;
}

export interface Listing {
  entries: ListEntry[];
  unreachable: { vnode: number; unique: number }[];
}

/** The whole listing in memory (paths sorted); `forEachListed` gives the same entries one at a time. */
export async function listDump(reader: DumpReader): Promise<Listing> {
  const entries: ListEntry[] = [];
  const unreachable = await forEachListed(reader, (e) => {
    entries.push(e);
  });
  return { entries, unreachable };
}

/** Largest symbolic link target read into memory. */
const MAX_TARGET = 64 << 10;

const isU32 = (x: number): boolean => x >>> 0 === x;

/** Runs of increasing vnode numbers searched before a pair table is made instead. */
const MAX_RUNS = 8;

const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/** What a listing shows of 8,192 vnodes, in columns (18 bytes a vnode). */
class ListChunk {
  readonly vnode = new Uint32Array(CHUNK);
  readonly unique = new Uint32Array(CHUNK);
  /** The vnode's (type, mode, owner), by number in the Attributes table. */
  readonly attr = new Uint16Array(CHUNK);
  readonly mtime = new Uint32Array(CHUNK);
  readonly size = new Uint32Array(CHUNK);
}

/** Most distinct (type, mode, owner) the table numbers; a vnode with another one is kept as given. */
const MAX_ATTRS = 1 << 16;

/**
 * The distinct (type, mode, owner) of a volume's vnodes, numbered: a
 * volume has few (a handful of modes, a few owners), so a vnode keeps a
 * 16-bit number rather than 9 bytes.
 */
class Attributes {
  readonly type: number[] = [];
  readonly mode: number[] = [];
  readonly owner: number[] = [];
  /** type + 256 * mode -> owner -> number. */
  private readonly byKey = new Map<number, Map<number, number>>();
  private last = -1;

  /** The number of (type, mode, owner), or -1 when the table is full (or a value is not 32-bit). */
  numberOf(type: number, mode: number, owner: number): number {
    const l = this.last;
    if (l >= 0 && this.type[l] === type && this.mode[l] === mode && this.owner[l] === owner) return l;
    if ((type & 255) !== type || !isU32(mode) || !isU32(owner)) return -1;
    const key = type + 256 * mode;
    let owners = this.byKey.get(key);
    let n = owners?.get(owner);
    if (n === undefined) {
      if (this.type.length >= MAX_ATTRS) return -1;
      n = this.type.length;
      this.type.push(type);
      this.mode.push(mode);
      this.owner.push(owner);
      if (!owners) this.byKey.set(key, (owners = new Map()));
      owners.set(owner, n);
    }
    return (this.last = n);
  }
}

interface Row {
  vnode: number;
  unique: number;
  type: number;
  mode: number;
  size: number;
  mtime: number;
  owner: number;
}

/**
 * Every vnode of a dump as `ls` shows it, in typed arrays (a million vnodes
 * take about 18 MB, where objects took hundreds), with the directories'
 * entries packed and a (vnode, uniquifier) table: the tree model's source.
 */
class ListedVnodes implements TreeSource {
  size = 0;
  private readonly chunks: ListChunk[] = [];
  private readonly attrs = new Attributes();
  /** Rows with a value the columns cannot hold (never a decoded record), as given. */
  private readonly odd = new Map<number, Row>();
  private readonly dirs = new Map<number, EntryList>();
  readonly targets = new Map<number, string>();
  /**
   * Where each run of increasing vnode numbers starts (a sound full dump
   * has two: its large and its small index): a pair is found by a binary
   * search in each. More runs than MAX_RUNS (an incremental or damaged
   * dump): a pair table instead, made then.
   */
  private readonly runs: number[] = [];
  private pairs: PairTable | null = null;
  private readonly names = new NameStore();
  /** Some pair came twice. */
  duplicates = false;

  push(r: Row): number {
    if (this.find(r.vnode, r.unique) >= 0) this.duplicates = true;
    const i = this.size++;
    if ((i & IN_CHUNK) === 0) this.chunks.push(new ListChunk());
    const c = this.chunks[i >> CHUNK_BITS];
    const j = i & IN_CHUNK;
    c.vnode[j] = r.vnode;
    c.unique[j] = r.unique;
    const attr = this.attrs.numberOf(r.type, r.mode, r.owner);
    c.attr[j] = attr;
    c.mtime[j] = r.mtime;
    c.size[j] = r.size;
    if (!isU32(r.vnode) || !isU32(r.unique) || !isU32(r.size) || !isU32(r.mtime) || attr < 0) {
      this.odd.set(i, { ...r });
    }
    if (this.pairs) this.pairs.setValue(r.vnode, r.unique, i);
    else if (i === 0 || this.odd.has(i) || r.vnode <= this.vnode(i - 1)) {
      this.runs.push(i);
      if (this.runs.length > MAX_RUNS || this.odd.size > 0) {
        this.pairs = new PairTable();
        for (let k = 0; k <= i; k++) this.pairs.setValue(this.vnode(k), this.unique(k), k);
      }
    }
    return i;
  }

  setEntries(i: number, entries: EntryList): void {
    this.dirs.set(i, entries);
  }

  packEntries(i: number, pages: Buffer, count: number): void {
    this.dirs.set(i, new PackedEntries(count > 0 ? decodeDirectory(pages) : [], this.names));
  }

  row(i: number): Row {
    const o = this.odd.get(i);
    if (o) return o;
    const c = this.chunks[i >> CHUNK_BITS];
    const j = i & IN_CHUNK;
    const a = c.attr[j];
    const t = this.attrs;
    return { vnode: c.vnode[j], unique: c.unique[j], type: t.type[a], mode: t.mode[a], size: c.size[j], mtime: c.mtime[j], owner: t.owner[a] };
  }

  vnode(i: number): number {
    return this.odd.get(i)?.vnode ?? this.chunks[i >> CHUNK_BITS].vnode[i & IN_CHUNK];
  }

  unique(i: number): number {
    return this.odd.get(i)?.unique ?? this.chunks[i >> CHUNK_BITS].unique[i & IN_CHUNK];
  }

  /** The index of the last vnode with the pair, or -1. */
  find(vnode: number, unique: number): number {
    if (this.pairs) return this.pairs.value(vnode, unique);
    // Later runs first: the last vnode with a pair stands for it.
    for (let r = this.runs.length - 1; r >= 0; r--) {
      let lo = this.runs[r];
      let hi = (r + 1 < this.runs.length ? this.runs[r + 1] : this.size) - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = this.vnode(mid);
        if (v < vnode) lo = mid + 1;
        else if (v > vnode) hi = mid - 1;
        else {
          if (this.unique(mid) === unique) return mid;
          break;
        }
      }
    }
    return -1;
  }

  entries(i: number): EntryList | undefined {
    return this.dirs.get(i);
  }

  get distinct(): boolean {
    return !this.duplicates;
  }
}

/**
 * Read the dump to its end and call `each` for every vnode a chain of
 * directory entries from the root reaches, in path order (the root, '.',
 * first), as `listDump` lists them; returns the vnodes none reaches, in dump
 * order. What is kept while the dump is read is packed (columns, entries,
 * pair table); the paths are made as they are given out, a directory at a
 * time, never all at once. When `each` returns a promise (a full output
 * pipe), the next entry waits for it. Throws DumpError on damage.
 */
export async function forEachListed(reader: DumpReader, each: (e: ListEntry) => void | Promise<void>): Promise<{ vnode: number; unique: number }[]> {
  const src = new ListedVnodes();
  let header = false;
  try {
    for await (const r of reader.records()) {
      if (r.kind === 'header') header = true;
      if (r.kind !== 'vnode') continue;
      const size = r.data.kind === 'dirpages' ? r.data.pages.length : r.data.kind === 'filedata' ? r.data.length : 0;
      const i = src.push({ vnode: r.vnode, unique: r.unique, type: r.type, mode: r.mode, size, mtime: r.mtime, owner: r.owner });
      if (r.data.kind === 'dirpages') {
        // A directory with no pages has no entries (verify reports it); don't fail the listing.
        if (r.type === VNODE_DIR) src.packEntries(i, r.data.pages, r.data.count);
      } else if (r.data.kind === 'filedata' && r.type === VNODE_SYMLINK && r.data.length <= MAX_TARGET) {
        src.targets.set(i, (await reader.readFileData()).toString('latin1'));
      }
    }
  } finally {
    await reader.close();
  }
  if (!header) throw new DumpError('NOT_A_DUMP', 'no dump header', 0, reader.source.name);

  const tree = new VolumeTree(src);
  tree.walkFromRoot();
  const entry = (i: number, path: string): ListEntry => {
    const r = src.row(i);
    const e: ListEntry = { path, vnode: r.vnode, unique: r.unique, type: typeName(r.type), mode: r.mode, size: r.size, mtime: r.mtime, owner: r.owner };
    const t = src.targets.get(i);
    if (t !== undefined) e.target = t;
    return e;
  };
  if (tree.root >= 0 && !(await inPathOrder(tree, src, entry, each))) {
    // Names that a walk in name order cannot put in path order (a `/` in a
    // name, an empty name, two entries of a directory with one name, a pair
    // that comes twice): every path made, then sorted, as before.
    const all: ListEntry[] = [];
    for (let i = 0; i < src.size; i++) {
      if (!tree.isReached(i)) continue;
      const c = tree.canonical(i);
      all.push(entry(i, c === tree.root ? '.' : tree.path(c)!));
    }
    all.sort((a, b) => (a.path === '.' ? -1 : b.path === '.' ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const e of all) await each(e);
  }
  const unreachable: { vnode: number; unique: number }[] = [];
  tree.forEachUnreached((i) => unreachable.push({ vnode: src.vnode(i), unique: src.unique(i) }));
  return unreachable;
}

/**
 * The reached vnodes in path order, made a directory at a time: a
 * directory's own line sorts by its name, what is below it by its name and
 * `/` (every path below starts with that), so the children of each
 * directory are sorted by those keys and what is below a directory is
 * given out in its place. First checks that this order is the order of the
 * paths (see the caller); false, and nothing given out, when it is not.
 */
async function inPathOrder(
  tree: VolumeTree, src: ListedVnodes, entry: (i: number, path: string) => ListEntry, each: (e: ListEntry) => void | Promise<void>,
): Promise<boolean> {
  if (!src.distinct) return false;
  // The children each directory is home to (the entries that reached them), checked.
  const kids = (dir: number): { name: string; child: number; dir: boolean }[] | null => {
    const list = src.entries(dir);
    if (!list) return [];
    const out: { name: string; child: number; dir: boolean }[] = [];
    for (let k = 0; k < list.count; k++) {
      if (list.isDot(k)) continue;
      const c = src.find(list.vnode(k), list.unique(k));
      if (c < 0) continue;
      const h = tree.home(c);
      if (!h || h.dir !== dir || h.entry !== k) continue;
      const name = list.name(k);
      if (name === '' || name.includes('/')) return null;
      out.push({ name, child: c, dir: src.entries(c) !== undefined });
    }
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.child - b.child));
    for (let j = 1; j < out.length; j++) if (out[j].name === out[j - 1].name) return null;
    return out;
  };
  // Check every directory first: nothing is given out unless the whole order holds.
  const queue = [tree.root];
  for (let q = 0; q < queue.length; q++) {
    const k = kids(queue[q]);
    if (k === null) return false;
    for (const c of k) if (c.dir) queue.push(c.child);
  }
  // Keys: `name` for a child's own line, `name/` for what is below a directory child.
  const unitsOf = (dir: number): { key: string; child: number; sub: boolean }[] => {
    const units: { key: string; child: number; sub: boolean }[] = [];
    for (const c of kids(dir)!) {
      units.push({ key: c.name, child: c.child, sub: false });
      if (c.dir) units.push({ key: `${c.name}/`, child: c.child, sub: true });
    }
    return units.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  };
  await each(entry(tree.root, '.'));
  // Depth first without recursion (a chain of directories may be deep): one frame a directory open.
  const stack = [{ units: unitsOf(tree.root), at: 0, prefix: '' }];
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    if (f.at === f.units.length) {
      stack.pop();
      continue;
    }
    const u = f.units[f.at++];
    if (u.sub) stack.push({ units: unitsOf(u.child), at: 0, prefix: f.prefix + u.key });
    else {
      const w = each(entry(u.child, f.prefix + u.key));
      if (w) await w;
    }
  }
  return true;
}
