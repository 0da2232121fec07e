/**
 * Walk a directory tree into the vnode layout a Coda volume would have:
 * directories in breadth-first order take large slots 0.. (root = vnode 1),
 * files and symbolic links take small slots 0.. in the same walk order.
 * Uniquifiers follow creation order: directories first, then files, as a
 * server restoring the tree would hand them out.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { DumpError, ioError } from '../format/errors.js';
import { VNODE_DIR, VNODE_FILE, VNODE_SYMLINK } from '../format/constants.js';

export interface TreeNode {
  /** Binary-string name within its parent ('' for the root). */
  name: string;
  /** Path relative to the root, binary string ('.' for the root). */
  path: string;
  fsPath: Buffer;
  type: typeof VNODE_FILE | typeof VNODE_DIR | typeof VNODE_SYMLINK;
  mode: number;
  mtime: number;
  uid: number;
  size: number;
  /** Symbolic link target (binary string). */
  target?: string;
  vnode: number;
  unique: number;
  parent: TreeNode | null;
  children: TreeNode[];
}

export interface TreeLayout {
  root: TreeNode;
  dirs: TreeNode[];
  files: TreeNode[];
  /** Entries that cannot be represented (devices, sockets, fifos), by path. */
  skipped: string[];
  nextUniquifier: number;
}

const SEP = Buffer.from('/');

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function walkTree(root: string): Promise<TreeLayout> {
  const rootBuf = Buffer.from(root);
  let st;
  try {
    st = await lstat(rootBuf);
  } catch (e) {
    throw ioError(e, root);
  }
  if (!st.isDirectory()) throw new DumpError('USAGE', 'not a directory', undefined, root);
  const rootNode: TreeNode = {
    name: '', path: '.', fsPath: rootBuf, type: VNODE_DIR, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000),
    uid: st.uid, size: 0, vnode: 1, unique: 0, parent: null, children: [],
  };
  const dirs: TreeNode[] = [rootNode];
  const files: TreeNode[] = [];
  const skipped: string[] = [];
  for (let i = 0; i < dirs.length; i++) {
    const dir = dirs[i];
    let names: Buffer[];
    try {
      names = (await readdir(dir.fsPath, { encoding: 'buffer' })) as Buffer[];
    } catch (e) {
      throw ioError(e, dir.fsPath.toString());
    }
    const sorted = names.map((n) => n.toString('latin1')).sort(compareNames);
    for (const name of sorted) {
      const fsPath = Buffer.concat([dir.fsPath, SEP, Buffer.from(name, 'latin1')]);
      const path = dir.path === '.' ? name : `${dir.path}/${name}`;
      let s;
      try {
        s = await lstat(fsPath);
      } catch (e) {
        throw ioError(e, fsPath.toString());
      }
      const base = {
        name, path, fsPath, mode: s.mode & 0o7777, mtime: Math.floor(s.mtimeMs / 1000), uid: s.uid,
        vnode: 0, unique: 0, parent: dir, children: [] as TreeNode[],
      };
      let node: TreeNode;
      if (s.isDirectory()) {
        node = { ...base, type: VNODE_DIR, size: 0 };
        dirs.push(node);
      } else if (s.isFile()) {
        node = { ...base, type: VNODE_FILE, size: s.size };
        files.push(node);
      } else if (s.isSymbolicLink()) {
        let target: string;
        try {
          target = ((await readlink(fsPath, { encoding: 'buffer' })) as Buffer).toString('latin1');
        } catch (e) {
          throw ioError(e, fsPath.toString());
        }
        node = { ...base, type: VNODE_SYMLINK, size: target.length, target };
        files.push(node);
      } else {
        skipped.push(path);
        continue;
      }
      dir.children.push(node);
    }
  }
  let uniq = 1;
  dirs.forEach((d, i) => {
    d.vnode = 2 * i + 1;
    d.unique = uniq++;
  });
  files.forEach((f, i) => {
    f.vnode = 2 * i + 2;
    f.unique = uniq++;
  });
  return { root: rootNode, dirs, files, skipped, nextUniquifier: uniq };
}
