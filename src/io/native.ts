/**
 * The system calls Node does not offer and codadump benefits from:
 * fcntl(F_SETPIPE_SZ) to grow an input pipe (io/pipe.ts),
 * madvise(MADV_HUGEPAGE) for the writer's ring (io/ring-writer.ts), and
 * copy_file_range with lseek(SEEK_DATA/SEEK_HOLE) to copy file ranges in
 * the kernel, and sync_file_range to start writing them to disk early
 * (AtomicOutput.copyFrom: merge and repair; on a libuv thread, so that the
 * disk work is started beside the copy). All are
 * called through koffi, a foreign function interface for Node with prebuilt
 * binaries, which is an *optional* dependency.
 *
 * Everything here is best effort. Where koffi is missing or cannot load, or
 * the platform is not Linux, libc() returns null and callers carry on
 * without: the output is the same, only slower.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The little of koffi used here (its own types are not needed to build: it is optional). */
interface Koffi {
  load(path: string): { func(declaration: string): unknown };
  address(view: Uint8Array): bigint;
  errno(): number;
}

export interface Libc {
  /** fcntl(fd, cmd, arg) with an int argument: the call's result, -1 on error. */
  fcntl(fd: number, cmd: number, arg: number): number;
  /** madvise(address, length, advice): 0, or -1 on error. */
  madvise(address: bigint, length: number, advice: number): number;
  /** Address of a view's first byte. */
  address(view: Uint8Array): bigint;
  /**
   * copy_file_range(fdIn, &posIn, fdOut, &posOut, length, 0): bytes copied
   * (0 at the end of the input), or -1 on error (see errno()).
   */
  copyFileRange(fdIn: number, posIn: number, fdOut: number, posOut: number, length: number): number;
  /** sync_file_range(fd, offset, nbytes, flags): 0, or -1 on error (see errno()). */
  syncFileRange(fd: number, offset: number, nbytes: number, flags: number): number;
  /**
   * sync_file_range on one of libuv's threads (koffi's asynchronous call):
   * returns at once, `done` gets its result on the event loop. The call may
   * run after the caller has moved on: give it a descriptor that stays
   * open until `done` (dup()).
   */
  syncFileRangeAsync(fd: number, offset: number, nbytes: number, flags: number, done: (result: number) => void): void;
  /** fcntl(fd, F_DUPFD_CLOEXEC, 0): a new descriptor of the same open file, closed on exec (as node's own), or -1 on error. */
  dup(fd: number): number;
  /** lseek(fd, offset, whence): the new offset, or -1 on error (see errno()). */
  lseek(fd: number, offset: number, whence: number): number;
  /** errno of the last failed call made here. */
  errno(): number;
}

/**
 * koffi. Its own loader (require('koffi')) searches node_modules for it and
 * for its platform package, compiles its JavaScript and reads the ELF header
 * of node's executable to choose between its glibc and musl binaries: 10 to
 * 15 ms of a merge's start, against 3 to 5 for loading the binary alone
 * (issue #17). So where npm put koffi beside this package's code (its own
 * node_modules, or the node_modules it is installed in) with the platform
 * package next to it, the binary is loaded directly, once its version is
 * the installed koffi's. Anywhere else, or if that binary does not load,
 * koffi's own loader is used, as before; it throws when koffi is absent.
 */
function loadKoffi(): Koffi {
  const require = createRequire(import.meta.url);
  return koffiBinary(require) ?? (require('koffi') as Koffi);
}

/** koffi's native module for this platform from where npm installs it, or undefined where it is not there. */
function koffiBinary(require: NodeJS.Require): Koffi | undefined {
  // This file runs from <package>/dist/io/, <package>/dist/bundle/ or <package>/src/io/.
  for (const up of ['../../node_modules/', '../../../']) {
    const dir = new URL(up, import.meta.url);
    if (!dir.pathname.endsWith('/node_modules/')) continue;
    let version: unknown;
    try {
      version = (JSON.parse(readFileSync(new URL('koffi/package.json', dir), 'utf8')) as { version?: unknown }).version;
    } catch {
      continue; // no koffi here
    }
    // koffi 3's layout: @koromix/koffi-<platform>-<arch>/<platform>_<arch>/koffi.node (glibc's; musl's is another directory).
    const binary = new URL(`@koromix/koffi-${process.platform}-${process.arch}/${process.platform}_${process.arch}/koffi.node`, dir);
    if (!existsSync(binary)) return undefined;
    try {
      const native = require(fileURLToPath(binary)) as Partial<Koffi> & { version?: unknown };
      if (native.version === version && typeof native.load === 'function' && typeof native.address === 'function' && typeof native.errno === 'function') {
        return native as Koffi;
      }
    } catch {
      // Not loadable here (another libc...): koffi's loader chooses.
    }
    return undefined;
  }
  return undefined;
}

let bound: Libc | null | undefined;
/** libc.so.6 as koffi loaded it for libc(): further functions are bound from it, not loaded again. */
let libcHandle: ReturnType<Koffi['load']> | undefined;

/** fcntl command: duplicate a descriptor with FD_CLOEXEC set (Linux). */
const F_DUPFD_CLOEXEC = 1030;

/**
 * libc's functions, bound on first use (about 10 ms: a run that needs none
 * of them never pays for koffi); null where that is not possible.
 */
