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

import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { getSystemErrorName } from 'node:util';
import { DumpError, ioError } from '../format/errors.js';
import * as nodeFs from 'node:fs';
import { registerExitCleanup } from './exit-cleanup.js';
import { sparseRuns, zeroBlock } from './sparse.js';
import { libc, type Libc } from './native.js';
import { fileSystem, type FileSystem } from './fs.js';

/** The file-system calls AtomicOutput makes (a part of the seam in fs.ts). */
export type AtomicFs = Pick<
  FileSystem,
  'openSync' | 'readSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'ftruncateSync' | 'renameSync' | 'linkSync' | 'unlinkSync' | 'lstatSync' | 'readdirSync'
>;

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
  /** The file-system seam (default node:fs; tests pass one that fails). */
  fs?: Partial<FileSystem>;
  /** Older name for `fs`, kept for callers that use it; `fs` wins where both set a call. */
  fsImpl?: Partial<AtomicFs>;
  /**
   * Test hook: fail with ENOSPC once more than this many bytes would have
   * been stored (the bytes up to the limit are written, as a full disk does).
   */
  failAfterBytes?: number;
  /**
   * copyFrom() may copy in the kernel (copy_file_range through koffi,
   * io/native.ts) instead of reading and writing here (default true). It
   * never does with fs, fsImpl or failAfterBytes (those tests see every write).
   */
  kernelCopy?: boolean;
  /**
   * Write-behind (with the kernel copy, Linux): every WRITE_BEHIND bytes
   * stored, start writing them to disk (sync_file_range WRITE, on one of
   * libuv's threads: the submission's work is done beside the copy, not in
   * it) and wait for the step WRITE_BEHIND_LAG steps before. The disk then
   * works while the output is still being written, so commit()'s fsync
   * finds little left, and the output's dirty pages stay bounded. For big
   * outputs (repair, merge); default false.
   */
  writeBehind?: boolean;
}

/** lseek whence values (Linux). */
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
/** errno values after which copy_file_range is given up for plain reads and writes. */
const NO_KERNEL_COPY = new Set(['EXDEV', 'EINVAL', 'ENOSYS', 'EOPNOTSUPP', 'ENOTSUP', 'EBADF', 'EPERM', 'ETXTBSY']);
/** Largest piece one copy_file_range call is asked for (the kernel caps a call near 2 GiB anyway). */
const KERNEL_PIECE = 1 << 30;
/** Write-behind step (bytes). */
export const WRITE_BEHIND = 32 << 20;
/**
 * The step waited for is this many steps behind the one just started: at
 * most (WRITE_BEHIND_LAG + 1) steps (544 MiB) of the output are not yet on
 * disk. Deep enough that a disk slower for a moment (the machine shared)
 * does not stop the copy: 4 steps (160 MiB) left the copy waiting 0.5 s of
 * a 4.3 GB repair, 16 steps made the copy and its fsync about 15% quicker
 * (docs/performance-17.md, repairfast).
 */
export const WRITE_BEHIND_LAG = 16;
/**
 * Write-behind steps started on libuv's threads and not yet called back, at
 * most: past it a step is started here. A caller that does not turn the
 * event loop while it writes (repair's and merge's copies are synchronous)
 * never sees a call back, and koffi refuses more than 256 asynchronous calls
 * at once ("Too many asynchronous calls are running"): 256 steps of 32 MiB
 * would fail an output at 8 GiB.
 */
export const WRITE_BEHIND_PENDING = 64;
/** Largest piece one copy_file_range call is asked for with write-behind (each piece is followed by writeBack). */
const BEHIND_PIECE = 64 << 20;
/** sync_file_range flags (Linux). */
const SYNC_FILE_RANGE_WAIT_BEFORE = 1;
const SYNC_FILE_RANGE_WRITE = 2;
const SYNC_FILE_RANGE_WAIT_AFTER = 4;

