/**
 * A larger pipe for standard input.
 *
 * Linux gives a pipe 64 KiB of buffer. A producer such as `cat` or
 * `volutil dump` writes 128 KiB at a time, so with the default pipe, producer
 * and reader wake each other for every 64 KiB: over 30,000 handoffs per
 * 2 GiB. On a machine with few cores or costly wake-ups (virtual machines),
 * those handoffs cost more than copying the bytes. With a 1 MiB pipe the
 * producer runs ahead while redump hashes and writes.
 *
 * Node has no fcntl(), so F_SETPIPE_SZ is called through koffi (see
 * io/native.ts). Where koffi is missing or cannot load, or the kernel
 * refuses, the pipe keeps its size. That costs speed and nothing else, so
 * it is not an error.
 */
import { fstatSync, readFileSync } from 'node:fs';
import { libc } from './native.js';

/** What redump asks for: the usual unprivileged limit (/proc/sys/fs/pipe-max-size). */
export const PIPE_BYTES = 1 << 20;

// <linux/fcntl.h>: F_LINUX_SPECIFIC_BASE (1024) + 7 and + 8.
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;

export interface PipeCapacity {
  /** The pipe's capacity in bytes before: 65,536 unless something enlarged it. */
  before: number;
  /** Its capacity now. */
  after: number;
}

/** The system's limit for an unprivileged pipe, or undefined where it cannot be read. */
function pipeMaxSize(): number | undefined {
  try {
    const n = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'ascii').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * If `fd` is a pipe, grow its buffer to `bytes` (default PIPE_BYTES, capped
 * at the system's pipe-max-size; never shrinks it). Returns the capacity
 * before and after, or undefined when `fd` is not a pipe or its capacity
 * cannot be read here (not Linux, koffi unavailable).
 */
export function enlargePipe(fd: number, bytes: number = PIPE_BYTES): PipeCapacity | undefined {
  try {
    if (!fstatSync(fd).isFIFO()) return undefined;
  } catch {
    return undefined;
  }
  const c = libc();
  if (c === null) return undefined;
  const before = c.fcntl(fd, F_GETPIPE_SZ, 0);
  if (before <= 0) return undefined;
  const max = pipeMaxSize();
  const want = max === undefined ? bytes : Math.min(bytes, max);
  if (want > before) c.fcntl(fd, F_SETPIPE_SZ, want); // refused (EPERM: the user's pipe quota): it keeps its size
  const after = c.fcntl(fd, F_GETPIPE_SZ, 0);
  return { before, after: after > 0 ? after : before };
}
