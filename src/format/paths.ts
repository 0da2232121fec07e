/**
 * Resolve every vnode's path from the directory entries, walking from the
 * root (vnode 1, path `.`). A vnode is identified by (vnode, uniquifier).
 */
import type { DirEntry } from '../dir/pages.js';

export interface PathInput {
  vnode: number;
  unique: number;
  entries?: DirEntry[];
}

export function vnodeKey(vnode: number, unique: number): string {
  return `${vnode}.${unique}`;
}

export interface PathResult {
  /** key `vnode.unique` -> path relative to the root ('.' for the root); binary strings. */
  paths: Map<string, string>;
  /** Vnodes no directory chain from the root reaches. */
  unreachable: PathInput[];
  /** Entries naming a vnode that is not in the dump (or has another uniquifier). */
  dangling: { dir: PathInput; entry: DirEntry }[];
}

export function resolvePaths(vnodes: PathInput[]): PathResult {
  const byKey = new Map<string, PathInput>();
  for (const v of vnodes) byKey.set(vnodeKey(v.vnode, v.unique), v);
  const paths = new Map<string, string>();
  const dangling: PathResult['dangling'] = [];
  const root = vnodes.find((v) => v.vnode === 1);
  if (root) {
    paths.set(vnodeKey(root.vnode, root.unique), '.');
    const queue: PathInput[] = [root];
    for (let i = 0; i < queue.length; i++) {
      const dir = queue[i];
      const base = paths.get(vnodeKey(dir.vnode, dir.unique))!;
      for (const e of dir.entries ?? []) {
        if (e.name === '.' || e.name === '..') continue;
        const key = vnodeKey(e.vnode, e.unique);
        const child = byKey.get(key);
        if (!child) {
          dangling.push({ dir, entry: e });
          continue;
        }
        if (paths.has(key)) continue; // a second name (hard link) or a loop
        paths.set(key, base === '.' ? e.name : `${base}/${e.name}`);
        if (child.entries) queue.push(child);
      }
    }
  }
  const unreachable = vnodes.filter((v) => !paths.has(vnodeKey(v.vnode, v.unique)));
  return { paths, unreachable, dangling };
}
