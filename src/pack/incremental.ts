/**
 * `pack --incremental-from BASE`: an incremental dump of a directory tree
 * relative to a full dump of an earlier state of it (made by `pack`, or the
 * output of `merge`), such that `merge BASE INCREMENTAL` gives the tree.
 *
 * - Vnodes are matched by path and type: a matched vnode keeps its number
 *   and uniquifier. It is written again (in full) only when it changed: its
 *   mode, mtime, owner or parent; for a file its size or bytes (compared
 *   with the base's data, read by position); for a symbolic link its target;
 *   for a directory its entry list (names and the vnodes they name). A
 *   changed vnode gets the base's data version + 1 and its version vector
 *   with the first counter + 1, as a server's store would.
 * - A new vnode takes the lowest slot of its class that no vnode of the base
 *   uses (slots freed by this incremental's deletions are not reused in it)
 *   and a fresh uniquifier from the base volume's next uniquifier on
 *   (directories first, then files, in walk order).
 * - A base vnode with no counterpart (deleted, replaced by another type, or
 *   unreachable in the base) is written as RMVNODE.
 * - Records are written in slot order. Each index header's 'v' is what a
 *   Coda server writes for an incremental: the number of vnodes of that
 *   class in the volume now (not the number of records), as in the Coda
 *   samples (merge-incremental: 'v' 27 with 3 records and 1 RMVNODE);
 *   's' is the base's list count, grown when new slots need it.
 * - The header: level 1 (the base must be a full dump), volume id, parent
 *   id and name from the base unless given; ordering uniquifiers
 *   oldest = the base's latest (so merge recognises it as taken against
 *   BASE) and latest = the backup date, at least oldest + 1.
 */
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_ACL, formatAcl } from '../acl/acl.js';
import { VNODE_DIR, VNODE_FILE, VNODE_SYMLINK } from '../format/constants.js';
import {
  encodeEnd, encodeHeader, encodeIndexHeader, encodeRmVnode, encodeVnode, encodeVolume, type HeaderFields, type VnodeFields,
  type VolumeFields,
} from '../format/encoder.js';
import { DumpError, ioError } from '../format/errors.js';
import { item, type DumpItem } from '../format/items.js';
import { vnodeKey } from '../format/paths.js';
import { VolumeTree, type EntryList } from '../format/tree.js';
import {
  slotVnode, vnodeClass, vnodeSlot, type IndexClass,
} from '../format/types.js';
import { FileSource } from '../io/source.js';
import { openPositional, refuseDamagedContainer, type PositionalInputOptions } from '../io/positional-input.js';
import { ContentReader, filesKB, treeDirEntries, treeDirFields, treeFileFields, TreePages, type PackOptions } from './pack.js';
import { walkTree, type PackedTree } from './tree.js';

import { BaseDump } from './base.js';
import { NumberColumn } from './columns.js';

export { BaseDump };

/** Read the base dump once: metadata, directory entries and link targets, file data positions (in columns). */
export function readBase(path: string, source?: FileSource): Promise<BaseDump> {
  return BaseDump.read(path, source);
}

type Change = 'new' | 'changed';

/** A vnode of the walked tree: directory `index`, or file (or link) `index` of type `type` in directory `dir`, named by entry `entry`. */
interface TreeRef {
  dir: boolean;
  index: number;
  type: number;
  /** Files: the directory holding it, and its entry there. */
  parent: number;
  entry: number;
}

interface OutRecord {
  slot: number;
  /** RMVNODE of this base vnode (an index of the base). */
  rm?: number;
  node?: TreeRef;
  change?: Change;
  /** The base vnode a changed vnode was matched to (an index of the base). */
  base?: number;
}

/**
 * The records of one index class, in columns (no object a record until they
 * are read): the slot; what (0 RMVNODE, 1 new, 2 changed); the tree
 * directory or file (or, for RMVNODE, the base vnode); the base vnode a
 * changed one was matched to, + 1. Read in slot order (RMVNODE first, then
 * the order they were added) once `sort` ran.
 */
class RecordList {
  private readonly slot = new NumberColumn();
  private readonly what = new NumberColumn();
  private readonly ref = new NumberColumn();
  private readonly base = new NumberColumn();
  private order: Uint32Array | undefined;

  constructor(private readonly tree: PackedTree, private readonly dirs: boolean) {}

  get length(): number {
    return this.slot.length;
  }

  add(slot: number, what: number, ref: number, base = -1): void {
    this.slot.push(slot);
    this.what.push(what);
    this.ref.push(ref);
    this.base.push(base + 1);
  }

