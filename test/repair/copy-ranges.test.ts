/**
 * RangeCopier, repair's write path: adjacent input ranges joined into one,
 * a record equal to its input bytes taken from the input, joined ranges of
 * 64 KiB and more copied by the kernel (one copy_file_range for a run),
 * smaller ones through the read-ahead window, a run copied as soon as it
 * is 64 MiB long; the bytes always those of the pieces in order.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtomicOutput } from '../../src/io/atomic-output.js';
import { libc } from '../../src/io/native.js';
import { DumpError } from '../../src/format/errors.js';
import { FileSource } from '../../src/source/file.js';
import { EARLY_COPY, KERNEL_MIN, RangeCopier } from '../../src/repair/copy-ranges.js';
import { tempDir } from '../helpers.js';
import { noise } from '../tree.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => {
  vi.restoreAllMocks();
  t.cleanup();
});

const N = 300_000;
const MiB = 1 << 20;

async function setup(direct = true) {
  const data = noise(N, 5);
  const inPath = join(t.dir, 'in.bin');
  writeFileSync(inPath, data);
  const src = await FileSource.open(inPath);
  const outPath = join(t.dir, 'out.bin');
  const out = new AtomicOutput(outPath, { sparse: true });
  const ended = (pos: number, vnode: string) => new DumpError('IO', `input ended at ${pos} while copying vnode ${vnode}`, pos, inPath);
  const copier = new RangeCopier(out, direct, ended);
  const spy = vi.spyOn(libc()!, 'copyFileRange');
  return { data, src, out, outPath, copier, spy };
}

describe('RangeCopier', () => {
  it('is 64 KiB', () => {
    expect(KERNEL_MIN).toBe(65536);
  });

  it('unchanged records and the data between them: one kernel copy of the whole run', async () => {
    const { data, src, out, outPath, copier, spy } = await setup();
    try {
      await copier.record(Buffer.from(data.subarray(0, 100)), src, 0, 100, '2.1');
      await copier.range(src, 100, 200_000, '2.1');
      await copier.record(Buffer.from(data.subarray(200_000, 200_100)), src, 200_000, 200_100, '4.2');
      await copier.range(src, 200_100, N, '4.2');
      await copier.finish();
      out.commit();
    } finally {
      await src.close();
    }
    expect(spy.mock.calls.map((c) => [c[1], c[4]])).toEqual([[0, N]]);
    expect(readFileSync(outPath).equals(data)).toBe(true);
  });

  it('a changed record is written, and splits the run; ranges under 64 KiB go through the window', async () => {
    const { data, src, out, outPath, copier, spy } = await setup();
    const changed = Buffer.from(data.subarray(200_000, 200_100));
    changed[7] ^= 0xff;
    try {
      await copier.record(Buffer.from(data.subarray(0, 100)), src, 0, 100, '2.1');
      await copier.range(src, 100, 200_000, '2.1');
      await copier.record(changed, src, 200_000, 200_100, '4.2');
      await copier.range(src, 200_100, 250_000, '4.2');
      await copier.bytes(Buffer.from('end'));
      await copier.finish();
      out.commit();
    } finally {
      await src.close();
    }
    expect(spy.mock.calls.map((c) => [c[1], c[4]])).toEqual([[0, 200_000]]);
    expect(readFileSync(outPath).equals(Buffer.concat([data.subarray(0, 200_000), changed, data.subarray(200_100, 250_000), Buffer.from('end')]))).toBe(true);
  });

  it('a joined run is copied as soon as it is 64 MiB long, and joining goes on after it', async () => {
    expect(EARLY_COPY).toBe(64 * MiB);
    // 150 MiB, a hole but for 4 KiB of noise every 10 MiB (little disk).
    const size = 150 * MiB;
    const inPath = join(t.dir, 'sparse.bin');
    const want = Buffer.alloc(size);
    const fd = openSync(inPath, 'w');
    ftruncateSync(fd, size);
    for (let k = 0; k < 15; k++) {
      const b = noise(4096, 30 + k);
      writeSync(fd, b, 0, b.length, k * 10 * MiB);
      b.copy(want, k * 10 * MiB);
    }
    closeSync(fd);
    const src = await FileSource.open(inPath);
    const outPath = join(t.dir, 'out.bin');
    const out = new AtomicOutput(outPath, { sparse: true });
    const copier = new RangeCopier(out, true, (pos, vnode) => new DumpError('IO', `input ended at ${pos} while copying vnode ${vnode}`, pos, inPath));
    const written: number[] = [];
    try {
      // Fifteen vnodes of 10 MiB each, one run: after each, what the output holds.
      for (let k = 0; k < 15; k++) {
        await copier.range(src, k * 10 * MiB, (k + 1) * 10 * MiB, `${2 * k + 2}.1`);
        written.push(out.bytesWritten / MiB);
      }
      await copier.finish();
      out.commit();
    } finally {
      await src.close();
    }
    // Copied at 70 and at 140 MiB (each time it reached 64 MiB), the last 10 MiB at the end.
    expect(written).toEqual([0, 0, 0, 0, 0, 0, 70, 70, 70, 70, 70, 70, 70, 140, 140]);
    expect(readFileSync(outPath).equals(want)).toBe(true);
  });

  it('a 3 GiB run with write-behind: the event loop turns between its pieces, so every step but the first is started on libuv\'s threads', async () => {
    // 3 GiB, a hole but for 4 KiB of noise in each 32 MiB (little disk; the steps are passed one by one): 96 steps.
    const size = 3 * 1024 * MiB;
    const inPath = join(t.dir, 'big.bin');
    const fd = openSync(inPath, 'w');
    ftruncateSync(fd, size);
    const blocks = Array.from({ length: 96 }, (_, k) => noise(4096, 100 + k));
    for (const [k, b] of blocks.entries()) writeSync(fd, b, 0, b.length, k * 32 * MiB + 1000);
    closeSync(fd);
    const src = await FileSource.open(inPath);
    const outPath = join(t.dir, 'out.bin');
    const out = new AtomicOutput(outPath, { sparse: true, writeBehind: true });
    const copier = new RangeCopier(out, true, (pos, vnode) => new DumpError('IO', `input ended at ${pos} while copying vnode ${vnode}`, pos, inPath));
    const c = libc()!;
    const here = vi.spyOn(c, 'syncFileRange');
    const there = vi.spyOn(c, 'syncFileRangeAsync');
    try {
      // A run of 96 vnodes of 32 MiB.
      for (let k = 0; k < 96; k++) await copier.range(src, k * 32 * MiB, (k + 1) * 32 * MiB, `${2 * k + 2}.1`);
      await copier.finish();
      out.commit();
    } finally {
      await src.close();
    }
    const step = 32 * MiB;
    // Without the turns, 64 calls would wait for their callbacks and steps 65 .. 95 would be started here.
    expect(here.mock.calls.filter((x) => x[3] === 2).map((x) => x[1] / step)).toEqual([0]);
    // Steps 1 .. 94 (the last, ending in a hole, is passed only at commit: its fsync writes it).
    expect(there.mock.calls.map((x) => x[1] / step)).toEqual(Array.from({ length: 94 }, (_, k) => k + 1));
    const rfd = openSync(outPath, 'r');
    try {
      const got = Buffer.alloc(4096 + 2000);
      const want = Buffer.alloc(got.length);
      for (const [k, b] of blocks.entries()) {
        readSync(rfd, got, 0, got.length, k * 32 * MiB);
        want.fill(0);
        b.copy(want, 1000);
        if (!got.equals(want)) expect.fail(`output differs near ${k * 32} MiB`);
      }
    } finally {
      closeSync(rfd);
    }
  });

  it('an input that ends inside a run being copied early names the vnode whose range it ended in', async () => {
    const { src, out, copier } = await setup();
    try {
      // 300,000 bytes of input: the second range runs 64 MiB past its end.
      await copier.range(src, 0, 1000, '2.1');
      const e = await copier.range(src, 1000, 64 * MiB + 5, '4.2').then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(DumpError);
      expect((e as DumpError).message).toBe(`input ended at ${N} while copying vnode 4.2`);
      expect((e as DumpError).offset).toBe(N);
      expect(out.bytesWritten).toBe(N);
    } finally {
      out.abort();
      await src.close();
    }
  });

  for (const direct of [true, false]) {
    it(`an input that ends inside a joined run names the vnode whose range it ended in (${direct ? 'window' : 'reads through the source'})`, async () => {
      const { src, out, copier } = await setup(direct);
      try {
        await copier.range(src, N - 1000, N - 10, '2.1');
        await copier.range(src, N - 10, N + 5, '4.2');
        const e = await copier.finish().then(() => null, (x: unknown) => x);
        expect(e).toBeInstanceOf(DumpError);
        expect((e as DumpError).message).toBe(`input ended at ${N} while copying vnode 4.2`);
        expect((e as DumpError).offset).toBe(N);
      } finally {
        out.abort();
        await src.close();
      }
    });
  }
});
