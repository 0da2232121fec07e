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
import { decodeDirectory, type DirEntry } from '../dir/pages.js';
import { VNODE_DIR, VNODE_FILE, VNODE_SYMLINK } from '../format/constants.js';
import {
  encodeEnd, encodeHeader, encodeIndexHeader, encodeRmVnode, encodeVnode, encodeVolume, type HeaderFields, type VnodeFields,
  type VolumeFields,
} from '../format/encoder.js';
import { DumpError, ioError } from '../format/errors.js';
import { item, type DumpItem } from '../format/items.js';
import { resolvePaths, vnodeKey } from '../format/paths.js';
import { DumpReader } from '../format/reader.js';
import {
  slotVnode, vnodeClass, vnodeSlot, type DumpHeader, type IndexClass, type VersionVector, type VolumeData,
} from '../format/types.js';
import { FileSource } from '../io/source.js';
import { openPositional, refuseDamagedContainer, type PositionalInputOptions } from '../io/positional-input.js';
import { ContentReader, filesKB, treeDirEntries, treeDirFields, treeFileFields, TreePages, type PackOptions } from './pack.js';
import { walkTree, type PackedTree } from './tree.js';

/** What the incremental builder needs to know of one vnode of the base (never its file data). */
export interface BaseVnode {
  vnode: number;
  unique: number;
  type: number;
  mode: number;
  mtime: number;
  owner: number;
  parent: number;
  parentUnique: number;
  dataVersion: number;
  vv: VersionVector;
  acl?: string;
  /** Directory entries (directories). */
  entries?: DirEntry[];
  /** Bytes of directory pages (directories). */
  pagesLength?: number;
  /** File data position and size (files and links with FILEDATA). */
  start?: number;
  length?: number;
  /** Symbolic link target. */
  target?: string;
}

export interface BaseDump {
  path: string;
  header: DumpHeader;
  volume: VolumeData;
  lists: Record<IndexClass, number>;
  vnodes: BaseVnode[];
}

const MAX_TARGET = 64 << 10;

/** Read the base dump once: metadata, directory entries and link targets, file data positions. */
export async function readBase(path: string, source?: FileSource): Promise<BaseDump> {
  if (path === '-') throw new DumpError('USAGE', '--incremental-from needs a dump file (its data is compared by position), not standard input');
  const reader = new DumpReader(source ?? (await FileSource.open(path)));
  let header: DumpHeader | null = null;
  let volume: VolumeData | null = null;
  const lists: Record<IndexClass, number> = { large: 0, small: 0 };
  const vnodes: BaseVnode[] = [];
  try {
    for (;;) {
      const r = await reader.next();
      if (!r) break;
      if (r.kind === 'header') {
        if (r.incremental !== 0) {
          throw new DumpError('USAGE', `the base is an incremental dump (level ${r.incremental}); merge it onto its full dump first (codadump merge) and use the result as the base`, undefined, path);
        }
        header = r;
      } else if (r.kind === 'volume') volume = r;
      else if (r.kind === 'index') lists[r.index] = r.lists;
      else if (r.kind === 'rmvnode') throw new DumpError('BAD_VALUE', 'the base holds RMVNODE records', r.offset, path);
      else if (r.kind === 'vnode') {
        const b: BaseVnode = {
          vnode: r.vnode, unique: r.unique, type: r.type, mode: r.mode, mtime: r.mtime, owner: r.owner, parent: r.parent,
          parentUnique: r.parentUnique, dataVersion: r.dataVersion, vv: r.vv,
        };
        if (r.acl !== undefined) b.acl = r.acl;
        if (r.data.kind === 'dirpages') {
          b.pagesLength = r.data.pages.length;
          try {
            b.entries = decodeDirectory(r.data.pages);
          } catch {
            b.entries = [];
          }
        } else if (r.data.kind === 'filedata') {
          b.start = r.data.start;
          b.length = r.data.length;
          if (r.type === VNODE_SYMLINK && r.data.length <= MAX_TARGET) b.target = (await reader.readFileData()).toString('latin1');
        }
        vnodes.push(b);
      }
    }
  } finally {
    await reader.close();
  }
  if (!header) throw new DumpError('NOT_A_DUMP', 'no dump header', 0, path);
  if (!volume) throw new DumpError('BAD_VALUE', 'the base has no volume disk data', undefined, path);
  return { path, header, volume, lists, vnodes };
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
  rm?: BaseVnode;
  node?: TreeRef;
  change?: Change;
  base?: BaseVnode;
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
  index: Record<IndexClass, { declared: number; lists: number; records: OutRecord[] }>;
  pages: TreePages;
  acl: string;
  stats: IncrementalStats;
}