function errnoError(errno: number, syscall: string): NodeJS.ErrnoException {
  let code = 'EIO';
  try {
    code = getSystemErrorName(-errno);
  } catch {
    /* unknown errno: EIO */
  }
  const e = new Error(`${code}: ${syscall} failed`) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = -errno;
  e.syscall = syscall;
  return e;
}

/**
 * The temporary file's name: `.<final name>.<pid>.<12 hex digits>.partial`
 * in the final file's directory. Hidden, named after its output and its
 * writer, and ending in `.partial`, so a file left by a killed run is
 * recognisable at a glance (and by removeStaleTemps).
 */
export function tempName(base: string, pid: number, nonce: string): string {
  return `.${base}.${pid}.${nonce}.partial`;
}

const TEMP_RE = /^\.(.+)\.(\d+)\.([0-9a-f]{12})\.partial$/;

/** True when a process with this id exists (EPERM: it exists, but is another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

/**
 * Is `name` a temporary file made by tempName() (for any final name) whose
 * writer's process no longer exists? (extract -C leaves one per directory
 * at most; the next run into that directory removes it.)
 */
export function isDeadWritersTemp(name: string): boolean {
  const m = TEMP_RE.exec(name);
  if (!m) return false;
  const pid = Number(m[2]);
  return pid !== process.pid && !alive(pid);
}

/**
 * Remove temporary files a killed run (SIGKILL, power loss) left for the
 * same final name in `dir`: names made by tempName() for `base` whose
 * writer's process no longer exists. Best effort: a file that cannot be
 * listed or removed is left alone, never an error. Returns the names removed.
 */
