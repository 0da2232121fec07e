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
  /**
   * Direct I/O (Linux, with koffi; never with fs, fsImpl or failAfterBytes):
   * the temporary file is opened a second time with O_DIRECT, and the bytes
   * are gathered in DIRECT_SLOTS aligned slots of DIRECT_SLOT bytes; a full
   * slot's whole 4096-byte blocks go to disk from it, on one of libuv's
   * threads, without passing through the page cache (the few bytes of a
   * block cut short, at a hole or at the end, are written the usual way).
   * The disk then writes the output while it is made, at the speed of the
   * device and without the page cache's copy, and commit()'s fsync finds
   * nothing left. Where the file system refuses O_DIRECT (tmpfs, some
   * network file systems) or the first direct write, every write is the
   * usual one. Either way the file's bytes are the same. Write-behind is not
   * needed then and is not used. A caller that turns the event loop awaits
   * room() between pieces (while no slot is free, a full slot is written
   * here, synchronously), and must await drain() before patch() and
   * commit(). Default false.
   */
  direct?: boolean;
  /** Test hook: the calls direct I/O makes (open with O_DIRECT, the direct writes); node:fs by default. */
  directFs?: DirectFs;
}

/** The file-system calls of direct I/O (AtomicOutputOptions.directFs). */
export type DirectFs = Pick<typeof nodeFs, 'openSync' | 'writeSync' | 'write'>;

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
/** Direct I/O: file positions, lengths and memory addresses of direct writes are multiples of this. */
export const DIRECT_BLOCK = 4096;
/** Direct I/O: bytes gathered in one slot before it is written (a multiple of DIRECT_BLOCK and SPARSE_BLOCK). */
export const DIRECT_SLOT = 4 << 20;
/**
 * Direct I/O: slots, so up to DIRECT_SLOTS - 1 writes are with the disk
 * while the next slot fills (16 MiB in all: a 4.3 GB copy took 2.6 s with
 * 4 slots of 4 MiB, 2.9 s with 4 of 8 MiB, 3.1 s written here one at a time).
 */
