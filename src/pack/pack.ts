/**
 * `pack`: build a full dump of a directory tree, as a stream of DumpItems,
 * laid out as a Coda server would dump the same volume (FORMAT.md 3).
 *
 * Memory (issue #17): the walk keeps the tree in columns (tree.ts); a
 * directory's pages are encoded once before the header (their sizes count
 * in the volume's disk usage) and kept only up to a budget, the rest
 * encoded again when their record is written; a file is opened again when
 * its record is written, and its bytes go through one reused buffer.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { DEFAULT_ACL, formatAcl } from '../acl/acl.js';
import { encodeDirectory, type DirEntry } from '../dir/pages.js';
import { VNODE_DIR, VNODE_SYMLINK } from '../format/constants.js';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeVnode, encodeVolume, type VnodeFields } from '../format/encoder.js';
import { ioError } from '../format/errors.js';
import { item, type DumpItem } from '../format/items.js';
import type { VersionVector } from '../format/types.js';
import { walkTree, type PackedTree, type TreeLayout, type TreeNode } from './tree.js';

export interface PackOptions {
  /** Volume id of the dumped (backup clone) volume; default 0x01000002. */
  volumeId?: number;
  /** Parent (read-write) volume id; default 0x01000001. */
  parentId?: number;
  /** Volume name; default `<basename of DIR>.backup` (cut to 31 bytes). */
  name?: string;
  /** Backup date in Unix seconds; default now. */
  backupDate?: number;
  /** Access list text for every directory; default System:AnyUser rl, System:Administrators all. */
  acl?: string;
}

/** Host id a server stores in version vectors (127.0.0.1, as in the samples). */
export const DEFAULT_STORE_HOST = 0x7f000001;

export function defaultVolumeName(dir: string): string {
  const base = dir.replace(/\/+$/, '').split('/').pop() || 'volume';
  return Buffer.from(`${base}.backup`).subarray(0, 31).toString('latin1');
}

function vvFor(unique: number): VersionVector {
  return { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost: DEFAULT_STORE_HOST, storeUniq: unique, flags: 0 };
}

// ---- the object form (TreeNode: redump's synthetic dumps) ----

/** Directory pages of a tree directory: `.`, `..`, then its children by name. */
export function dirPagesFor(d: TreeNode): Buffer {
  const parent = d.parent ?? d;
  return encodeDirectory([
    { name: '.', vnode: d.vnode, unique: d.unique },
    { name: '..', vnode: parent.vnode, unique: parent.unique },
    ...d.children.map((c) => ({ name: c.name, vnode: c.vnode, unique: c.unique })),
  ]);
}

export function vnodeFieldsFor(n: TreeNode, length: number, acl: string | undefined): VnodeFields {
  const parent = n.parent;
  return fields(
    n.vnode, n.unique, n.type, n.mode, n.type === VNODE_DIR ? 2 + n.children.filter((c) => c.type === VNODE_DIR).length : 1, length,
    n.mtime, n.uid, parent ? parent.vnode : 1, parent ? parent.unique : 1, acl,
  );
}

export function headerAndVolume(layout: TreeLayout, dirPages: Map<TreeNode, Buffer>, opts: Required<Omit<PackOptions, 'acl'>>): Buffer[] {
  let diskUsed = 0;
  for (const p of dirPages.values()) diskUsed += Math.ceil(p.length / 1024);
  for (const f of layout.files) diskUsed += Math.ceil(f.size / 1024);
  return headerRecords(diskUsed, layout.files.length, layout.nextUniquifier, opts);
}

/** Lists per index: enough slots for every vnode, at least 8 large (as servers start). */
export function listCounts(layout: { dirs: unknown[]; files: unknown[] }): { large: number; small: number } {
  return listsFor(layout.dirs.length, layout.files.length);
}

// ---- shared ----

function fields(
  vnode: number, unique: number, type: number, mode: number, linkCount: number, length: number, mtime: number, uid: number,
  parent: number, parentUnique: number, acl: string | undefined,
): VnodeFields {
  return {
    vnode,
    unique,
    type,
    mode,
    linkCount,
    length,
    dataVersion: 1,
    vv: vvFor(unique),
    mtime,
    author: uid,
    owner: uid,
    parent,
    parentUnique,
    ...(acl !== undefined ? { acl } : {}),
  };
}

