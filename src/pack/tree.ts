/**
 * Walk a directory tree into the vnode layout a Coda volume would have:
 * directories in breadth-first order take large slots 0.. (root = vnode 1),
 * files and symbolic links take small slots 0.. in the same walk order.
 * Uniquifiers follow creation order: directories first, then files, as a
 * server restoring the tree would hand them out.
 *
 * The walk keeps no object per file (issue #17: a tree of a million files):
 * every directory's entries, in walk order, as a type and a name in a
 * ByteStore; the metadata of directories and of files in typed-array
 * columns; paths are rebuilt from parent links when a file is opened.
 * Directory d's children are entries entStart[d] .. entStart[d + 1] - 1;
 * its subdirectories are directories firstDir[d] .. firstDir[d + 1] - 1 and
 * its files and links files firstFile[d] .. firstFile[d + 1] - 1, both in
 * the entries' order (directories are read in the order they are found).
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { DumpError, ioError } from '../format/errors.js';
import { VNODE_DIR, VNODE_FILE, VNODE_SYMLINK } from '../format/constants.js';
import { ByteStore, NumberColumn } from './columns.js';

/**
 * One vnode of a tree as an object: the form of `redump`'s synthetic dumps
 * (`syntheticLayout`), which the object helpers of pack.ts take.
 */
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

/** A tree of TreeNode objects (synthetic dumps). */
export interface TreeLayout {
  root: TreeNode;
  dirs: TreeNode[];
  files: TreeNode[];
  /** Entries that cannot be represented (devices, sockets, fifos), by path. */
  skipped: string[];
  nextUniquifier: number;
}

export type NodeType = typeof VNODE_FILE | typeof VNODE_DIR | typeof VNODE_SYMLINK;

const SEP = Buffer.from('/');
const NO_ENTRY = 0xffffffff;

/** The walked tree, in columns (see the file's comment). */
export class PackedTree {
  /** The root as given (file-system paths are built from it). */
  readonly rootPath: Buffer;
  /** Entries that cannot be represented (devices, sockets, fifos), by path (binary strings). */
  readonly skipped: string[] = [];

  // Entries: every directory's children in walk order.
  private readonly entType = new NumberColumn();
  private readonly entName = new NumberColumn();
  private readonly entNameLength = new NumberColumn();
  private readonly names = new ByteStore();

  // Directories (D of them) and their D + 1 boundaries.
  private readonly dirParentCol = new NumberColumn();
  /** The entry that names the directory in its parent (NO_ENTRY for the root). */
  private readonly dirEntry = new NumberColumn();
  private readonly dirModeCol = new NumberColumn();
  private readonly dirMtimeCol = new NumberColumn();
  private readonly dirUidCol = new NumberColumn();
  private readonly entStart = new NumberColumn();
  private readonly firstDir = new NumberColumn();
  private readonly firstFile = new NumberColumn();

  // Files and symbolic links.
  private readonly fileModeCol = new NumberColumn();
  private readonly fileMtimeCol = new NumberColumn();
  private readonly fileUidCol = new NumberColumn();
  private readonly fileSizeCol = new NumberColumn();
  /** Symbolic links: their file numbers (ascending) and where their targets are in `targets`. */
  private readonly linkFile = new NumberColumn();
  private readonly linkAt = new NumberColumn();
  private readonly targets = new ByteStore();

  /** Vnode numbers and uniquifiers given by `renumber` (else the full dump's: see dirVnode, fileVnode). */
  private dirIds: Float64Array | null = null;
  private fileIds: Float64Array | null = null;
  /** File number -> its entry, made when first needed (random access: incremental dumps). */
  private fileEntryCol: Uint32Array | null = null;

  constructor(rootPath: Buffer) {
    this.rootPath = rootPath;
  }

  get dirCount(): number {
    return this.dirModeCol.length;
  }

  get fileCount(): number {
    return this.fileModeCol.length;
  }

  get nextUniquifier(): number {
    return this.dirCount + this.fileCount + 1;
  }

  // ---- building (walkTree) ----

  /** @internal */
  addEntry(type: NodeType, name: string): number {
    const at = this.names.addLatin1(name);
    if (at + name.length > 0xffffffff) throw new DumpError('USAGE', 'the names of the tree take more than 4 GiB', undefined, this.rootPath.toString());
    this.entName.push(at);
    this.entNameLength.push(name.length);
    return this.entType.push(type);
  }

  /** @internal */
  addDir(parent: number, entry: number, mode: number, mtime: number, uid: number): void {
    this.dirParentCol.push(parent);
    this.dirEntry.push(entry);
    this.dirModeCol.push(mode);
    this.dirMtimeCol.push(mtime);
    this.dirUidCol.push(uid);
  }

