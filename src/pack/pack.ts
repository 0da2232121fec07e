/**
 * `pack`: build a full dump of a directory tree, as a stream of DumpItems,
 * laid out as a Coda server would dump the same volume (FORMAT.md 3).
 */
import { open } from 'node:fs/promises';
import { DEFAULT_ACL, formatAcl } from '../acl/acl.js';
import { encodeDirectory } from '../dir/pages.js';
import { VNODE_DIR, VNODE_SYMLINK } from '../format/constants.js';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeVnode, encodeVolume, type VnodeFields } from '../format/encoder.js';
import { ioError } from '../format/errors.js';
import { item, type DumpItem } from '../format/items.js';
import type { VersionVector } from '../format/types.js';
import { walkTree, type TreeLayout, type TreeNode } from './tree.js';

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
  return {
    vnode: n.vnode,
    unique: n.unique,
    type: n.type,
    mode: n.mode,
    linkCount: n.type === VNODE_DIR ? 2 + n.children.filter((c) => c.type === VNODE_DIR).length : 1,
    length,
    dataVersion: 1,
    vv: vvFor(n.unique),
    mtime: n.mtime,
    author: n.uid,
    owner: n.uid,
    parent: parent ? parent.vnode : 1,
    parentUnique: parent ? parent.unique : 1,
    ...(acl !== undefined ? { acl } : {}),
  };
}

/** Stream a file's content as `filedata` items of exactly `size` bytes (zero-padded if it shrank). */
export async function* fileContent(n: TreeNode, bufferSize = 1 << 20): AsyncGenerator<DumpItem> {
  if (n.type === VNODE_SYMLINK) {
    yield { kind: 'filedata', data: Buffer.from(n.target ?? '', 'latin1') };
    return;
  }
  let left = n.size;
  if (left === 0) return;
  let fh;
  try {
    fh = await open(n.fsPath, 'r');
  } catch (e) {
    throw ioError(e, n.fsPath.toString());
  }
  try {
    const buf = Buffer.allocUnsafe(Math.min(bufferSize, left));
    let pos = 0;
    while (left > 0) {
      const want = Math.min(buf.length, left);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
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
  } catch (e) {
    throw ioError(e, n.fsPath.toString());
  } finally {
    await fh.close();
  }
}

export function headerAndVolume(layout: TreeLayout, dirPages: Map<TreeNode, Buffer>, opts: Required<Omit<PackOptions, 'acl'>>): Buffer[] {
  const volumeId = opts.volumeId;
  let diskUsed = 0;
  for (const p of dirPages.values()) diskUsed += Math.ceil(p.length / 1024);
  for (const f of layout.files) diskUsed += Math.ceil(f.size / 1024);
  return [
    encodeHeader({
      volumeId, parentId: opts.parentId, name: opts.name, backupDate: opts.backupDate, incremental: 0,
      oldest: opts.backupDate, latest: opts.backupDate,
    }),
    encodeVolume({
      id: volumeId, stampVersion: 1, name: opts.name, partition: '/vicepa', inService: 1, blessed: 1,
      nextUniquifier: layout.nextUniquifier, type: 2, parentId: opts.parentId, groupId: 0, cloneId: 0,
      backupId: volumeId, maxQuota: 0, minQuota: 0, maxFiles: 0, diskUsed, fileCount: layout.files.length,
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

/** Lists per index: enough slots for every vnode, at least 8 large (as servers start). */
export function listCounts(layout: TreeLayout): { large: number; small: number } {
  return { large: Math.max(8, layout.dirs.length), small: Math.max(1, layout.files.length) };
}

/** Build the full dump of DIR as a stream of items. */
export async function* packTree(dir: string, opts: PackOptions = {}, layout?: TreeLayout): AsyncGenerator<DumpItem> {
  const tree = layout ?? (await walkTree(dir));
  const o = resolvePackOptions(dir, opts);
  const acl = opts.acl ?? formatAcl(DEFAULT_ACL);
  const pages = new Map<TreeNode, Buffer>();
  for (const d of tree.dirs) pages.set(d, dirPagesFor(d));
  for (const b of headerAndVolume(tree, pages, o)) yield item(b);
  const lists = listCounts(tree);
  yield item(encodeIndexHeader('large', tree.dirs.length, lists.large));
  for (const d of tree.dirs) {
    const p = pages.get(d)!;
    yield item(encodeVnode(vnodeFieldsFor(d, p.length, acl), { kind: 'dirpages', pages: p }));
  }
  yield item(encodeIndexHeader('small', tree.files.length, lists.small));
  for (const f of tree.files) {
    yield item(encodeVnode(vnodeFieldsFor(f, f.size, undefined), { kind: 'filedata', length: f.size }));
    yield* fileContent(f);
  }
  yield item(encodeEnd());
}