  sort(): void {
    const o = (this.order = new Uint32Array(this.slot.length));
    for (let i = 0; i < o.length; i++) o[i] = i;
    const { slot, what } = this;
    o.sort((x, y) => slot.get(x) - slot.get(y) || (what.get(x) === 0 ? 0 : 1) - (what.get(y) === 0 ? 0 : 1) || x - y);
  }

  *[Symbol.iterator](): Generator<OutRecord> {
    const t = this.tree;
    for (let k = 0; k < this.slot.length; k++) {
      const i = this.order ? this.order[k] : k;
      const slot = this.slot.get(i);
      const what = this.what.get(i);
      const ref = this.ref.get(i);
      if (what === 0) {
        yield { slot, rm: ref };
        continue;
      }
      let node: TreeRef;
      if (this.dirs) node = { dir: true, index: ref, type: VNODE_DIR, parent: t.dirParent(ref), entry: -1 };
      else {
        const entry = t.fileEntry(ref);
        node = { dir: false, index: ref, type: t.entryType(entry), parent: t.fileDir(ref), entry };
      }
      const b = this.base.get(i);
      yield b === 0 ? { slot, node, change: what === 1 ? 'new' : 'changed' } : { slot, node, change: 'changed', base: b - 1 };
    }
  }
}

export interface IncrementalStats {
  added: { dirs: number; files: number };
  changed: { dirs: number; files: number };
  removed: { dirs: number; files: number };
  unchanged: number;
}

export interface IncrementalPlan {
  base: BaseDump;
  layout: PackedTree;
  header: HeaderFields;
  volume: VolumeFields;
  index: Record<IndexClass, { declared: number; lists: number; records: Iterable<OutRecord> }>;
  pages: TreePages;
  acl: string;
  stats: IncrementalStats;
}

async function sameContent(fsPath: Buffer, base: BaseDump, src: FileSource, b: number): Promise<boolean> {
  const len = base.length(b) ?? 0;
  const start = base.start(b)!;
  if (len === 0) return true;
  let fh;
  try {
    fh = await open(fsPath, 'r');
  } catch (e) {
    throw ioError(e, fsPath.toString());
  }
  try {
    const size = Math.min(len, 1 << 20);
    const x = Buffer.allocUnsafe(size);
    const y = Buffer.allocUnsafe(size);
    let pos = 0;
    while (pos < len) {
      const want = Math.min(size, len - pos);
      let got = 0;
      while (got < want) {
        const n = await src.read(x, got, want - got, start + pos + got);
        if (n === 0) throw new DumpError('TRUNCATED', `file ends inside the data of vnode ${base.vnode(b)}.${base.unique(b)}`, start + pos + got, base.path);
        got += n;
      }
      let have = 0;
      while (have < want) {
        const { bytesRead } = await fh.read(y, have, want - have, pos + have);
        if (bytesRead === 0) return false;
        have += bytesRead;
      }
      if (x.compare(y, 0, want, 0, want) !== 0) return false;
      pos += want;
    }
    return true;
  } finally {
    await fh.close();
  }
}

function entryMap(entries: readonly { name: string; vnode: number; unique: number }[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of entries) if (e.name !== '.' && e.name !== '..') m.set(e.name, vnodeKey(e.vnode, e.unique));
  return m;
}

function listMap(list: EntryList | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (!list) return m;
  for (let k = 0; k < list.count; k++) {
    const name = list.name(k);
    if (name !== '.' && name !== '..') m.set(name, vnodeKey(list.vnode(k), list.unique(k)));
  }
  return m;
}

