/**
 * Output file written atomically: bytes go to a temporary file next to the
 * final path, and only `commit()` makes them appear under the final name
 * (fsync, close, rename or no-clobber link, fsync of the directory).
 *
 * Failure policy: a failed output is REMOVED. If a write or the commit
 * fails, or the caller calls `abort()`, the temporary file is closed and
 * unlinked and nothing appears under (or replaces) the final name. A
 * half-written dump is never left behind where it could be mistaken for a
 * good one. Temporary files still pending when the process exits are
 * unlinked by runExitCleanups (io/exit-cleanup.ts), which the command line
 * calls on 'exit' (a SIGKILL can still leave a `.partial` file, whose name
 * makes it obvious).
 */

import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DumpError, ioError } from '../format/errors.js';
import { registerExitCleanup } from './exit-cleanup.js';
import { sparseRuns, zeroBlock } from './sparse.js';

/** The file-system calls AtomicOutput makes; tests may replace any of them. */
export interface AtomicFs {
  openSync: typeof nodeFs.openSync;
  writeSync: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;
  fsyncSync: typeof nodeFs.fsyncSync;
  closeSync: typeof nodeFs.closeSync;
  ftruncateSync: typeof nodeFs.ftruncateSync;
  renameSync: typeof nodeFs.renameSync;
  linkSync: typeof nodeFs.linkSync;
  unlinkSync: typeof nodeFs.unlinkSync;
  lstatSync: (p: string) => nodeFs.Stats;
}

const realFs: AtomicFs = {
  openSync: nodeFs.openSync,
  writeSync: (fd, buf, offset, length, position) => nodeFs.writeSync(fd, buf, offset, length, position),
  fsyncSync: nodeFs.fsyncSync,
  closeSync: nodeFs.closeSync,
  ftruncateSync: nodeFs.ftruncateSync,
  renameSync: nodeFs.renameSync,
  linkSync: nodeFs.linkSync,
  unlinkSync: nodeFs.unlinkSync,
  lstatSync: (p) => nodeFs.lstatSync(p),
};

export interface AtomicOutputOptions {
  /** Replace an existing file at the final path (checked at open and again at commit). */
  force?: boolean;
  /**
   * Sparse mode: all-zero runs (in SPARSE_BLOCK pieces) are not written,
   * only skipped over; commit() sets the file's size with ftruncate. The
   * file reads back identical. Writes are positional internally (to our own
   * temporary file, at our own running position), which does not break the
   * append contract: nothing here ever seeks to a received 32-bit offset.
   */
  sparse?: boolean;
  /** Mode for the new file (default 0o666, minus the umask). */
  mode?: number;
  /** Size of the internal coalescing buffer for small writes (default 1 MiB; 0 = none). */
  bufferSize?: number;
  /** File-system implementation override (tests). */
  fsImpl?: Partial<AtomicFs>;
  /**
   * Test hook: fail with ENOSPC once more than this many bytes would have
   * been stored (the bytes up to the limit are written, as a full disk does).
   */
  failAfterBytes?: number;
}

/** The zero-skip lives in io/sparse.ts; re-exported for existing callers. */
export { SPARSE_BLOCK, isZeroRange } from './sparse.js';

