/**
 * Resolve every vnode's path from the directory entries, walking from the
 * root (vnode 1, path `.`): the volume tree model (tree.ts) as maps keyed by
 * `vnodeKey`. A vnode is identified by (vnode, uniquifier).
 */
import type { DirEntry } from '../dir/pages.js';
import { ObjectSource, VolumeTree, vnodeKey, type TreeVnode } from './tree.js';

export { vnodeKey } from './tree.js';

export interface PathInput extends TreeVnode {
  vnode: number;
  unique: number;
  entries?: readonly DirEntry[];
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
  const dangling: PathResult['dangling'] = [];
  const tree = new VolumeTree(new ObjectSource(vnodes));
  const order: number[] = [];
  if (tree.root >= 0) order.push(tree.root);
  tree.walkFromRoot({
    entry(dir, _list, k, child, seen) {
      if (child < 0) dangling.push({ dir: vnodes[dir], entry: vnodes[dir].entries![k] });
      else if (!seen) order.push(child);
    },
  });
  // In reach order, as the walk names them.
  const paths = new Map<string, string>();
  for (const i of order) paths.set(vnodeKey(vnodes[i].vnode, vnodes[i].unique), i === tree.root ? '.' : tree.path(i)!);
  const unreachable = vnodes.filter((_, i) => !tree.isReached(i));
  return { paths, unreachable, dangling };
}