/** The dump header and the volume record of a full dump. */
export function headerRecords(diskUsed: number, fileCount: number, nextUniquifier: number, opts: Required<Omit<PackOptions, 'acl'>>): Buffer[] {
  const volumeId = opts.volumeId;
  return [
    encodeHeader({
      volumeId, parentId: opts.parentId, name: opts.name, backupDate: opts.backupDate, incremental: 0,
      oldest: opts.backupDate, latest: opts.backupDate,
    }),
    encodeVolume({
      id: volumeId, stampVersion: 1, name: opts.name, partition: '/vicepa', inService: 1, blessed: 1,
      nextUniquifier, type: 2, parentId: opts.parentId, groupId: 0, cloneId: 0,
      backupId: volumeId, maxQuota: 0, minQuota: 0, maxFiles: 0, diskUsed, fileCount,
      linkCount: 0, accountNumber: 0, owner: 0, creationDate: opts.backupDate, accessDate: opts.backupDate,
      updateDate: opts.backupDate, expirationDate: 0, backupDate: opts.backupDate, offlineMessage: '', motd: '',
      weekUse: [0, 0, 0, 0, 0, 0, 0], dayUseDate: 0, dayUse: 0,
      vv: { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost: DEFAULT_STORE_HOST, storeUniq: 1, flags: 0 },
    }),
  ];
}

export function resolvePackOptions(dir: string, opts: PackOptions): Required<Omit<PackOptions, 'acl'>> {
  return {
    volumeId: opts.volumeId ?? 0x01000002,
    parentId: opts.parentId ?? 0x01000001,
    name: opts.name ?? defaultVolumeName(dir),
    backupDate: opts.backupDate ?? Math.floor(Date.now() / 1000),
  };
}

function listsFor(dirs: number, files: number): { large: number; small: number } {
  return { large: Math.max(8, dirs), small: Math.max(1, files) };
}

// ---- the walked tree (PackedTree) ----

/** Directory d's entries with their current numbers: `.`, `..`, then its children by name. */
export function treeDirEntries(t: PackedTree, d: number): DirEntry[] {
  const p = t.dirParent(d);
  const out: DirEntry[] = [
    { name: '.', vnode: t.dirVnode(d), unique: t.dirUnique(d) },
    { name: '..', vnode: t.dirVnode(p), unique: t.dirUnique(p) },
  ];
  let sub = t.firstSubdir(d);
  let file = t.firstFileOf(d);
  const e0 = t.firstEntry(d);
  const n = t.entryCount(d);
  for (let e = e0; e < e0 + n; e++) {
    if (t.entryType(e) === VNODE_DIR) {
      out.push({ name: t.entryName(e), vnode: t.dirVnode(sub), unique: t.dirUnique(sub) });
      sub++;
    } else {
      out.push({ name: t.entryName(e), vnode: t.fileVnode(file), unique: t.fileUnique(file) });
      file++;
    }
  }
  return out;
}

/** The record fields of directory d (the root is its own parent, 1.1 in a full dump). */
export function treeDirFields(t: PackedTree, d: number, length: number, acl: string | undefined): VnodeFields {
  const p = t.dirParent(d);
  return fields(
    t.dirVnode(d), t.dirUnique(d), VNODE_DIR, t.dirMode(d), 2 + t.subdirCount(d), length, t.dirMtime(d), t.dirUid(d),
    d === 0 ? 1 : t.dirVnode(p), d === 0 ? 1 : t.dirUnique(p), acl,
  );
}

/** The record fields of file (or symbolic link) f in directory d. */
export function treeFileFields(t: PackedTree, f: number, type: number, d: number, length: number): VnodeFields {
  return fields(
    t.fileVnode(f), t.fileUnique(f), type, t.fileMode(f), 1, length, t.fileMtime(f), t.fileUid(f), t.dirVnode(d), t.dirUnique(d), undefined,
  );
}

/** Bytes of encoded directory pages kept between the count before the header and the records (the rest is encoded again). */
const PAGES_KEPT = 8 << 20;

/**
 * Every directory's pages, encoded once in directory order (their lengths
 * kept, and the pages themselves up to PAGES_KEPT bytes); `get` gives them
 * again, from what was kept or encoded anew (the same bytes: the numbers of
 * the tree must not change in between).
 */
export class TreePages {
  private readonly lengths: Uint32Array;
  private readonly kept = new Map<number, Buffer>();
  /** Disk usage of the pages, in 1 KiB blocks. */
  readonly diskKB: number;