function enospc(): NodeJS.ErrnoException {
  const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
  e.code = 'ENOSPC';
  e.errno = -28;
  e.syscall = 'write';
  return e;
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

type State = 'open' | 'committed' | 'aborted';

export class AtomicOutput {
  /** The final path. */
  readonly path: string;
  /** The temporary file in the same directory. */
  readonly tempPath: string;
  private readonly fs: AtomicFs;
  private readonly force: boolean;
  private readonly sparse: boolean;
  private readonly failAfter: number | undefined;
  private fd: number | undefined;
  private state: State = 'open';
  /** Logical bytes accepted (including skipped zeros and bytes still buffered). */
  private written = 0;
  /** File position of the next byte to flush (holes included). */
  private flushed = 0;
  /** Bytes actually stored (for failAfterBytes). */
  private stored = 0;
  private readonly buf: Buffer | undefined;
  private bufUsed = 0;
  /** Bytes were stored by another writer (wroteExternally): commit sets the size. */
  private external = false;
  /** Unregisters the exit cleanup (abort) once committed or aborted. */
  private unregister: () => void = () => {};

  constructor(finalPath: string, opts: AtomicOutputOptions = {}) {
    this.fs = { ...realFs, ...opts.fsImpl };
    this.path = finalPath;
    this.force = opts.force ?? false;
    this.sparse = opts.sparse ?? false;
    this.failAfter = opts.failAfterBytes;
    const bufferSize = opts.bufferSize ?? 1024 * 1024;
    this.buf = bufferSize > 0 ? Buffer.allocUnsafe(bufferSize) : undefined;

    if (!this.force && this.exists(finalPath)) {
      throw new DumpError('EXISTS', `${finalPath} already exists (use --force to replace it)`, undefined, finalPath);
    }
    const abs = path.resolve(finalPath);
    const dir = path.dirname(abs);
    const base = path.basename(abs);
    this.tempPath = path.join(dir, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.partial`);
    try {
      this.fd = this.fs.openSync(this.tempPath, 'wx', opts.mode ?? 0o666);
    } catch (e) {
      this.state = 'aborted';
      throw ioError(e, finalPath, 'cannot create output');
    }
    this.unregister = registerExitCleanup(() => this.abort());
  }

  /** Logical bytes written so far (what the final file's size will be). */
  get bytesWritten(): number {
    return this.written;
  }

  /**
   * The temporary file's descriptor, for a writer that stores the bytes
   * itself (another thread: RingWriter) and then reports them with
   * wroteExternally(). Mixing it with write() is the caller's business.
   */
  get descriptor(): number {
    if (this.state !== 'open' || this.fd === undefined) {
      throw new DumpError('IO', `cannot write: output already ${this.state}`, this.written, this.path);
    }
    return this.fd;
  }

  /**
   * Record that `bytes` more were stored through descriptor() after what
   * was written here; commit() then sets the file's size to bytesWritten
   * (trimming anything stored past it, making holes at the end real).
   */
  wroteExternally(bytes: number): void {
    this.flushBuffer();
    this.written += bytes;
    this.flushed = this.written;
    this.external = true;
  }

  get committed(): boolean {
    return this.state === 'committed';
  }

  private exists(p: string): boolean {
    try {
      this.fs.lstatSync(p);
      return true;
    } catch (e) {
      if (errCode(e) === 'ENOENT') return false;
      throw ioError(e, p, 'cannot check output');
    }
  }

  /**
   * Append bytes. Synchronous: small writes are coalesced in an internal
   * buffer, large ones go straight to the file with a positional write loop
   * (partial writes are continued). On failure the output is aborted (temp
   * file removed) and a DumpError 'IO' is thrown.
   */
  write(data: Buffer | Uint8Array): void {
    if (this.state !== 'open') {
      throw new DumpError('IO', `cannot write: output already ${this.state}`, this.written, this.path);
    }
    const src = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      const b = this.buf;
      if (b !== undefined && src.length < b.length) {
        if (this.bufUsed + src.length > b.length) this.flushBuffer();
        src.copy(b, this.bufUsed);
        this.bufUsed += src.length;
      } else {
        this.flushBuffer();
        this.store(src);
      }
      this.written += src.length;
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): never {
    const err = ioError(e, this.path, 'cannot write output');
    this.abort();
    throw err;
  }

  private flushBuffer(): void {
    if (this.buf !== undefined && this.bufUsed > 0) {
      const n = this.bufUsed;
      this.bufUsed = 0;
      this.store(this.buf.subarray(0, n));
    }
  }

  /** Put bytes at the file position `flushed`, skipping zero blocks in sparse mode. */
  private store(src: Buffer): void {
    if (!this.sparse) {
      this.rawWrite(src, 0, src.length);
      return;
    }
    sparseRuns(src, 0, src.length, zeroBlock(), (s, e) => this.rawWrite(src, s, e), (s, e) => {
      this.flushed += e - s; // a hole
    });
  }

  private rawWrite(src: Buffer, start: number, end: number): void {
    let off = start;
    while (off < end) {
      let len = end - off;
      let hitLimit = false;
      if (this.failAfter !== undefined && this.stored + len > this.failAfter) {
        len = Math.max(0, this.failAfter - this.stored);
        hitLimit = true;
        if (len === 0) throw enospc();
      }
      const n = this.fs.writeSync(this.fd as number, src, off, len, this.flushed);
      if (n <= 0) throw enospc();
      off += n;
      this.flushed += n;
      this.stored += n;
      if (hitLimit && n === len && off < end) throw enospc();
    }
  }

  /**
   * Flush, fsync, close, and move the temporary file to the final path.
   * Without `force`, the final path must still not exist: a hard link is
   * used so the check and the creation are one atomic step (falling back to
   * check-then-rename where hard links are unsupported). Then the directory
   * is fsynced so the new name is durable. Any failure removes the
   * temporary file and throws (DumpError 'EXISTS' or 'IO').
   */
  commit(): void {
    if (this.state !== 'open') {
      throw new DumpError('IO', `cannot commit: output already ${this.state}`, undefined, this.path);
    }
    const fd = this.fd as number;
    try {
      this.flushBuffer();
      // Skipped trailing zeros leave the file short, an external writer may
      // have stored past the end (direct I/O probe): set its size.
      if (this.sparse || this.external) this.fs.ftruncateSync(fd, this.written);
      this.fs.fsyncSync(fd);
      this.fd = undefined;
      this.fs.closeSync(fd);
    } catch (e) {
      const err = ioError(e, this.path, 'cannot write output');
      this.abort();
      throw err;
    }
    try {
      if (this.force) {
        this.fs.renameSync(this.tempPath, this.path);
      } else {
        this.linkNoClobber();
      }
    } catch (e) {
      this.abort();
      if (e instanceof DumpError) throw e;
      throw ioError(e, this.path, 'cannot rename output into place');
    }
    this.state = 'committed';
    this.unregister();
    this.syncDir();
  }

  private linkNoClobber(): void {
    const existsErr = () =>
      new DumpError('EXISTS', `${this.path} appeared while it was being written (use --force to replace it)`, undefined, this.path);
    try {
      this.fs.linkSync(this.tempPath, this.path);
    } catch (e) {
      const code = errCode(e);
      if (code === 'EEXIST') throw existsErr();
      // Hard links unsupported here (some network/FUSE/FAT file systems):
      // fall back to a check then a rename; the window between them is tiny.
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EXDEV' || code === 'EMLINK') {
        if (this.exists(this.path)) throw existsErr();
        this.fs.renameSync(this.tempPath, this.path);
        return;
      }
      throw e;
    }
    try {
      this.fs.unlinkSync(this.tempPath);
    } catch {
      // The output is in place; a leftover temp link is only untidy.
    }
  }

  private syncDir(): void {
    let dfd: number | undefined;
    try {
      dfd = this.fs.openSync(path.dirname(path.resolve(this.path)), 'r');
      this.fs.fsyncSync(dfd);
    } catch {
      // Directory fsync is unsupported on some platforms (EISDIR/EINVAL/EPERM);
      // the rename has happened, so this is best effort.
    } finally {
      if (dfd !== undefined) {
        try {
          this.fs.closeSync(dfd);
        } catch {
          /* ignore */
        }
      }
    }
  }

  /**
   * Discard the output: close and unlink the temporary file. Idempotent,
   * never throws; a no-op after commit().
   */
  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.unregister();
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      try {
        this.fs.closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    try {
      this.fs.unlinkSync(this.tempPath);
    } catch {
      /* already gone */
    }
  }
}
