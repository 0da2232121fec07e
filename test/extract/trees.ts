/**
 * Test helpers: build directory trees with exact names (binary strings),
 * modes and mtimes; snapshot a tree for comparison; craft dumps from
 * directory and file vnodes with the encoder.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync, lstatSync, lutimesSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { encodeDirectory, type DirEntry } from '../../src/dir/pages.js';
import {
  encodeEnd, encodeHeader, encodeIndexHeader, encodeVnode, encodeVolume, type VnodeFields,
} from '../../src/format/encoder.js';
import { emptyVV } from '../../src/format/types.js';
import { collectItems } from '../../src/io/write-dump.js';
import { packTree, type PackOptions } from '../../src/pack/pack.js';
import { incrementalItems, planIncremental } from '../../src/pack/incremental.js';

export type Spec =
  | { path: string; dir: true; mode?: number; mtime?: number }
  | { path: string; content: string | Buffer; mode?: number; mtime?: number }
  | { path: string; link: string; mtime?: number };

const b = (p: string) => Buffer.from(p, 'latin1');
const join = (root: string, p: string) => Buffer.concat([Buffer.from(root), Buffer.from('/'), b(p)]);

/** Create (or update) the entries of `spec` under `root`; mtimes are set last, deepest directories first. */
export function buildTree(root: string, spec: Spec[], rootMtime = 1_500_000_000, rootMode = 0o755): void {
  mkdirSync(root, { recursive: true });
  for (const s of spec) {
    const at = join(root, s.path);
    if ('dir' in s) {
      mkdirSync(at, { recursive: true });
    } else if ('content' in s) {
      writeFileSync(at, typeof s.content === 'string' ? Buffer.from(s.content, 'latin1') : s.content);
    } else {
      rmSync(at, { force: true });
      symlinkSync(b(s.link), at);
    }
  }
  for (const s of spec) {
    const at = join(root, s.path);
    if ('link' in s) {
      lutimesSync(at, s.mtime ?? 1_400_000_000, s.mtime ?? 1_400_000_000);
    } else if ('content' in s) {
      chmodSync(at, s.mode ?? 0o644);
      utimesSync(at, s.mtime ?? 1_400_000_000, s.mtime ?? 1_400_000_000);
    }
  }
  const dirs = spec.filter((s) => 'dir' in s).sort((x, y) => y.path.split('/').length - x.path.split('/').length);
  for (const s of dirs) {
    const at = join(root, s.path);
    chmodSync(at, s.mode ?? 0o755);
    utimesSync(at, s.mtime ?? 1_450_000_000, s.mtime ?? 1_450_000_000);
  }
  chmodSync(root, rootMode);
  utimesSync(root, rootMtime, rootMtime);
}

export interface Snap {
  type: 'file' | 'dir' | 'symlink';
  mode?: number;
  mtime: number;
  size?: number;
  sha?: string;
  target?: string;
}

/** Every entry below `root` (and the root itself, as ''), keyed by binary-string relative path. */
export function snapshot(root: string, withRoot = true): Map<string, Snap> {
  const out = new Map<string, Snap>();
  const visit = (rel: string) => {
    const at = rel === '' ? Buffer.from(root) : join(root, rel);
    const st = lstatSync(at);
    const mtime = Math.floor(st.mtimeMs / 1000);
    if (st.isSymbolicLink()) {
      out.set(rel, { type: 'symlink', mtime, target: (readlinkSync(at, { encoding: 'buffer' }) as Buffer).toString('latin1') });
    } else if (st.isDirectory()) {
      if (rel !== '' || withRoot) out.set(rel, { type: 'dir', mode: st.mode & 0o7777, mtime });
      for (const n of readdirSync(at, { encoding: 'buffer' }) as Buffer[]) visit(rel === '' ? n.toString('latin1') : `${rel}/${n.toString('latin1')}`);
    } else {
      const data = readFileSync(at);
      out.set(rel, { type: 'file', mode: st.mode & 0o7777, mtime, size: data.length, sha: createHash('sha256').update(data).digest('hex') });
    }
  };
  visit('');
  return out;
}