async function sameContent(fsPath: Buffer, base: BaseDump, src: FileSource, b: BaseVnode): Promise<boolean> {
  const len = b.length ?? 0;
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
        const n = await src.read(x, got, want - got, b.start! + pos + got);
        if (n === 0) throw new DumpError('TRUNCATED', `file ends inside the data of vnode ${b.vnode}.${b.unique}`, b.start! + pos + got, base.path);
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

/** The tree's vnodes in walk order (directories, then files), each with its path. */
function* treeVnodes(t: PackedTree): Generator<[TreeRef, string]> {
  const dirPaths: string[] = ['.'];
  for (let d = 0; d < t.dirCount; d++) {
    let sub = t.firstSubdir(d);
    const e0 = t.firstEntry(d);
    for (let e = e0; e < e0 + t.entryCount(d); e++) {
      if (t.entryType(e) !== VNODE_DIR) continue;
      const name = t.entryName(e);
      dirPaths[sub++] = dirPaths[d] === '.' ? name : `${dirPaths[d]}/${name}`;
    }
  }
  for (let d = 0; d < t.dirCount; d++) yield [{ dir: true, index: d, type: VNODE_DIR, parent: t.dirParent(d), entry: -1 }, dirPaths[d]];
  let f = 0;
  for (let d = 0; d < t.dirCount; d++) {
    const e0 = t.firstEntry(d);
    for (let e = e0; e < e0 + t.entryCount(d); e++) {
      const type = t.entryType(e);
      if (type === VNODE_DIR) continue;
      const name = t.entryName(e);
      yield [{ dir: false, index: f++, type, parent: d, entry: e }, dirPaths[d] === '.' ? name : `${dirPaths[d]}/${name}`];
    }
  }
}

async function planAgainst(dir: string, basePath: string, dataPath: string, opts: PackOptions, layout: PackedTree | undefined, base: BaseDump): Promise<IncrementalPlan> {
  const tree = layout ?? (await walkTree(dir));
  const acl = opts.acl ?? formatAcl(DEFAULT_ACL);
  tree.renumber();
  const vnodeOf = (n: TreeRef) => (n.dir ? tree.dirVnode(n.index) : tree.fileVnode(n.index));
  const setIds = (n: TreeRef, vnode: number, unique: number) => (n.dir ? tree.setDirIds(n.index, vnode, unique) : tree.setFileIds(n.index, vnode, unique));

  // Base paths, as the directory entries of the base name them.
  const { paths } = resolvePaths(base.vnodes);
  const byPath = new Map<string, BaseVnode>();
  for (const b of base.vnodes) {
    const p = paths.get(vnodeKey(b.vnode, b.unique));
    if (p !== undefined && !byPath.has(p)) byPath.set(p, b);
  }

  // Match by path and type; new vnodes take free slots and fresh uniquifiers.
  const used: Record<IndexClass, Set<number>> = { large: new Set(), small: new Set() };
  let maxUnique = 0;
  for (const b of base.vnodes) {
    used[vnodeClass(b.vnode)].add(vnodeSlot(b.vnode));
    maxUnique = Math.max(maxUnique, b.unique);
  }
  const nextFree: Record<IndexClass, number> = { large: 0, small: 0 };
  const freeSlot = (cls: IndexClass): number => {
    while (used[cls].has(nextFree[cls])) nextFree[cls]++;
    used[cls].add(nextFree[cls]);
    return nextFree[cls];
  };
  let uniq = Math.max(base.volume.nextUniquifier, maxUnique + 1);
  const vnodes: TreeRef[] = [];
  const matched: (BaseVnode | undefined)[] = [];
  const matchedBase = new Set<BaseVnode>();
  const fresh: TreeRef[] = [];
  for (const [n, path] of treeVnodes(tree)) {
    const b = byPath.get(path);
    vnodes.push(n);
    if (b && b.type === n.type && !matchedBase.has(b) && vnodeClass(b.vnode) === (n.dir ? 'large' : 'small')) {
      setIds(n, b.vnode, b.unique);
      matched.push(b);
      matchedBase.add(b);
    } else {
      matched.push(undefined);
      fresh.push(n);
    }
  }
  for (const n of fresh) {
    const cls: IndexClass = n.dir ? 'large' : 'small';
    setIds(n, slotVnode(freeSlot(cls), cls), uniq++);
  }

  // Directory pages with the final fids; what changed.
  const pages = new TreePages(tree);
  const stats: IncrementalStats = { added: { dirs: 0, files: 0 }, changed: { dirs: 0, files: 0 }, removed: { dirs: 0, files: 0 }, unchanged: 0 };
  const records: Record<IndexClass, OutRecord[]> = { large: [], small: [] };
  const baseData = await FileSource.open(dataPath, { name: basePath });
  try {
    for (let i = 0; i < vnodes.length; i++) {
      const n = vnodes[i];
      const cls: IndexClass = n.dir ? 'large' : 'small';
      const what = n.dir ? 'dirs' : 'files';
      const b = matched[i];
      if (!b) {
        records[cls].push({ slot: vnodeSlot(vnodeOf(n)), node: n, change: 'new' });
        stats.added[what]++;
        continue;
      }
      const [mode, mtime, uid] = n.dir
        ? [tree.dirMode(n.index), tree.dirMtime(n.index), tree.dirUid(n.index)]
        : [tree.fileMode(n.index), tree.fileMtime(n.index), tree.fileUid(n.index)];
      let changed = mode !== b.mode || mtime !== b.mtime || uid !== b.owner;
      const hasParent = !(n.dir && n.index === 0);
      if (!changed && hasParent && (tree.dirVnode(n.parent) !== b.parent || tree.dirUnique(n.parent) !== b.parentUnique)) changed = true;
      if (!changed) {
        if (n.type === VNODE_DIR) {
          changed = !sameEntries(entryMap(treeDirEntries(tree, n.index)), entryMap(b.entries ?? []));
        } else if (n.type === VNODE_SYMLINK) {
          changed = b.target === undefined || b.target !== tree.linkTarget(n.index).toString('latin1');
        } else if (n.type === VNODE_FILE) {
          const size = tree.fileSize(n.index);
          changed = b.length === undefined || b.length !== size || !(await sameContent(fileFsPath(tree, n), base, baseData, b));
        }
      }
      if (changed) {
        records[cls].push({ slot: vnodeSlot(vnodeOf(n)), node: n, change: 'changed', base: b });
        stats.changed[what]++;
      } else stats.unchanged++;
    }
  } finally {
    await baseData.close();
  }
  for (const b of base.vnodes) {
    if (matchedBase.has(b)) continue;
    const cls = vnodeClass(b.vnode);
    records[cls].push({ slot: vnodeSlot(b.vnode), rm: b });
    stats.removed[cls === 'large' ? 'dirs' : 'files']++;
  }
  for (const cls of ['large', 'small'] as const) records[cls].sort((x, y) => x.slot - y.slot || (x.rm ? 0 : 1) - (y.rm ? 0 : 1));

  let maxDirSlot = 0;
  let maxFileSlot = 0;
  for (const n of vnodes) {
    const s = vnodeSlot(vnodeOf(n)) + 1;
    if (n.dir) maxDirSlot = Math.max(maxDirSlot, s);
    else maxFileSlot = Math.max(maxFileSlot, s);
  }
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

function changedFields(f: VnodeFields, b: BaseVnode | undefined): VnodeFields {
  if (b) {
    f.dataVersion = (b.dataVersion + 1) >>> 0;
    f.vv = { ...b.vv, versions: b.vv.versions.map((v, i) => (i === 0 ? (v + 1) >>> 0 : v)) };
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
      if (r.rm) {
        yield item(encodeRmVnode(r.rm.vnode, r.rm.unique));
        continue;
      }
      const n = r.node!;
      if (n.dir) {
        const p = plan.pages.get(n.index);
        const acl = r.base?.acl ?? plan.acl;
        yield item(encodeVnode(changedFields(treeDirFields(t, n.index, p.length, acl), r.base), { kind: 'dirpages', pages: p }));
      } else {
        const size = t.fileSize(n.index);
        yield item(encodeVnode(changedFields(treeFileFields(t, n.index, n.type, n.parent, size), r.base), { kind: 'filedata', length: size }));
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