export function libc(): Libc | null {
  if (bound !== undefined) return bound;
  bound = null;
  if (process.platform !== 'linux') return bound;
  try {
    const koffi = loadKoffi();
    const lib = koffi.load('libc.so.6');
    libcHandle = lib;
    const fcntl = lib.func('int fcntl(int fd, int cmd, ...)') as (fd: number, cmd: number, type: 'int', arg: number) => number;
    const madvise = lib.func('int madvise(uintptr_t addr, size_t len, int advice)') as (a: bigint, l: number, adv: number) => number;
    const cfr = lib.func(
      'int64_t copy_file_range(int fd_in, _Inout_ int64_t *off_in, int fd_out, _Inout_ int64_t *off_out, size_t len, unsigned int flags)',
    ) as (fdIn: number, posIn: number[], fdOut: number, posOut: number[], len: number, flags: number) => number | bigint;
    const lseek = lib.func('int64_t lseek(int fd, int64_t offset, int whence)') as (fd: number, off: number, whence: number) => number | bigint;
    type Sfr = ((fd: number, off: number, n: number, flags: number) => number) & {
      async(fd: number, off: number, n: number, flags: number, cb: (err: unknown, res: number) => void): void;
    };
    const sfr = lib.func('int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)') as Sfr;
    bound = {
      fcntl: (fd, cmd, arg) => fcntl(fd, cmd, 'int', arg),
      madvise: (address, length, advice) => madvise(address, length, advice),
      address: (view) => koffi.address(view),
      copyFileRange: (fdIn, posIn, fdOut, posOut, length) => Number(cfr(fdIn, [posIn], fdOut, [posOut], length, 0)),
      lseek: (fd, offset, whence) => Number(lseek(fd, offset, whence)),
      syncFileRange: (fd, offset, nbytes, flags) => sfr(fd, offset, nbytes, flags),
      syncFileRangeAsync: (fd, offset, nbytes, flags, done) => sfr.async(fd, offset, nbytes, flags, (err, res) => done(err ? -1 : res)),
      dup: (fd) => fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0),
      errno: () => koffi.errno(),
    };
  } catch {
    bound = null;
  }
  return bound;
}

/** Transparent huge page size on x86-64 and arm64 (4 KiB base pages). */
export const HUGE_PAGE = 2 * 1024 * 1024;

const MADV_HUGEPAGE = 14;

/**
 * Ask the kernel to back `view` with transparent huge pages: the part of it
 * from its first 2 MiB boundary on, in whole huge pages. Returns that
 * boundary as an offset into `view` (the caller can start its data there),
 * or undefined when it cannot be done here (no koffi, not Linux, the view
 * too small, madvise refused). Only worth it on memory not yet touched.
 *
 * Why: redump's ring is written by the kernel (reads from a pipe), pinned
 * for O_DIRECT writes and read by SHA-256, over and over. In 4 KiB pages
 * that is 4,000 pages per 16 MiB, each with its own TLB entry and, for
 * direct I/O, its own pin; in a virtual machine every TLB miss walks two
 * page tables. On a 2-core VM, redump's median went up 14% with huge pages.
 */
export function adviseHugePages(view: Uint8Array): number | undefined {
  const c = libc();
  if (c === null) return undefined;
  const start = c.address(view);
  const skip = Number((BigInt(HUGE_PAGE) - (start % BigInt(HUGE_PAGE))) % BigInt(HUGE_PAGE));
  const length = Math.floor((view.byteLength - skip) / HUGE_PAGE) * HUGE_PAGE;
  if (length <= 0) return undefined;
  return c.madvise(start + BigInt(skip), length, MADV_HUGEPAGE) === 0 ? skip : undefined;
}

/** mallopt's parameter numbers (glibc malloc.h). */
const M_MMAP_THRESHOLD = -3;

let malloc: { trim(pad: number): number; opt(param: number, value: number): number } | null | undefined;

/** glibc's malloc_trim and mallopt, bound on first use; null where there are none (no koffi, another libc). */
function mallocControl(): typeof malloc {
  if (malloc !== undefined) return malloc;
  malloc = null;
  const lib = libc() === null ? undefined : libcHandle;
  if (lib === undefined) return malloc;
  try {
    const trim = lib.func('int malloc_trim(size_t pad)') as (pad: number) => number;
    const opt = lib.func('int mallopt(int param, int value)') as (param: number, value: number) => number;
    malloc = { trim, opt };
  } catch {
    malloc = null;
  }
  return malloc;
}

/**
 * Allocations of `bytes` and more get their own mappings, given back to the
 * system when freed (mallopt M_MMAP_THRESHOLD). glibc otherwise raises
 * this threshold each time it frees such a mapping, up to 32 MiB, and
 * from then on serves large buffers from its heap, where freed memory mostly
 * stays in the process. Best effort: false where it cannot be done.
 */
export function fixMmapThreshold(bytes: number): boolean {
  return mallocControl()?.opt(M_MMAP_THRESHOLD, bytes) === 1;
}

/** Give the memory malloc holds free back to the system (malloc_trim(0)). Best effort: false where it cannot be done. */
export function trimMalloc(): boolean {
  const m = mallocControl();
  if (!m) return false;
  m.trim(0);
  return true;
}