  /** @internal */
  addFile(mode: number, mtime: number, uid: number, size: number, target?: Buffer): void {
    if (target) {
      this.linkFile.push(this.fileCount);
      this.linkAt.push(this.targets.add(target));
    }
    this.fileModeCol.push(mode);
    this.fileMtimeCol.push(mtime);
    this.fileUidCol.push(uid);
    this.fileSizeCol.push(size);
  }

  /** @internal Directory d's children start: called before its entries are added, and once more at the end. */
  startDir(): void {
    this.entStart.push(this.entType.length);
    this.firstDir.push(this.dirCount);
    this.firstFile.push(this.fileCount);
  }

  // ---- entries ----

  entryCount(d: number): number {
    return this.entStart.get(d + 1) - this.entStart.get(d);
  }

  firstEntry(d: number): number {
    return this.entStart.get(d);
  }

  entryType(e: number): NodeType {
    return this.entType.get(e) as NodeType;
  }

  /** Entry e's name as a binary (latin1) string. */
  entryName(e: number): string {
    return this.names.latin1(this.entName.get(e), this.entNameLength.get(e));
  }

  /** Entry e's name bytes (a view). */
  entryNameBytes(e: number): Buffer {
    return this.names.view(this.entName.get(e), this.entNameLength.get(e));
  }

  // ---- directories ----

  dirParent(d: number): number {
    return this.dirParentCol.get(d);
  }

  dirMode(d: number): number {
    return this.dirModeCol.get(d);
  }

  dirMtime(d: number): number {
    return this.dirMtimeCol.get(d);
  }

  dirUid(d: number): number {
    return this.dirUidCol.get(d);
  }

  /** The first subdirectory of d (directory number); the next ones follow. */
  firstSubdir(d: number): number {
    return this.firstDir.get(d);
  }

  subdirCount(d: number): number {
    return this.firstDir.get(d + 1) - this.firstDir.get(d);
  }

  /** The first file of d (file number); the next ones follow. */
  firstFileOf(d: number): number {
    return this.firstFile.get(d);
  }

  dirVnode(d: number): number {
    return this.dirIds ? this.dirIds[2 * d] : 2 * d + 1;
  }

  dirUnique(d: number): number {
    return this.dirIds ? this.dirIds[2 * d + 1] : d + 1;
  }

  /** d's name in its parent ('' for the root). */
  dirName(d: number): string {
    const e = this.dirEntry.get(d);
    return e === NO_ENTRY ? '' : this.entryName(e);
  }

  /** d's path relative to the root, binary string ('.' for the root). */
  dirPath(d: number): string {
    if (d === 0) return '.';
    const parts: string[] = [];
    for (let x = d; x !== 0; x = this.dirParent(x)) parts.push(this.dirName(x));
    return parts.reverse().join('/');
  }

  /** d's path in the file system: the root as given, then '/' and a name for each level. */
  dirFsPath(d: number): Buffer {
    if (d === 0) return this.rootPath;
    const parts: Buffer[] = [];
    for (let x = d; x !== 0; x = this.dirParent(x)) parts.push(this.entryNameBytes(this.dirEntry.get(x)), SEP);
    parts.push(this.rootPath);
    return Buffer.concat(parts.reverse());
  }

  // ---- files and symbolic links ----

  fileMode(f: number): number {
    return this.fileModeCol.get(f);
  }

  fileMtime(f: number): number {
    return this.fileMtimeCol.get(f);
  }

  fileUid(f: number): number {
    return this.fileUidCol.get(f);
  }

  /** Bytes of the file, or of the link's target. */
  fileSize(f: number): number {
    return this.fileSizeCol.get(f);
  }

  fileVnode(f: number): number {
    return this.fileIds ? this.fileIds[2 * f] : 2 * f + 2;
  }

  fileUnique(f: number): number {
    return this.fileIds ? this.fileIds[2 * f + 1] : this.dirCount + f + 1;
  }

  /** The directory holding file f. */
  fileDir(f: number): number {
    let lo = 0;
    let hi = this.dirCount - 1;
    // The last directory whose first file is <= f (its files run up to the next one's first).
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.firstFile.get(mid) <= f) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The entry of file f (random access; the table is made on first use). */
  fileEntry(f: number): number {
    if (!this.fileEntryCol) {
      const t = (this.fileEntryCol = new Uint32Array(this.fileCount));
      const n = this.entType.length;
      for (let e = 0, k = 0; e < n; e++) if (this.entType.get(e) !== VNODE_DIR) t[k++] = e;
    }
    return this.fileEntryCol[f];
  }