  /** `keep`: bytes of pages kept (tests give 0 or more than all). */
  constructor(private readonly tree: PackedTree, keep = PAGES_KEPT) {
    this.lengths = new Uint32Array(tree.dirCount);
    let keptBytes = 0;
    let kb = 0;
    for (let d = 0; d < tree.dirCount; d++) {
      const p = encodeDirectory(treeDirEntries(tree, d));
      this.lengths[d] = p.length;
      kb += Math.ceil(p.length / 1024);
      if (keptBytes + p.length <= keep) {
        this.kept.set(d, p);
        keptBytes += p.length;
      }
    }
    this.diskKB = kb;
  }

  length(d: number): number {
    return this.lengths[d];
  }

  get(d: number): Buffer {
    return this.kept.get(d) ?? encodeDirectory(treeDirEntries(this.tree, d));
  }
}

/** Disk usage of the files and links in 1 KiB blocks. */
export function filesKB(t: PackedTree): number {
  let kb = 0;
  for (let f = 0; f < t.fileCount; f++) kb += Math.ceil(t.fileSize(f) / 1024);
  return kb;
}

/** Reads files for their `filedata` items through one buffer, reused from file to file. */
export class ContentReader {
  private buf: Buffer | undefined;

  constructor(private readonly bufferSize = 1 << 20) {}

  /**
   * The content of file f at `fsPath` as `filedata` items of exactly its
   * listed size (zero-padded if it shrank since); a symbolic link's target.
   */
  *items(t: PackedTree, f: number, type: number, fsPath: Buffer): Generator<DumpItem> {
    if (type === VNODE_SYMLINK) {
      yield { kind: 'filedata', data: t.linkTarget(f) };
      return;
    }
    let left = t.fileSize(f);
    if (left === 0) return;
    let fd;
    try {
      fd = openSync(fsPath, 'r');
    } catch (e) {
      throw ioError(e, fsPath.toString());
    }
    try {
      const buf = (this.buf ??= Buffer.allocUnsafe(this.bufferSize));
      let pos = 0;
      while (left > 0) {
        const want = Math.min(buf.length, left);
        let bytesRead: number;
        try {
          bytesRead = readSync(fd, buf, 0, want, pos);
        } catch (e) {
          throw ioError(e, fsPath.toString());
        }
        if (bytesRead === 0) {
          // The file shrank since it was listed: keep the declared size.
          buf.fill(0, 0, want);
          yield { kind: 'filedata', data: buf.subarray(0, want) };
          left -= want;
          pos += want;
          continue;
        }
        yield { kind: 'filedata', data: buf.subarray(0, bytesRead) };
        left -= bytesRead;
        pos += bytesRead;
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** Build the full dump of DIR as a stream of items. */
export async function* packTree(dir: string, opts: PackOptions = {}, layout?: PackedTree): AsyncGenerator<DumpItem> {
  const t = layout ?? (await walkTree(dir));
  const o = resolvePackOptions(dir, opts);
  const acl = opts.acl ?? formatAcl(DEFAULT_ACL);
  const pages = new TreePages(t);
  for (const b of headerRecords(pages.diskKB + filesKB(t), t.fileCount, t.nextUniquifier, o)) yield item(b);
  const lists = listsFor(t.dirCount, t.fileCount);
  yield item(encodeIndexHeader('large', t.dirCount, lists.large));
  for (let d = 0; d < t.dirCount; d++) {
    const p = pages.get(d);
    yield item(encodeVnode(treeDirFields(t, d, p.length, acl), { kind: 'dirpages', pages: p }));
  }
  yield item(encodeIndexHeader('small', t.fileCount, lists.small));
  const content = new ContentReader();
  let f = 0;
  for (let d = 0; d < t.dirCount; d++) {
    if (t.firstFileOf(d + 1) === t.firstFileOf(d)) continue;
    const dirPath = t.dirFsPath(d);
    const e0 = t.firstEntry(d);
    const n = t.entryCount(d);
    for (let e = e0; e < e0 + n; e++) {
      const type = t.entryType(e);
      if (type === VNODE_DIR) continue;
      const size = t.fileSize(f);
      yield item(encodeVnode(treeFileFields(t, f, type, d, size), { kind: 'filedata', length: size }));
      yield* content.items(t, f, type, Buffer.concat([dirPath, SEP, t.entryNameBytes(e)]));
      f++;
    }
  }
  yield item(encodeEnd());
}

const SEP = Buffer.from('/');