function sameEntries(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** Walk DIR, read BASE, match and compare: everything the incremental needs, before a byte is written. */
/** Where a compressed base is decoded (it is read by position): `tmpdir`, `decompressWith`. */
export type BaseInputOptions = Pick<PositionalInputOptions, 'tmpdir' | 'decompressWith'>;

export async function planIncremental(dir: string, basePath: string, opts: PackOptions = {}, layout?: PackedTree, baseOpts: BaseInputOptions = {}): Promise<IncrementalPlan> {
  if (basePath === '-') throw new DumpError('USAGE', '--incremental-from needs a dump file (its data is compared by position), not standard input');
  // A compressed base (gzip, Amanda, bzip2...) is decoded once into a temporary file, removed at the end.
  const input = await openPositional(basePath, baseOpts);
  try {
    refuseDamagedContainer(input);
    return await planAgainst(dir, basePath, input.path, opts, layout, await readBase(basePath, input.source));
  } finally {
    await input.close();
  }
}

/** The slots of one class that the base's vnodes use, sorted: new vnodes take the lowest others, in turn. */
class FreeSlots {
  private p = 0;
  private next = 0;
  constructor(private readonly used: Float64Array) {
    used.sort();
  }
  take(): number {
    const u = this.used;
    for (;;) {
      while (this.p < u.length && u[this.p] < this.next) this.p++;
      if (this.p < u.length && u[this.p] === this.next) this.next++;
      else return this.next++;
    }
  }
}

/**
 * Match the tree to the base by path, without path strings: the base's
 * vnodes are walked from its root (the volume tree model: a vnode's path is
 * that of the entry that first reaches it), and a tree directory's entries
 * are looked up by name among the entries of the base directory at the same
 * path whose vnodes they first reach. Of base vnodes with the same path, the
 * first in the dump. Returns each tree directory's and file's candidate
 * (an index of the base, or -1).
 */
function matchPaths(tree: PackedTree, base: BaseDump): { dirCand: Int32Array; fileCand: Int32Array } {
  const dirCand = new Int32Array(tree.dirCount).fill(-1);
  const fileCand = new Int32Array(tree.fileCount).fill(-1);
  const vt = new VolumeTree(base);
  if (!vt.walkFromRoot() || tree.dirCount === 0) return { dirCand, fileCand };
  // The first vnode of the dump with each vnode's pair (what a path names).
  const first = new Int32Array(base.size).fill(-1);
  for (let i = base.size - 1; i >= 0; i--) {
    const c = vt.canonical(i);
    if (c >= 0) first[c] = i;
  }
  const firstOf = (c: number): number => (c >= 0 && first[c] >= 0 ? first[c] : c);
  // The base directory (as the walk read it) at each tree directory's path, or -1.
  const dirWalk = new Int32Array(tree.dirCount).fill(-1);
  dirWalk[0] = vt.root;
  dirCand[0] = firstOf(vt.canonical(vt.root));
  const byName = new Map<string, number>();
  for (let d = 0; d < tree.dirCount; d++) {
    const w = dirWalk[d];
    if (w < 0) continue;
    const list = base.entries(w);
    if (!list) continue;
    byName.clear();
    for (let k = 0; k < list.count; k++) {
      if (list.isDot(k)) continue;
      const c = base.find(list.vnode(k), list.unique(k));
      if (c < 0) continue;
      const h = vt.home(c);
      if (!h || h.dir !== w || h.entry !== k) continue;
      const name = list.name(k);
      const had = byName.get(name);
      if (had === undefined || firstOf(c) < firstOf(had)) byName.set(name, c);
    }
    if (byName.size === 0) continue;
    let sub = tree.firstSubdir(d);
    let file = tree.firstFileOf(d);
    const e0 = tree.firstEntry(d);
    for (let e = e0; e < e0 + tree.entryCount(d); e++) {
      const c = byName.get(tree.entryName(e));
      if (tree.entryType(e) === VNODE_DIR) {
        if (c !== undefined) {
          dirCand[sub] = firstOf(c);
          dirWalk[sub] = c;
        }
        sub++;
      } else {
        if (c !== undefined) fileCand[file] = firstOf(c);
        file++;
      }
    }
  }
  return { dirCand, fileCand };
}

async function planAgainst(dir: string, basePath: string, dataPath: string, opts: PackOptions, layout: PackedTree | undefined, base: BaseDump): Promise<IncrementalPlan> {
  const tree = layout ?? (await walkTree(dir));
  const acl = opts.acl ?? formatAcl(DEFAULT_ACL);
  tree.renumber();
  const D = tree.dirCount;
  const F = tree.fileCount;

  // Match by path and type; new vnodes take free slots and fresh uniquifiers.
  const { dirCand, fileCand } = matchPaths(tree, base);
  let maxUnique = 0;
  let nLarge = 0;
  for (let i = 0; i < base.size; i++) {
    if (vnodeClass(base.vnode(i)) === 'large') nLarge++;
    maxUnique = Math.max(maxUnique, base.unique(i));
  }
  const usedLarge = new Float64Array(nLarge);
  const usedSmall = new Float64Array(base.size - nLarge);
  for (let i = 0, l = 0, s = 0; i < base.size; i++) {
    const v = base.vnode(i);
    if (vnodeClass(v) === 'large') usedLarge[l++] = vnodeSlot(v);
    else usedSmall[s++] = vnodeSlot(v);
  }
  const free = { large: new FreeSlots(usedLarge), small: new FreeSlots(usedSmall) };
  let uniq = Math.max(base.volume.nextUniquifier, maxUnique + 1);
  const matchedBase = new Uint8Array(base.size);
  const tryMatch = (b: number, type: number, cls: IndexClass): number => {
    if (b < 0 || base.type(b) !== type || matchedBase[b] === 1 || vnodeClass(base.vnode(b)) !== cls) return -1;
    matchedBase[b] = 1;
    return b;
  };
  const dirMatch = new Int32Array(D);
  const fileMatch = new Int32Array(F);
  for (let d = 0; d < D; d++) {
    dirMatch[d] = tryMatch(dirCand[d], VNODE_DIR, 'large');
    if (dirMatch[d] >= 0) tree.setDirIds(d, base.vnode(dirMatch[d]), base.unique(dirMatch[d]));
  }
  {
    let f = 0;
    for (let d = 0; d < D; d++) {
      const e0 = tree.firstEntry(d);
      for (let e = e0; e < e0 + tree.entryCount(d); e++) {
        const type = tree.entryType(e);
        if (type === VNODE_DIR) continue;
        fileMatch[f] = tryMatch(fileCand[f], type, 'small');
        if (fileMatch[f] >= 0) tree.setFileIds(f, base.vnode(fileMatch[f]), base.unique(fileMatch[f]));
        f++;
      }
    }
  }
  for (let d = 0; d < D; d++) if (dirMatch[d] < 0) tree.setDirIds(d, slotVnode(free.large.take(), 'large'), uniq++);
  for (let f = 0; f < F; f++) if (fileMatch[f] < 0) tree.setFileIds(f, slotVnode(free.small.take(), 'small'), uniq++);

  // Directory pages with the final fids; what changed.
  const pages = new TreePages(tree);
  const stats: IncrementalStats = { added: { dirs: 0, files: 0 }, changed: { dirs: 0, files: 0 }, removed: { dirs: 0, files: 0 }, unchanged: 0 };
  const records: Record<IndexClass, RecordList> = { large: new RecordList(tree, true), small: new RecordList(tree, false) };
  const baseData = await FileSource.open(dataPath, { name: basePath });
  const visit = async (n: TreeRef, b: number): Promise<void> => {
    const cls: IndexClass = n.dir ? 'large' : 'small';
    const what = n.dir ? 'dirs' : 'files';
    const vnode = n.dir ? tree.dirVnode(n.index) : tree.fileVnode(n.index);
    if (b < 0) {
      records[cls].add(vnodeSlot(vnode), 1, n.index);
      stats.added[what]++;
      return;
    }
    const [mode, mtime, uid] = n.dir
      ? [tree.dirMode(n.index), tree.dirMtime(n.index), tree.dirUid(n.index)]
      : [tree.fileMode(n.index), tree.fileMtime(n.index), tree.fileUid(n.index)];
    let changed = mode !== base.mode(b) || mtime !== base.mtime(b) || uid !== base.owner(b);
    const hasParent = !(n.dir && n.index === 0);
    if (!changed && hasParent && (tree.dirVnode(n.parent) !== base.parent(b) || tree.dirUnique(n.parent) !== base.parentUnique(b))) changed = true;
    if (!changed) {
      if (n.type === VNODE_DIR) {
        changed = !sameEntries(entryMap(treeDirEntries(tree, n.index)), listMap(base.entries(b)));
      } else if (n.type === VNODE_SYMLINK) {
        const target = base.target(b);
        changed = target === undefined || target !== tree.linkTarget(n.index).toString('latin1');
      } else if (n.type === VNODE_FILE) {
        const size = tree.fileSize(n.index);
        const length = base.length(b);
        changed = length === undefined || length !== size || !(await sameContent(fileFsPath(tree, n), base, baseData, b));
      }
    }
    if (changed) {
      records[cls].add(vnodeSlot(vnode), 2, n.index, b);
      stats.changed[what]++;
    } else stats.unchanged++;
  };
  try {
    for (let d = 0; d < D; d++) await visit({ dir: true, index: d, type: VNODE_DIR, parent: tree.dirParent(d), entry: -1 }, dirMatch[d]);
    let f = 0;
    for (let d = 0; d < D; d++) {
      const e0 = tree.firstEntry(d);
      for (let e = e0; e < e0 + tree.entryCount(d); e++) {
        const type = tree.entryType(e);
        if (type === VNODE_DIR) continue;
        await visit({ dir: false, index: f, type, parent: d, entry: e }, fileMatch[f]);
        f++;
      }
    }
  } finally {
    await baseData.close();
  }
  for (let b = 0; b < base.size; b++) {
    if (matchedBase[b] === 1) continue;
    const cls = vnodeClass(base.vnode(b));
    records[cls].add(vnodeSlot(base.vnode(b)), 0, b);
    stats.removed[cls === 'large' ? 'dirs' : 'files']++;
  }
  for (const cls of ['large', 'small'] as const) records[cls].sort();

  let maxDirSlot = 0;
  let maxFileSlot = 0;
  for (let d = 0; d < D; d++) maxDirSlot = Math.max(maxDirSlot, vnodeSlot(tree.dirVnode(d)) + 1);
  for (let f = 0; f < F; f++) maxFileSlot = Math.max(maxFileSlot, vnodeSlot(tree.fileVnode(f)) + 1);
  const index = {
    large: { declared: tree.dirCount, lists: Math.max(base.lists.large, maxDirSlot, 8), records: records.large },
    small: { declared: tree.fileCount, lists: Math.max(base.lists.small, maxFileSlot, 1), records: records.small },
  };

  const backupDate = opts.backupDate ?? Math.floor(Date.now() / 1000);
  const oldest = base.header.latest;
  const latest = Math.min(0xffffffff, Math.max(backupDate, oldest + 1));
  const name = opts.name ?? base.header.name;
  const volumeId = opts.volumeId ?? base.header.volumeId;
  const parentId = opts.parentId ?? base.header.parentId;
  const diskUsed = pages.diskKB + filesKB(tree);
  const { kind: _k, offset: _o, size: _s, fields: _f, notes: _n, ...bv } = base.volume;
  const weekUse = [0, 0, 0, 0, 0, 0, 0].map((z, i) => bv.weekUse[i] ?? z);
  return {
    base,
    layout: tree,
    header: { volumeId, parentId, name, backupDate, incremental: 1, oldest, latest },
    volume: {
      ...bv, id: volumeId, name, parentId, nextUniquifier: uniq, fileCount: tree.fileCount, diskUsed, weekUse,
      updateDate: backupDate, accessDate: backupDate, backupDate,
    },
    index,
    pages,
    acl,
    stats,
  };
}

function fileFsPath(t: PackedTree, n: TreeRef): Buffer {
  return Buffer.concat([t.dirFsPath(n.parent), SEP, t.entryNameBytes(n.entry)]);
}

const SEP = Buffer.from('/');

function changedFields(f: VnodeFields, base: BaseDump, b: number | undefined): VnodeFields {
  if (b !== undefined) {
    f.dataVersion = (base.dataVersion(b) + 1) >>> 0;
    const vv = base.versionVector(b);
    f.vv = { ...vv, versions: vv.versions.map((v, i) => (i === 0 ? (v + 1) >>> 0 : v)) };
  }
  return f;
}

/** The incremental dump as a stream of items. */
export async function* incrementalItems(plan: IncrementalPlan): AsyncGenerator<DumpItem> {
  const t = plan.layout;
  const content = new ContentReader();
  yield item(encodeHeader(plan.header));
  yield item(encodeVolume(plan.volume));
  for (const cls of ['large', 'small'] as const) {
    const ix = plan.index[cls];
    yield item(encodeIndexHeader(cls, ix.declared, ix.lists));
    for (const r of ix.records) {
      if (r.rm !== undefined) {
        yield item(encodeRmVnode(plan.base.vnode(r.rm), plan.base.unique(r.rm)));
        continue;
      }
      const n = r.node!;
      if (n.dir) {
        const p = plan.pages.get(n.index);
        const acl = (r.base !== undefined ? plan.base.acl(r.base) : undefined) ?? plan.acl;
        yield item(encodeVnode(changedFields(treeDirFields(t, n.index, p.length, acl), plan.base, r.base), { kind: 'dirpages', pages: p }));
      } else {
        const size = t.fileSize(n.index);
        yield item(encodeVnode(changedFields(treeFileFields(t, n.index, n.type, n.parent, size), plan.base, r.base), { kind: 'filedata', length: size }));
        yield* content.items(t, n.index, n.type, fileFsPath(t, n));
      }
    }
  }
  yield item(encodeEnd());
}

/** Refuse to write the incremental over its base (inputs are never modified). */
export function checkOutputNotBase(out: string, base: string): void {
  let same = resolve(out) === resolve(base);
  if (!same) {
    try {
      const a = statSync(out);
      const b = statSync(base);
      same = a.dev === b.dev && a.ino === b.ino;
    } catch {
      same = false;
    }
  }
  if (same) throw new DumpError('USAGE', 'the output is the base dump; inputs are never modified', undefined, out);
}
