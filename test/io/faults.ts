/**
 * Faults through the file-system seam (src/io/fs.ts): a FileSystem that
 * answers like node:fs except where a rule says otherwise. The code under
 * test is not touched; only the calls at its edge fail, as a bad disk, a
 * full quota or a permission would make them fail.
 */
import type { Stats } from 'node:fs';
import { nodeFileSystem, type FileSystem, type ReadHandle } from '../../src/io/fs.js';

const TEXT: Record<string, string> = {
  EIO: 'i/o error',
  EACCES: 'permission denied',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
};

/** An error shaped like node's own (code, errno, syscall, message). */
export function sysError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${TEXT[code] ?? code.toLowerCase()}, ${syscall}${path ? ` '${path}'` : ''}`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  if (path) e.path = path;
  return e;
}

export interface FaultRules {
  /** Error code for opening `path` for reading, or nothing. */
  open?: (path: string) => string | undefined;
  readdir?: (path: string) => string | undefined;
  stat?: (path: string) => string | undefined;
  /**
   * Called before each read of `path` at `position` for `length` bytes: an
   * error code fails the read; it may also change the real file first.
   */
  read?: (path: string, position: number, length: number) => string | undefined;
  /** Error code for a write of `length` bytes after `stored` bytes were written (a full disk: `stored + length > limit`). */
  write?: (stored: number, length: number) => string | undefined;
}

export function faultyFs(rules: FaultRules): FileSystem & { reads: { path: string; position: number }[] } {
  const base = nodeFileSystem;
  const reads: { path: string; position: number }[] = [];
  let stored = 0;
  const fail = (code: string | undefined, syscall: string, path?: string) => {
    if (code) throw sysError(code, syscall, path);
  };
  return {
    ...base,
    reads,
    async open(path: string): Promise<ReadHandle> {
      fail(rules.open?.(path), 'open', path);
      const fh = await base.open(path);
      return {
        async read(buffer: Buffer, offset: number, length: number, position: number) {
          reads.push({ path, position });
          fail(rules.read?.(path, position, length), 'read');
          return fh.read(buffer, offset, length, position);
        },
        stat: (): Promise<Stats> => fh.stat(),
        close: () => fh.close(),
      };
    },
    async readdir(path: string) {
      fail(rules.readdir?.(path), 'scandir', path);
      return base.readdir(path);
    },
    async stat(path: string) {
      fail(rules.stat?.(path), 'stat', path);
      return base.stat(path);
    },
    writeSync(fd: number, buf: Buffer, offset: number, length: number, position: number) {
      fail(rules.write?.(stored, length), 'write');
      const n = base.writeSync(fd, buf, offset, length, position);
      stored += n;
      return n;
    },
  };
}
