/** `ls`: every vnode with its path, in path order, like `tar tv`. */
import { resolvePaths, vnodeKey } from './paths.js';
import type { DumpReader } from './reader.js';
import { summarizeDump } from './summary.js';
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

export async function listDump(reader: DumpReader): Promise<Listing> {
  const s = await summarizeDump(reader);
  const { paths, unreachable } = resolvePaths(s.vnodes);
  const entries: ListEntry[] = [];
  for (const v of s.vnodes) {
    const path = paths.get(vnodeKey(v.vnode, v.unique));
    if (path === undefined) continue;
    const e: ListEntry = {
      path, vnode: v.vnode, unique: v.unique, type: typeName(v.type),
      mode: v.mode, size: v.size, mtime: v.mtime, owner: v.owner,
    };
    if (v.target !== undefined) e.target = v.target;
    entries.push(e);
  }
  entries.sort((a, b) => (a.path === '.' ? -1 : b.path === '.' ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, unreachable: unreachable.map((u) => ({ vnode: u.vnode, unique: u.unique })) };
}