export function sorted(m: Map<string, Snap>): [string, Snap][] {
  return [...m.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

export async function packBytes(dir: string, opts: PackOptions = {}): Promise<Buffer> {
  return collectItems(packTree(dir, opts));
}

export async function incrementalBytes(dir: string, base: string, opts: PackOptions = {}): Promise<Buffer> {
  return collectItems(incrementalItems(await planIncremental(dir, base, opts)));
}

// ---- crafted dumps ------------------------------------------------------

export interface CraftDir {
  vnode: number;
  unique: number;
  entries?: DirEntry[];
  /** Raw pages (overrides entries). */
  pages?: Buffer;
  mode?: number;
  mtime?: number;
  parent?: [number, number];
}

export interface CraftFile {
  vnode: number;
  unique: number;
  type?: 1 | 3;
  data?: string | Buffer;
  badinode?: boolean;
  mode?: number;
  mtime?: number;
}

export interface CraftOptions {
  incremental?: number;
  parentId?: number;
  name?: string;
  oldest?: number;
  latest?: number;
  removed?: { large?: [number, number][]; small?: [number, number][] };
  lists?: { large?: number; small?: number };
  declared?: { large?: number; small?: number };
}

function fields(v: number, u: number, type: number, mode: number, mtime: number, length: number, parent: [number, number]): VnodeFields {
  return {
    vnode: v, unique: u, type, mode, linkCount: 1, length, dataVersion: 1, vv: emptyVV(), mtime, author: 0, owner: 0,
    parent: parent[0], parentUnique: parent[1],
  };
}

/** Directory pages for `self`/`parent` plus named children, as Coda would lay them out. */
export function dirPages(self: [number, number], parent: [number, number], children: [string, number, number][]): Buffer {
  return encodeDirectory([
    { name: '.', vnode: self[0], unique: self[1] },
    { name: '..', vnode: parent[0], unique: parent[1] },
    ...children.map(([name, vnode, unique]) => ({ name, vnode, unique })),
  ]);
}

/** Rename the entry `from` to `to` (same length) in place: how a duplicate name is made (encodeDirectory refuses one). */
export function renameInPages(pages: Buffer, from: string, to: string): Buffer {
  const p = Buffer.from(pages);
  for (let off = 13 * 32; off + 12 + from.length <= p.length; off += 32) {
    if (p[off] === 1 && p.toString('latin1', off + 12, off + 12 + from.length + 1) === from + '\0') {
      p.write(to, off + 12, 'latin1');
      return p;
    }
  }
  throw new Error(`no entry ${from}`);
}

export function craftDump(dirs: CraftDir[], files: CraftFile[], o: CraftOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const date = 1_157_500_000;
  parts.push(encodeHeader({
    volumeId: 0x01000002, parentId: o.parentId ?? 0x01000001, name: o.name ?? 'crafted.backup', backupDate: date,
    incremental: o.incremental ?? 0, oldest: o.oldest ?? 1, latest: o.latest ?? 1,
  }));
  parts.push(encodeVolume({
    id: 0x01000002, stampVersion: 1, name: o.name ?? 'crafted.backup', partition: '/vicepa', inService: 1, blessed: 1,
    nextUniquifier: 100, type: 2, parentId: o.parentId ?? 0x01000001, groupId: 0, cloneId: 0, backupId: 0, maxQuota: 0,
    minQuota: 0, maxFiles: 0, diskUsed: 0, fileCount: files.length, linkCount: 0, accountNumber: 0, owner: 0,
    creationDate: date, accessDate: date, updateDate: date, expirationDate: 0, backupDate: date, offlineMessage: '', motd: '',
    weekUse: [0, 0, 0, 0, 0, 0, 0], dayUseDate: 0, dayUse: 0, vv: emptyVV(),
  }));
  parts.push(encodeIndexHeader('large', o.declared?.large ?? dirs.length, o.lists?.large ?? 8));
  for (const d of dirs) {
    const parent = d.parent ?? [1, 1];
    const pages = d.pages ?? encodeDirectory(d.entries ?? []);
    parts.push(encodeVnode({ ...fields(d.vnode, d.unique, 2, d.mode ?? 0o755, d.mtime ?? date, pages.length, parent), acl: '1\n0\nSystem:AnyUser\t9\n' }, { kind: 'dirpages', pages }));
  }
  for (const [v, u] of o.removed?.large ?? []) parts.push(rm(v, u));
  parts.push(encodeIndexHeader('small', o.declared?.small ?? files.length, o.lists?.small ?? Math.max(1, ...files.map((f) => (f.vnode >> 1) + 1))));
  for (const f of files) {
    const data = f.data === undefined ? Buffer.alloc(0) : typeof f.data === 'string' ? Buffer.from(f.data, 'latin1') : f.data;
    const flds = fields(f.vnode, f.unique, f.type ?? 1, f.mode ?? (f.type === 3 ? 0o777 : 0o644), f.mtime ?? date, data.length, [1, 1]);
    if (f.badinode) parts.push(encodeVnode(flds, { kind: 'badinode' }));
    else parts.push(encodeVnode(flds, { kind: 'filedata', length: data.length }), data);
  }
  for (const [v, u] of o.removed?.small ?? []) parts.push(rm(v, u));
  parts.push(encodeEnd());
  return Buffer.concat(parts);
}

function rm(v: number, u: number): Buffer {
  const x = Buffer.alloc(9);
  x[0] = 13;
  x.writeUInt32BE(v, 1);
  x.writeUInt32BE(u, 5);
  return x;
}