export const DIRECT_SLOTS = 4;
/** Holes of the input at least this long are skipped by a direct copy, not read (shorter ones are read as zeros and not written either). */
const DIRECT_HOLE = DIRECT_SLOT;
/** errno values of a direct write that mean the file system does not take it: the usual writes then. */
const NO_DIRECT = new Set(['EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS']);

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
  /** Write-behind as asked for (direct I/O turns it off while it lasts). */
  private readonly writeBehindWanted: boolean;
  /** Direct I/O: the temporary file opened with O_DIRECT; -1 where there is none (not asked for, refused, or given up). */
  private dfd = -1;
  /** Direct I/O: the slots, aligned to DIRECT_BLOCK (made on first use). */
  private dslots: Buffer[] = [];
  /** Direct I/O: each slot's writes still with libuv's threads. */
  private dbusy = new Int32Array(DIRECT_SLOTS);
  /** Direct I/O: the slot being filled, -1 for none. */
  private dcur = -1;
  /** Direct I/O: file position of the current slot's first byte (a multiple of DIRECT_BLOCK). */
  private dbase = 0;
  /** Direct I/O: the current slot holds our bytes in [dfrom, dused) (dfrom > 0 after a hole or a drain). */
  private dfrom = 0;
  private dused = 0;
  /** Direct I/O: writes with libuv's threads, in all. */
  private dinflight = 0;
  /** Direct I/O: the first direct write was made (here, synchronously: a refusal turns direct I/O off). */
  private dprobed = false;
  /** Direct I/O: the first error of a write on libuv's threads (the next call fails the output with it). */
  private derror: unknown;
  /** Direct I/O: callers of room() and drain() waiting for a write to finish. */
  private dwaiters: (() => void)[] = [];
  /** Direct I/O: its calls (AtomicOutputOptions.directFs). */
  private dfs: DirectFs = nodeFs;
  /** Direct I/O: some bytes went to disk directly. */
  private wentDirect = false;

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
    this.writeBehindWanted = this.writeBehind;

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
    if (opts.directFs) this.dfs = opts.directFs;
    if (opts.direct === true && this.kernel === undefined && process.platform === 'linux') this.openDirect();
  }

  /**
   * Direct I/O: open the temporary file again with O_DIRECT (a file system
   * that refuses it, or no koffi to align the slots: none, the usual writes).
   */
  private openDirect(): void {
    const O_DIRECT = nodeFs.constants.O_DIRECT;
    if (O_DIRECT === undefined || libc() === null) return;
    try {
      this.dfd = this.dfs.openSync(this.tempPath, nodeFs.constants.O_WRONLY | O_DIRECT);
    } catch {
      this.dfd = -1;
      return;
    }
    this.writeBehind = false;
  }

  /** True while the output writes with direct I/O (asked for, not refused); room() and drain() then matter. */
  get directWrites(): boolean {
    return this.dfd >= 0;
  }

  /**
   * Give direct I/O up before the first byte is written (after it: no
   * effect): the usual writes, and write-behind if asked for. For a writer
   * that knows by then that the slots' memory would cost more than the
   * page cache's copy saves.
   */
  withoutDirect(): void {
    if (this.dfd >= 0 && this.written === 0 && this.dcur < 0 && this.dinflight === 0) this.giveUpDirect();
  }

  /** True once bytes of this output went to disk with direct I/O (see AtomicOutputOptions.direct). */
  get directIo(): boolean {
    return this.wentDirect;
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
      if (this.dfd >= 0) {
        this.directAppend(src);
        this.written += src.length;
        return;
      }
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
      this.directSettled('patch');
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
      if (this.dfd >= 0) {
        done = this.directCopy(fdIn, position, length);
        if (done === length || this.dfd >= 0) return done; // all of it, or the input ended
      }
      if (this.kernel !== null) done += this.kernelCopy(this.kernel, fdIn, position + done, length - done);
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
      const direct = this.dfd >= 0;
      this.directSettled('commit');
      // Skipped trailing zeros leave the file short, an external writer may
      // have stored past the end (direct I/O probe): set its size.
      if (this.sparse || this.external || direct) this.fs.ftruncateSync(fd, this.written);
      this.fs.fsyncSync(fd);
      this.fd = undefined;
      this.fs.closeSync(fd);
      this.releaseDirect();
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
    this.releaseDirect();
    this.wake();
  }

  // ---- Direct I/O (AtomicOutputOptions.direct) ----

  /**
   * Wait until a slot is free for the next one to fill (undefined: one is,
   * or there is no direct I/O). Lets the writes on libuv's threads call
   * back; a failed one fails the output at the next call.
   */
  room(): Promise<void> | undefined {
    if (!this.roomless()) return undefined;
    return (async () => {
      while (this.roomless()) await new Promise<void>((resolve) => this.dwaiters.push(resolve));
    })();
  }

  /**
   * No room: the slot filled next could not be written on libuv's threads
   * (no other slot free then). That slot is the current one, or, with none
   * current, a free one: then two must be free.
   */
  private roomless(): boolean {
    if (this.dfd < 0 || this.state !== 'open' || this.dinflight === 0) return false;
    let free = 0;
    for (let i = 0; i < DIRECT_SLOTS; i++) if (i !== this.dcur && this.dbusy[i] === 0) free++;
    return free < (this.dcur < 0 ? 2 : 1);
  }

  /**
   * Write what the current slot holds and wait for every direct write to
   * finish: before patch() and commit(). A failed write fails the output
   * (aborted, DumpError 'IO'). Nothing to do without direct I/O.
   */
  async drain(): Promise<void> {
    if (this.state !== 'open') {
      throw new DumpError('IO', `cannot write: output already ${this.state}`, this.written, this.path);
    }
    try {
      if (this.dcur >= 0) this.directSubmit(false);
      while (this.dinflight > 0 && this.state === 'open') await new Promise<void>((resolve) => this.dwaiters.push(resolve));
      if (this.derror !== undefined) throw this.derror;
    } catch (e) {
      this.fail(e);
    }
  }

  /** patch() and commit(): the current slot written here, nothing left with libuv's threads. */
  private directSettled(what: string): void {
    if (this.derror !== undefined) throw this.derror;
    if (this.dfd < 0) return;
    if (this.dcur >= 0) this.directSubmit(true);
    if (this.dinflight > 0) throw new DumpError('IO', `${what} while direct writes are still running (drain() first)`, this.written, this.path);
  }

  /** A slot with no write running, other than `not`; -1 when there is none. */
  private freeSlot(not: number): number {
    for (let i = 0; i < DIRECT_SLOTS; i++) if (i !== not && this.dbusy[i] === 0) return i;
    return -1;
  }

  /** Start filling a slot at the file position `flushed`. */
  private directSlot(): void {
    if (this.dslots.length === 0) {
      const c = libc() as Libc;
      for (let i = 0; i < DIRECT_SLOTS; i++) {
        const raw = Buffer.allocUnsafeSlow(DIRECT_SLOT + DIRECT_BLOCK);
        const skip = Number((BigInt(DIRECT_BLOCK) - (c.address(raw) % BigInt(DIRECT_BLOCK))) % BigInt(DIRECT_BLOCK));
        this.dslots.push(raw.subarray(skip, skip + DIRECT_SLOT));
      }
    }
    const i = this.freeSlot(-1);
    if (i < 0) throw new Error('no free direct I/O slot'); // cannot happen: a slot is written here when no other is free
    this.dcur = i;
    this.dbase = this.flushed - (this.flushed % DIRECT_BLOCK);
    this.dfrom = this.flushed - this.dbase;
    this.dused = this.dfrom;
  }

  /** Append `src` through the slots (write()). */
  private directAppend(src: Buffer): void {
    if (this.derror !== undefined) throw this.derror;
    let off = 0;
    while (off < src.length) {
      if (this.dcur < 0) this.directSlot();
      const n = Math.min(src.length - off, DIRECT_SLOT - this.dused);
      src.copy(this.dslots[this.dcur], this.dused, off, off + n);
      this.dused += n;
      this.flushed += n;
      off += n;
      if (this.dused === DIRECT_SLOT) this.directSubmit(false);
      if (this.dfd < 0) {
        // The file system refused the first direct write: the rest the usual way.
        if (off < src.length) this.store(src.subarray(off));
        return;
      }
    }
  }

  /**
   * copyFrom() through the slots: read into them, written from them. Long
   * holes of a sparse output's input are skipped (lseek SEEK_DATA), not
   * read. Returns the bytes appended: fewer than `length` where the input
   * ends first, or where direct I/O was given up (dfd < 0: the caller goes
   * on the usual way).
   */
  private directCopy(fdIn: number, position: number, length: number): number {
    if (this.derror !== undefined) throw this.derror;
    const end = position + length;
    const c = this.kernel ?? null;
    let p = position;
    while (p < end) {
      if (this.sparse && c !== null) {
        const d = c.lseek(fdIn, p, SEEK_DATA);
        // ENXIO: only a hole is left, up to the input's end (commit() sets the output's size).
        const rest = d < 0 && errnoError(c.errno(), 'lseek').code === 'ENXIO';
        const gap = rest ? Math.max(0, Math.min(end, nodeFs.fstatSync(fdIn).size) - p) : d - p >= DIRECT_HOLE ? Math.min(d, end) - p : 0;
        if (gap > 0) {
          if (this.dcur >= 0) this.directSubmit(false);
          this.flushed += gap;
          this.written += gap;
          p += gap;
        }
        if (rest) return p - position;
        if (gap > 0) continue;
      }
      if (this.dcur < 0) this.directSlot();
      const n = this.fs.readSync(fdIn, this.dslots[this.dcur], this.dused, Math.min(end - p, DIRECT_SLOT - this.dused), p);
      if (n === 0) break;
      this.dused += n;
      this.flushed += n;
      this.written += n;
      p += n;
      if (this.dused === DIRECT_SLOT) this.directSubmit(false);
      if (this.dfd < 0) break;
    }
    return p - position;
  }

  /**
   * Write the current slot's bytes: the whole blocks directly (in a sparse
   * output, not the all-zero SPARSE_BLOCK runs), on libuv's threads when
   * another slot is free to fill meanwhile (and not `here`), else here; the
   * parts of blocks at either end the usual way.
   */
  private directSubmit(here: boolean): void {
    const i = this.dcur;
    this.dcur = -1;
    const slot = this.dslots[i];
    const base = this.dbase;
    const from = this.dfrom;
    const used = this.dused;
    if (used <= from) return;
    const a = Math.min(used, from + ((DIRECT_BLOCK - (from % DIRECT_BLOCK)) % DIRECT_BLOCK));
    const z = Math.max(a, used - (used % DIRECT_BLOCK));
    if (a > from) this.plainAt(slot, from, a, base + from);
    if (z < used) this.plainAt(slot, z, used, base + z);
    if (z === a) return;
    const sync = here || !this.dprobed || this.freeSlot(i) < 0;
    const run = (s: number, e: number): void => {
      if (this.dfd < 0) this.plainAt(slot, s, e, base + s);
      else if (sync) this.directHere(slot, s, e, base + s);
      else this.directAsync(i, slot, s, e, base + s);
    };
    if (this.sparse) sparseRuns(slot, a, z, zeroBlock(), run, () => {});
    else run(a, z);
  }

  /** Bytes written the usual way (the ends of a slot cut short; everything once direct I/O is given up). */
  private plainAt(buf: Buffer, s: number, e: number, pos: number): void {
    for (let off = s; off < e; ) {
      const n = this.fs.writeSync(this.fd as number, buf, off, e - off, pos + off - s);
      if (n <= 0) throw enospc();
      off += n;
    }
  }

  /** A direct write made here; the first one of the output is the probe (refused: direct I/O is given up, the bytes written the usual way). */
  private directHere(buf: Buffer, s: number, e: number, pos: number): void {
    const first = !this.dprobed;
    this.dprobed = true;
    let off = s;
    try {
      while (off < e) {
        const n = this.dfs.writeSync(this.dfd, buf, off, e - off, pos + off - s);
        if (n <= 0) throw enospc();
        off += n;
        if (off < e && (off - s) % DIRECT_BLOCK !== 0) {
          // A short write that ends inside a block: the rest the usual way.
          this.plainAt(buf, off, e, pos + off - s);
          off = e;
        }
      }
      this.wentDirect = true;
    } catch (err) {
      if (!first || !NO_DIRECT.has(errCode(err) ?? '')) throw err;
      this.giveUpDirect();
      this.plainAt(buf, off, e, pos + off - s);
    }
  }

  /** A direct write on one of libuv's threads; its slot is busy until it calls back. */
  private directAsync(i: number, buf: Buffer, s: number, e: number, pos: number): void {
    this.dbusy[i]++;
    this.dinflight++;
    const fd = this.dfd;
    const go = (off: number): void => {
      this.dfs.write(fd, buf, off, e - off, pos + off - s, (err, n) => {
        if (!err && n > 0 && off + n < e && this.state === 'open') {
          if ((off + n - s) % DIRECT_BLOCK === 0) return go(off + n);
          try {
            this.plainAt(buf, off + n, e, pos + off + n - s);
          } catch (e2) {
            err = e2 as NodeJS.ErrnoException;
          }
        } else if (!err && n <= 0) err = enospc();
        this.dbusy[i]--;
        this.dinflight--;
        if (err && this.derror === undefined && this.state === 'open') this.derror = err;
        this.releaseDirect();
        this.wake();
      });
    };
    this.wentDirect = true;
    go(s);
  }

  /** The file system refused the first direct write: the usual writes from now on (and write-behind, if asked for). */
  private giveUpDirect(): void {
    const d = this.dfd;
    this.dfd = -1;
    try {
      nodeFs.closeSync(d);
    } catch {
      /* ignore */
    }
    this.writeBehind = this.writeBehindWanted;
  }

  /** Once committed or aborted and no direct write is running: close the O_DIRECT descriptor. */
  private releaseDirect(): void {
    if (this.state === 'open' && this.fd !== undefined) return;
    if (this.dinflight > 0 || this.dfd < 0) return;
    const d = this.dfd;
    this.dfd = -1;
    try {
      nodeFs.closeSync(d);
    } catch {
      /* ignore */
    }
  }

  private wake(): void {
    const w = this.dwaiters;
    if (w.length === 0) return;
    this.dwaiters = [];
    for (const f of w) f();
  }
}
