/**
 * AtomicOutput's write-behind (repair's and merge's output): every 32 MiB
 * stored, the step is sent to disk (sync_file_range WRITE: the first here,
 * the others on libuv's threads through a duplicate of the descriptor, closed on exec) and the
 * step 4 steps before it is waited for (WAIT_BEFORE | WRITE | WAIT_AFTER =
 * 7); the bytes are the same as without. A sparse input keeps the test's
 * disk use small.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtomicOutput, WRITE_BEHIND, WRITE_BEHIND_LAG } from '../../src/io/atomic-output.js';
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

/** 200 MiB, a hole except 4 KiB of noise every 50 MiB. */
function input(path: string): Buffer {
  const size = 200 * MiB;
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  const want = Buffer.alloc(size);
  for (let i = 0; i < 4; i++) {
    const b = noise(4096, 20 + i);
    writeSync(fd, b, 0, b.length, i * 50 * MiB);
    b.copy(want, i * 50 * MiB);
  }
  closeSync(fd);
  return want;
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
  it('is 32 MiB steps, waited for 4 steps behind', () => {
    expect(WRITE_BEHIND).toBe(32 * MiB);
    expect(WRITE_BEHIND_LAG).toBe(4);
  });

  for (const on of [true, false]) {
    it(`${on ? 'sends each 32 MiB step to disk and waits for the one 4 steps before' : 'off: no sync_file_range'}; the same bytes`, async () => {
      const src = join(t.dir, 'in.bin');
      const want = input(src);
      const spy = vi.spyOn(libc()!, 'syncFileRange');
      const spyAsync = vi.spyOn(libc()!, 'syncFileRangeAsync');
      const fds = openFds();
      const p = join(t.dir, 'out.bin');
      const out = new AtomicOutput(p, { sparse: true, writeBehind: on });
      const fd = openSync(src, 'r');
      try {
        out.write(Buffer.from('head'));
        expect(out.copyFrom(fd, 0, want.length)).toBe(want.length);
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
      expect(readFileSync(p).equals(Buffer.concat([Buffer.from('head'), want, Buffer.from('tail')]))).toBe(true);
      const calls = spy.mock.calls.map(([, offset, nbytes, flags]) => [offset / MiB, nbytes / MiB, flags]);
      const started = spyAsync.mock.calls.map(([, offset, nbytes, flags]) => [offset / MiB, nbytes / MiB, flags]);
      // 4 + 200 MiB stored: the six steps [0, 32) .. [160, 192) started, the first here, the others on
      // libuv's threads; [0, 32) waited for when [128, 160) started, [32, 64) when [160, 192) did.
      expect(calls).toEqual(on ? [[0, 32, 2], [0, 32, 7], [32, 32, 7]] : []);
      expect(started).toEqual(on ? [[32, 32, 2], [64, 32, 2], [96, 32, 2], [128, 32, 2], [160, 32, 2]] : []);
      // The calls on libuv's threads went through a dup of the descriptor, closed once they are done.
      if (on) expect(new Set(spyAsync.mock.calls.map((c) => c[0])).size).toBe(1);
      await settle();
      expect(openFds()).toBe(fds);
    });
  }

  it('a failed wait (EIO) fails the output: the kernel reports it there and not to the fsync after', async () => {
    const src = join(t.dir, 'in.bin');
    const want = input(src);
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
      // The wait comes when the step [128, 160) starts: at the tail's write, flushed at commit.
      expect(out.copyFrom(fd, 0, want.length)).toBe(want.length);
      out.write(Buffer.from('tail'));
      out.commit();
    } catch (e) {
      caught = e;
    } finally {
      closeSync(fd);
    }
    expect(caught).toBeInstanceOf(DumpError);
    expect((caught as DumpError).code).toBe('IO');
    expect((caught as Error).message).toContain('EIO');
    expect(existsSync(out.tempPath)).toBe(false);
    expect(existsSync(p)).toBe(false);
    await settle();
    expect(openFds()).toBe(fds);
  });
});
