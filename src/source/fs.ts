/**
 * The one file-system seam. Every file-system call the dump sources
 * (FileSource), the archive tree walk (check/walk.ts) and AtomicOutput
 * make goes through a `FileSystem`; the default is node:fs itself. A
 * caller (a test) passes another one as the explicit `fs` option to make
 * the world fail: EIO on the Nth read, ENOSPC or EDQUOT on a write, EACCES
 * on a directory, a file that grows while it is read. No environment
 * variable, no module-level switch: the logic under test runs unchanged,
 * only the calls at the edge answer differently.
 */
import * as nodeFs from 'node:fs';
import * as fsp from 'node:fs/promises';

/** What a source needs of an open file. node's FileHandle is one. */
export interface ReadHandle {
  /** The descriptor, when there is one (kernel copies, positional reads made elsewhere). */
  readonly fd?: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<nodeFs.Stats>;
  close(): Promise<void>;
}

export interface FileSystem {
  // --- reading (sources, the tree walk) -------------------------------------
  /** Open a file for reading. */
  open(path: string): Promise<ReadHandle>;
  stat(path: string): Promise<nodeFs.Stats>;
  readdir(path: string): Promise<string[]>;
  // --- writing (AtomicOutput: synchronous, so the exit hook can clean up) ---
  openSync: typeof nodeFs.openSync;
  readSync: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;
  writeSync: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;
  fsyncSync: typeof nodeFs.fsyncSync;
  closeSync: typeof nodeFs.closeSync;
  ftruncateSync: typeof nodeFs.ftruncateSync;
  renameSync: typeof nodeFs.renameSync;
  linkSync: typeof nodeFs.linkSync;
  unlinkSync: typeof nodeFs.unlinkSync;
  lstatSync: (p: string) => nodeFs.Stats;
  readdirSync: (p: string) => string[];
}

/** node:fs, unchanged. */
export const nodeFileSystem: FileSystem = {
  open: (p) => fsp.open(p, 'r'),
  stat: (p) => fsp.stat(p),
  readdir: (p) => fsp.readdir(p),
  openSync: nodeFs.openSync,
  readSync: (fd, buf, offset, length, position) => nodeFs.readSync(fd, buf, offset, length, position),
  writeSync: (fd, buf, offset, length, position) => nodeFs.writeSync(fd, buf, offset, length, position),
  fsyncSync: nodeFs.fsyncSync,
  closeSync: nodeFs.closeSync,
  ftruncateSync: nodeFs.ftruncateSync,
  renameSync: nodeFs.renameSync,
  linkSync: nodeFs.linkSync,
  unlinkSync: nodeFs.unlinkSync,
  lstatSync: (p) => nodeFs.lstatSync(p),
  readdirSync: (p) => nodeFs.readdirSync(p),
};

/** The seam to use: the caller's, completed with node:fs for what it leaves out. */
export function fileSystem(fs?: Partial<FileSystem>): FileSystem {
  return fs ? { ...nodeFileSystem, ...fs } : nodeFileSystem;
}