export function removeStaleTemps(fs: Pick<FileSystem, 'readdirSync' | 'unlinkSync'>, dir: string, base: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP_RE.exec(n);
    if (!m || m[1] !== base) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || alive(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, n));
      removed.push(n);
    } catch {
      /* someone else's, or already gone */
    }
  }
  return removed;
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
  /** libc for copyFrom's kernel copy; null once given up (or never wanted). */
  private kernel: Libc | null | undefined;
  /** copyFrom's buffer when it reads and writes here (allocated on first use). */
  private copyBuf: Buffer | undefined;
  /** Write-behind wanted (and not given up). */
  private writeBehind: boolean;
  /** Write-behind: file position up to which writing to disk was started. */
  private behind = 0;
  /**
   * Write-behind: a duplicate (closed on exec) of the temporary file's descriptor for the calls
   * made on libuv's threads (they may run after commit or abort closed the
   * file's own descriptor); -1 where there is none (the calls are then made
   * here), undefined before the first step.
   */
  private behindFd: number | undefined;
  /** Write-behind calls started on libuv's threads and not yet finished. */
  private behindPending = 0;

  constructor(finalPath: string, opts: AtomicOutputOptions = {}) {
    this.fs = fileSystem({ ...opts.fsImpl, ...opts.fs });
    this.path = finalPath;
    this.force = opts.force ?? false;
    this.sparse = opts.sparse ?? false;
    this.failAfter = opts.failAfterBytes;
    const bufferSize = opts.bufferSize ?? 1024 * 1024;
    this.kernel = opts.kernelCopy === false || opts.fsImpl !== undefined || opts.fs !== undefined || opts.failAfterBytes !== undefined ? null : undefined;
    this.buf = bufferSize > 0 ? Buffer.allocUnsafe(bufferSize) : undefined;
    this.writeBehind = opts.writeBehind === true && this.kernel === undefined;

    if (!this.force && this.exists(finalPath)) {
      throw new DumpError('EXISTS', `${finalPath} already exists (use --force to replace it)`, undefined, finalPath);
    }
    if (this.force) this.refuseNonRegular(finalPath);
    const abs = path.resolve(finalPath);
    const dir = path.dirname(abs);
    const base = path.basename(abs);
    removeStaleTemps(this.fs, dir, base);
    this.tempPath = path.join(dir, tempName(base, process.pid, randomBytes(6).toString('hex')));
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

  /**
   * --force replaces a file, never anything else: a rename over /dev/null,
   * a FIFO or a directory's symlink would put a regular file in its place.
   */
  private refuseNonRegular(p: string): void {
    let st;
    try {
      st = this.fs.lstatSync(p);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return;
      throw ioError(e, p, 'cannot check output');
    }
    if (!st.isFile()) throw new DumpError('EXISTS', `${p} exists and is not a regular file; not replaced, even with --force`, undefined, p);
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

  /**
   * Overwrite bytes already written, at `position` (position + length <=
   * bytesWritten): a count known only once the rest is written (merge's
   * streaming index headers). Not for sparse outputs. On failure the output
   * is aborted, as with write().
   */
  patch(position: number, data: Buffer): void {
    if (this.state !== 'open') {
      throw new DumpError('IO', `cannot write: output already ${this.state}`, this.written, this.path);
    }
    if (this.sparse || position < 0 || position + data.length > this.written) {
      throw new DumpError('IO', `cannot patch bytes ${position}..${position + data.length} of an output of ${this.written}`, position, this.path);
    }
    try {
      this.flushBuffer();
      let off = 0;
      while (off < data.length) {
        const n = this.fs.writeSync(this.fd as number, data, off, data.length - off, position + off);
        if (n <= 0) throw enospc();
        off += n;
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Append `length` bytes of the open file `fdIn` from its position
   * `position`, without bringing them into this process where it can:
   * copy_file_range in the kernel (no koffi, or a file system that refuses
   * it: read and write here, in 1 MiB pieces). In sparse mode the holes of
   * the input stay holes (lseek SEEK_DATA/SEEK_HOLE: what `cp` does);
   * without the kernel copy, zero blocks are skipped as write() does.
   * Returns the bytes appended: fewer than `length` only where the input
   * ends first. On failure the output is aborted, as with write().
   */
  copyFrom(fdIn: number, position: number, length: number): number {
    if (this.state !== 'open') {
      throw new DumpError('IO', `cannot write: output already ${this.state}`, this.written, this.path);
    }
    try {
      this.flushBuffer();
      if (this.kernel === undefined) this.kernel = process.platform === 'linux' ? libc() : null;
      let done = 0;
      if (this.kernel !== null) done = this.kernelCopy(this.kernel, fdIn, position, length);
      if (done < length && this.kernel === null) done += this.plainCopy(fdIn, position + done, length - done);
      return done;
    } catch (e) {
      this.fail(e);
    }
  }

  /** Kernel copy; stops early at the input's end or when the kernel refuses (this.kernel set to null). */
  private kernelCopy(c: Libc, fdIn: number, position: number, length: number): number {
    const fd = this.fd as number;
    const end = position + length;
    let p = position;
    while (p < end) {
      let dataEnd = end;
      if (this.sparse) {
        // Where the input's data starts and ends from p (ENXIO: only a hole is left).
        const d = c.lseek(fdIn, p, SEEK_DATA);
        if (d < 0) {
          const code = errnoError(c.errno(), 'lseek').code;
          if (code !== 'ENXIO') {
            this.kernel = null;
            return p - position;
          }
          // A hole up to the input's end (commit() sets the output's size), or past it.
          const gap = Math.max(0, Math.min(end, nodeFs.fstatSync(fdIn).size) - p);
          this.flushed += gap;
          this.written += gap;
          return p + gap - position;
        }
        if (d > p) {
          const gap = Math.min(d, end) - p;
          this.flushed += gap;
          this.written += gap;
          p += gap;
          continue;
        }
        const h = c.lseek(fdIn, p, SEEK_HOLE);
        if (h > p) dataEnd = Math.min(h, end);
      }
      while (p < dataEnd) {
        const n = c.copyFileRange(fdIn, p, fd, this.flushed, Math.min(dataEnd - p, this.writeBehind ? BEHIND_PIECE : KERNEL_PIECE));
        if (n < 0) {
          const err = errnoError(c.errno(), 'copy_file_range');
          if (NO_KERNEL_COPY.has(err.code!)) {
            this.kernel = null;
            return p - position;
          }
          throw err;
        }
        if (n === 0) return p - position; // the input ends here
        p += n;
        this.flushed += n;
        this.stored += n;
        this.written += n;
        this.writeBack();
      }
    }
    return length;
  }

  /**
   * Write-behind: for each whole WRITE_BEHIND step stored since the last,
   * start writing it to disk and wait until the step WRITE_BEHIND_LAG steps
   * before it is written. Only with the kernel copy's libc; a refusal of the
   * first step turns it off (commit's fsync still writes everything).
   *
   * The wait reports a failed write (EIO...) once, to this call and not to
   * a later fsync (the kernel's error mark of the open file is advanced):
   * so it fails the output here.
   */
  private writeBack(): void {
    if (!this.writeBehind || this.flushed - this.behind < WRITE_BEHIND) return;
    if (this.kernel === undefined) this.kernel = process.platform === 'linux' ? libc() : null;
    const c = this.kernel;
    if (c === null) return;
    const fd = this.fd as number;
    while (this.flushed - this.behind >= WRITE_BEHIND) {
      const start = this.behind;
      if (!this.startWriting(c, fd, start)) {
        this.writeBehind = false;
        return;
      }
      const back = start - WRITE_BEHIND_LAG * WRITE_BEHIND;
      if (back >= 0 && c.syncFileRange(fd, back, WRITE_BEHIND, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) !== 0) {
        throw errnoError(c.errno(), 'sync_file_range');
      }
      this.behind = start + WRITE_BEHIND;
    }
  }

  /**
   * Start writing the step at `start` to disk. The first step is written
   * here (a file system that refuses sync_file_range says so: false); the
   * others on libuv's threads, through a dup() of the descriptor, where
   * that can be made, and while fewer than WRITE_BEHIND_PENDING are
   * waiting to call back (else here).
   */
  private startWriting(c: Libc, fd: number, start: number): boolean {
    if (this.behindFd === undefined) {
      if (c.syncFileRange(fd, start, WRITE_BEHIND, SYNC_FILE_RANGE_WRITE) !== 0) return false;
      this.behindFd = c.dup(fd);
      return true;
    }
    if (this.behindFd < 0 || this.behindPending >= WRITE_BEHIND_PENDING) return c.syncFileRange(fd, start, WRITE_BEHIND, SYNC_FILE_RANGE_WRITE) === 0;
    // Its result is not needed: a failed write is reported by a later wait or by commit's fsync.
    this.behindPending++;
    c.syncFileRangeAsync(this.behindFd, start, WRITE_BEHIND, SYNC_FILE_RANGE_WRITE, () => {
      this.behindPending--;
      this.releaseWriteBehind();
    });
    return true;
  }

  /** Once committed or aborted and no write-behind call is pending: close the dup() of the descriptor. */
  private releaseWriteBehind(): void {
    if (this.state === 'open' || this.behindPending > 0 || this.behindFd === undefined || this.behindFd < 0) return;
    const d = this.behindFd;
    this.behindFd = -1;
    try {
      nodeFs.closeSync(d);
    } catch {
      /* ignore */
    }
  }

  /** Read and write here, through write()'s store (sparse mode skips zero blocks). */
  private plainCopy(fdIn: number, position: number, length: number): number {
    this.copyBuf ??= Buffer.allocUnsafe(1 << 20);
    const b = this.copyBuf;
    let done = 0;
    while (done < length) {
      const n = this.fs.readSync(fdIn, b, 0, Math.min(b.length, length - done), position + done);
      if (n === 0) break;
      this.store(b.subarray(0, n));
      this.written += n;
      done += n;
    }
    return done;
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
    this.writeBack();
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
    this.releaseWriteBehind();
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
    this.releaseWriteBehind();
  }
}
