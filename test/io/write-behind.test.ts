/**
 * AtomicOutput's write-behind (repair's and merge's output): every 32 MiB
 * stored, the step is sent to disk (sync_file_range WRITE: the first here,
 * the others on libuv's threads through a duplicate of the descriptor, closed on exec,
 * at most 64 of them not yet called back) and the step 16 steps before it
 * is waited for (WAIT_BEFORE | WRITE | WAIT_AFTER = 7); the bytes are the
 * same as without. Sparse inputs keep the test's disk use small.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtomicOutput, WRITE_BEHIND, WRITE_BEHIND_LAG, WRITE_BEHIND_PENDING } from '../../src/io/atomic-output.js';
import { DumpError } from '../../src/format/errors.js';
import { libc } from '../../src/io/native.js';
import { tempDir } from '../helpers.js';
import { noise } from '../tree.js';

const MiB = 1 << 20;

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => {
  vi.restoreAllMocks();
  t.cleanup();
});

/** A sparse input of `size` bytes: a hole except 4 KiB of noise at each of `at`. Returns the noise by position. */
function input(path: string, size: number, at: number[]): Map<number, Buffer> {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  const blocks = new Map<number, Buffer>();
  for (const [i, pos] of at.entries()) {
    const b = noise(4096, 20 + i);
    writeSync(fd, b, 0, b.length, pos);
    blocks.set(pos, b);
  }
  closeSync(fd);
  return blocks;
}

/** 584 MiB (18 whole steps and 8 MiB), noise every 50 MiB. */
const SIZE = 584 * MiB;
const EVERY_50 = Array.from({ length: 12 }, (_, i) => i * 50 * MiB);

/**
 * The output is `head`, the input (its noise where it was, zeros elsewhere)
 * shifted by head's length, then `tail`: read back 1 MiB at a time.
 */
function expectOutput(p: string, head: Buffer, size: number, blocks: Map<number, Buffer>, tail: Buffer): void {
  const fd = openSync(p, 'r');
  try {
    const total = head.length + size + tail.length;
    expect(fstatSync(fd).size).toBe(total);
    const want = Buffer.alloc(MiB);
    const got = Buffer.alloc(MiB);
    for (let pos = 0; pos < total; pos += MiB) {
      const n = Math.min(MiB, total - pos);
      want.fill(0);
      // The pieces of head, noise and tail that fall in [pos, pos + n).
      const put = (b: Buffer, at: number) => {
        const s = Math.max(at, pos);
        const e = Math.min(at + b.length, pos + n);
        if (s < e) b.copy(want, s - pos, s - at, e - at);
      };
      put(head, 0);
      for (const [at, b] of blocks) put(b, head.length + at);
      put(tail, head.length + size);
      expect(readSync(fd, got, 0, n, pos)).toBe(n);
      if (!got.subarray(0, n).equals(want.subarray(0, n))) expect.fail(`output differs in [${pos}, ${pos + n})`);
    }
  } finally {
    closeSync(fd);
  }
}

/** The process's open descriptors. */
function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Until every write-behind call on libuv's threads has called back (their callbacks close the dup). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
}