  /** The target of symbolic link f (f must be one). */
  linkTarget(f: number): Buffer {
    let lo = 0;
    let hi = this.linkFile.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.linkFile.get(mid) < f) lo = mid + 1;
      else hi = mid;
    }
    return this.targets.view(this.linkAt.get(lo), this.fileSize(f));
  }

  // ---- numbering ----

  /** Give every vnode its own number and uniquifier (incremental dumps): starts from the full dump's. */
  renumber(): void {
    const dirs = (this.dirIds = new Float64Array(2 * this.dirCount));
    for (let d = 0; d < this.dirCount; d++) {
      dirs[2 * d] = 2 * d + 1;
      dirs[2 * d + 1] = d + 1;
    }
    const files = (this.fileIds = new Float64Array(2 * this.fileCount));
    for (let f = 0; f < this.fileCount; f++) {
      files[2 * f] = 2 * f + 2;
      files[2 * f + 1] = this.dirCount + f + 1;
    }
  }

  setDirIds(d: number, vnode: number, unique: number): void {
    this.dirIds![2 * d] = vnode;
    this.dirIds![2 * d + 1] = unique;
  }

  setFileIds(f: number, vnode: number, unique: number): void {
    this.fileIds![2 * f] = vnode;
    this.fileIds![2 * f + 1] = unique;
  }

  /** Bytes held by the columns (for the bench and tests). */
  get bytes(): number {
    let n = this.names.bytes + this.targets.bytes;
    for (const c of [this.entType, this.entName, this.entNameLength, this.dirParentCol, this.dirEntry, this.dirModeCol, this.dirMtimeCol,
      this.dirUidCol, this.entStart, this.firstDir, this.firstFile, this.fileModeCol, this.fileMtimeCol, this.fileUidCol, this.fileSizeCol,
      this.linkFile, this.linkAt]) n += c.bytes;
    return n;
  }
}

/** Walk the tree under `root` (breadth first, each directory's entries by name, as bytes). */
export async function walkTree(root: string): Promise<PackedTree> {
  const rootBuf = Buffer.from(root);
  let st;
  try {
    st = lstatSync(rootBuf);
  } catch (e) {
    throw ioError(e, root);
  }
  if (!st.isDirectory()) throw new DumpError('USAGE', 'not a directory', undefined, root);
  const tree = new PackedTree(rootBuf);
  tree.addDir(0, NO_ENTRY, st.mode & 0o7777, Math.floor(st.mtimeMs / 1000), st.uid);
  // An entry's path is built in one buffer (its directory's path, '/', its name), grown when needed.
  let pathBuf = Buffer.allocUnsafe(4096);
  for (let d = 0; d < tree.dirCount; d++) {
    tree.startDir();
    const dirPath = tree.dirFsPath(d);
    let names: string[];
    try {
      // Binary strings: one character a byte, so the default sort is the bytes' order.
      names = readdirSync(dirPath, { encoding: 'latin1' });
    } catch (e) {
      throw ioError(e, dirPath.toString());
    }
    names.sort();
    const base = dirPath.length + 1;
    let prefixed = false;
    for (const name of names) {
      if (base + name.length > pathBuf.length) {
        pathBuf = Buffer.allocUnsafe(2 * (base + name.length));
        prefixed = false;
      }
      if (!prefixed) {
        dirPath.copy(pathBuf, 0);
        pathBuf[base - 1] = 0x2f; // '/'
        prefixed = true;
      }
      pathBuf.write(name, base, 'latin1');
      const fsPath = pathBuf.subarray(0, base + name.length);
      let s;
      try {
        s = lstatSync(fsPath);
      } catch (e) {
        throw ioError(e, fsPath.toString());
      }
      const mode = s.mode & 0o7777;
      const mtime = Math.floor(s.mtimeMs / 1000);
      if (s.isDirectory()) {
        tree.addDir(d, tree.addEntry(VNODE_DIR, name), mode, mtime, s.uid);
      } else if (s.isFile()) {
        tree.addEntry(VNODE_FILE, name);
        tree.addFile(mode, mtime, s.uid, s.size);
      } else if (s.isSymbolicLink()) {
        let target: Buffer;
        try {
          target = readlinkSync(fsPath, { encoding: 'buffer' });
        } catch (e) {
          throw ioError(e, fsPath.toString());
        }
        tree.addEntry(VNODE_SYMLINK, name);
        tree.addFile(mode, mtime, s.uid, target.length, target);
      } else {
        const dp = tree.dirPath(d);
        tree.skipped.push(dp === '.' ? name : `${dp}/${name}`);
      }
    }
  }
  tree.startDir();
  return tree;
}