describe('AtomicOutput writeBehind', () => {
  it('is 32 MiB steps, waited for 16 steps behind, at most 64 started on libuv\'s threads and not called back', () => {
    expect(WRITE_BEHIND).toBe(32 * MiB);
    expect(WRITE_BEHIND_LAG).toBe(16);
    expect(WRITE_BEHIND_PENDING).toBe(64);
  });

  for (const on of [true, false]) {
    it(`${on ? 'sends each 32 MiB step to disk and waits for the one 16 steps before' : 'off: no sync_file_range'}; the same bytes`, async () => {
      const src = join(t.dir, 'in.bin');
      const blocks = input(src, SIZE, EVERY_50);
      const spy = vi.spyOn(libc()!, 'syncFileRange');
      const spyAsync = vi.spyOn(libc()!, 'syncFileRangeAsync');
      const fds = openFds();
      const p = join(t.dir, 'out.bin');
      const out = new AtomicOutput(p, { sparse: true, writeBehind: on });
      const fd = openSync(src, 'r');
      try {
        out.write(Buffer.from('head'));
        expect(out.copyFrom(fd, 0, SIZE)).toBe(SIZE);
        if (on) {
          // The duplicate is closed on exec (O_CLOEXEC, 02000000 in fdinfo's octal flags), as node's own descriptors are.
          const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${spyAsync.mock.calls[0][0]}`, 'utf8'))![1];
          expect(parseInt(flags, 8) & 0o2000000).toBe(0o2000000);
        }
        out.write(Buffer.from('tail'));
        out.commit();
      } finally {
        closeSync(fd);
      }
      expectOutput(p, Buffer.from('head'), SIZE, blocks, Buffer.from('tail'));
      const calls = spy.mock.calls.map(([, offset, nbytes, flags]) => [offset / MiB, nbytes / MiB, flags]);
      const started = spyAsync.mock.calls.map(([, offset, nbytes, flags]) => [offset / MiB, nbytes / MiB, flags]);
      // 4 + 584 MiB stored: the 18 steps [0, 32) .. [544, 576) started, the first here, the others on
      // libuv's threads; [0, 32) waited for when [512, 544) started, [32, 64) when [544, 576) did.
      expect(calls).toEqual(on ? [[0, 32, 2], [0, 32, 7], [32, 32, 7]] : []);
      expect(started).toEqual(on ? Array.from({ length: 17 }, (_, k) => [32 * (k + 1), 32, 2]) : []);
      // The calls on libuv's threads went through a dup of the descriptor, closed once they are done.
      if (on) expect(new Set(spyAsync.mock.calls.map((c) => c[0])).size).toBe(1);
      await settle();
      expect(openFds()).toBe(fds);
    });
  }

  it('an output past 8 GiB written without a turn of the event loop: 64 steps on libuv\'s threads, the others started here (koffi refuses a 257th call)', async () => {
    // 8 GiB + 64 MiB of input (a hole but for noise at its start, in the middle and near its end): 258 steps.
    const size = 8 * 1024 * MiB + 64 * MiB;
    const src = join(t.dir, 'in.bin');
    const blocks = input(src, size, [0, 4 * 1024 * MiB + 12345, size - 4096]);
    const spy = vi.spyOn(libc()!, 'syncFileRange');
    const spyAsync = vi.spyOn(libc()!, 'syncFileRangeAsync');
    const fds = openFds();
    const p = join(t.dir, 'out.bin');
    const out = new AtomicOutput(p, { sparse: true, writeBehind: true });
    const fd = openSync(src, 'r');
    try {
      expect(out.copyFrom(fd, 0, size)).toBe(size);
      out.commit();
    } finally {
      closeSync(fd);
    }
    const steps = size / WRITE_BEHIND;
    expect(steps).toBe(258);
    // Steps 1 .. 64 on libuv's threads (none called back during the copy); 0 and 65 .. 257 started here.
    expect(spyAsync.mock.calls.map(([, offset]) => offset / WRITE_BEHIND)).toEqual(Array.from({ length: 64 }, (_, k) => k + 1));
    const startedHere = spy.mock.calls.filter(([, , , flags]) => flags === 2).map(([, offset]) => offset / WRITE_BEHIND);
    expect(startedHere).toEqual([0, ...Array.from({ length: steps - 65 }, (_, k) => k + 65)]);
    // Each step from the 16th on waited for the one 16 before it.
    const waited = spy.mock.calls.filter(([, , , flags]) => flags === 7).map(([, offset]) => offset / WRITE_BEHIND);
    expect(waited).toEqual(Array.from({ length: steps - 16 }, (_, k) => k));
    const rfd = openSync(p, 'r');
    try {
      expect(fstatSync(rfd).size).toBe(size);
      for (const [at, b] of blocks) {
        const got = Buffer.alloc(b.length + 2);
        const from = Math.max(0, at - 1);
        const n = readSync(rfd, got, 0, Math.min(got.length, size - from), from);
        const want = Buffer.alloc(n);
        b.copy(want, at - from);
        expect(got.subarray(0, n).equals(want)).toBe(true);
      }
    } finally {
      closeSync(rfd);
    }
    await settle();
    expect(openFds()).toBe(fds);
  });

  it('a failed wait (EIO) fails the output: the kernel reports it there and not to the fsync after', async () => {
    const src = join(t.dir, 'in.bin');
    input(src, SIZE, EVERY_50);
    const c = libc()!;
    const real = c.syncFileRange.bind(c);
    const realErrno = c.errno.bind(c);
    let failed = false;
    vi.spyOn(c, 'syncFileRange').mockImplementation((fd, offset, nbytes, flags) => (flags === 7 ? ((failed = true), -1) : real(fd, offset, nbytes, flags)));
    vi.spyOn(c, 'errno').mockImplementation(() => (failed ? 5 : realErrno()));
    const fds = openFds();
    const p = join(t.dir, 'out.bin');
    const out = new AtomicOutput(p, { sparse: true, writeBehind: true });
    const fd = openSync(src, 'r');
    let caught: unknown;
    try {
      // The first wait comes when the step [512, 544) starts, inside the copy.
      out.copyFrom(fd, 0, SIZE);
    } catch (e) {
      caught = e;
    } finally {
      closeSync(fd);
    }
    expect(failed).toBe(true);
    expect(caught).toBeInstanceOf(DumpError);
    expect((caught as DumpError).code).toBe('IO');
    expect((caught as Error).message).toContain('EIO');
    expect(existsSync(out.tempPath)).toBe(false);
    expect(existsSync(p)).toBe(false);
    await settle();
    expect(openFds()).toBe(fds);
  });
});
