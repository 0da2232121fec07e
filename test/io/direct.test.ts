/**
 * AtomicOutput's direct I/O (merge's and repair's output): bytes gathered in
 * 4 aligned slots of 4 MiB, whole 4096-byte blocks written with O_DIRECT
 * (on libuv's threads while another slot is free, else here), the parts of
 * blocks at a slot's cut ends written the usual way. The file's bytes must
 * be the ones written, whatever the mix of writes, copies, holes, waits and
 * refusals; a failed write fails the output and leaves nothing behind.
 */
import * as nodeFs from 'node:fs';
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicOutput, DIRECT_BLOCK, DIRECT_SLOT, DIRECT_SLOTS, type DirectFs } from '../../src/io/atomic-output.js';
import { DumpError } from '../../src/format/errors.js';
import { takesDirect, tempDir } from '../helpers.js';
import { noise } from '../tree.js';

const MiB = 1 << 20;

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** The directFs seam with node's calls, counting the direct writes made here and on libuv's threads. */
function counting(): DirectFs & { here: number; async: number } {
  const c = {
    here: 0,
    async: 0,
    openSync: nodeFs.openSync,
    writeSync: ((...a: Parameters<typeof nodeFs.writeSync>) => {
      c.here++;
      return (nodeFs.writeSync as (...x: unknown[]) => number)(...a);
    }) as typeof nodeFs.writeSync,
    write: ((...a: unknown[]) => {
      c.async++;
      return (nodeFs.write as (...x: unknown[]) => void)(...a);
    }) as typeof nodeFs.write,
  };
  return c;
}

/** An input file of `size` noise bytes. */
function noiseFile(path: string, size: number, seed: number): Buffer {
  const b = noise(size, seed);
  nodeFs.writeFileSync(path, b);
  return b;
}

describe('AtomicOutput direct I/O', () => {
  it('is 4 slots of 4 MiB, blocks of 4096 bytes', () => {
    expect([DIRECT_SLOTS, DIRECT_SLOT, DIRECT_BLOCK]).toEqual([4, 4 * MiB, 4096]);
  });

  it('writes, copies and patches give the bytes written, with direct writes on libuv\'s threads and here', async () => {
    const direct = takesDirect(t.dir);
    const inPath = join(t.dir, 'in');
    const input = noiseFile(inPath, 13 * MiB + 77, 3);
    const fds = openFds();
    const fdIn = openSync(inPath, 'r');
    const seam = counting();
    const p = join(t.dir, 'out');
    const out = new AtomicOutput(p, { direct: true, directFs: seam });
    const want: Buffer[] = [];
    let seed = 10;
    // Odd sizes (a block's edge, more than a slot), copies at odd places, some waits for room and some not.
    const sizes = [1, 4095, 4097, 100, 5 * MiB + 3, 0, DIRECT_SLOT - 1, 2, 12345, 3 * MiB];
    for (const [k, n] of sizes.entries()) {
      const b = noise(n, seed++);
      out.write(b);
      want.push(b);
      const at = (k * 1_000_003) % (input.length - 2 * MiB);
      const len = k % 3 === 0 ? 2 * MiB + 11 : 513;
      expect(out.copyFrom(fdIn, at, len)).toBe(len);
      want.push(input.subarray(at, at + len));
      if (k % 2 === 0) await out.room();
    }
    // The input's end: a copy past it appends what there is.
    expect(out.copyFrom(fdIn, input.length - 10, 100)).toBe(10);
    want.push(input.subarray(input.length - 10));
    await out.drain();
    const whole = Buffer.concat(want);
    expect(out.bytesWritten).toBe(whole.length);
    // Counts known only at the end, over bytes that went to disk directly.
    const patch = Buffer.from('patched!');
    out.patch(5000, patch);
    patch.copy(whole, 5000);
    out.commit();
    closeSync(fdIn);
    expect(readFileSync(p).equals(whole)).toBe(true);
    expect(out.directIo).toBe(direct);
    if (direct) {
      expect(seam.async).toBeGreaterThan(0);
      expect(seam.here).toBeGreaterThan(0); // the first write (the probe) at least
    }
    expect(openFds()).toBe(fds); // both descriptors of the temporary file closed
    expect(readdirSync(t.dir).sort()).toEqual(['in', 'out']);
  });

  it('never waits without turns of the event loop: a slot is then written here', () => {
    const seam = counting();
    const p = join(t.dir, 'out');
    const out = new AtomicOutput(p, { direct: true, directFs: seam });
    const parts: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      const b = noise(3 * MiB + i, 40 + i);
      out.write(b);
      parts.push(b);
    }
    // Written here: the slots cannot be known free without the event loop.
    const done = out.drain();
    return done.then(() => {
      out.commit();
      expect(readFileSync(p).equals(Buffer.concat(parts))).toBe(true);
      if (out.directIo) expect(seam.async).toBeLessThanOrEqual(DIRECT_SLOTS);
    });
  });

  it('keeps a sparse output\'s holes: long holes of the input skipped, zero runs of written bytes not written', async () => {
    const inPath = join(t.dir, 'in');
    const size = 96 * MiB;
    const fd = openSync(inPath, 'w');
    ftruncateSync(fd, size);
    const blocks = [0, 40 * MiB + 4096, size - 4096].map((at, i) => ({ at, b: noise(4096, 70 + i) }));
    for (const { at, b } of blocks) writeSync(fd, b, 0, b.length, at);
    closeSync(fd);
    const fdIn = openSync(inPath, 'r');
    const p = join(t.dir, 'out');
    const out = new AtomicOutput(p, { direct: true, sparse: true });
    const head = noise(777, 5);
    out.write(head);
    out.write(Buffer.alloc(9 * MiB)); // zeros written: a hole too
    expect(out.copyFrom(fdIn, 0, size)).toBe(size);
    closeSync(fdIn);
    await out.drain();
    out.commit();
    const total = head.length + 9 * MiB + size;
    const st = statSync(p);
    expect(st.size).toBe(total);
    // 3 noise blocks and the head, each in one or two 64 KiB pieces at most, and the cut ends: far below the size.
    expect(st.blocks * 512).toBeLessThan(2 * MiB);
    const got = readFileSync(p);
    expect(got.subarray(0, head.length).equals(head)).toBe(true);
    for (const { at, b } of blocks) expect(got.subarray(head.length + 9 * MiB + at, head.length + 9 * MiB + at + 4096).equals(b)).toBe(true);
    let nonZero = 0;
    for (let i = head.length; i < got.length; i++) if (got[i] !== 0) nonZero++;
    expect(nonZero).toBe(blocks.reduce((n, { b }) => n + b.filter((x) => x !== 0).length, 0));
  });

  it('where the file system refuses O_DIRECT, writes the usual way (same bytes, no direct write)', async () => {
    const seam = counting();
    seam.openSync = (() => {
      const e = new Error('EINVAL: invalid argument, open') as NodeJS.ErrnoException;
      e.code = 'EINVAL';
      throw e;
    }) as typeof nodeFs.openSync;
    const p = join(t.dir, 'out');
    const out = new AtomicOutput(p, { direct: true, directFs: seam });
    const b = noise(9 * MiB + 5, 9);
    out.write(b);
    await out.drain();
    out.commit();
    expect(readFileSync(p).equals(b)).toBe(true);
    expect(out.directIo).toBe(false);
    expect(seam.here + seam.async).toBe(0);
  });

  it('where the first direct write is refused, gives direct I/O up for the usual writes (same bytes)', async () => {
    const seam = counting();
    const refused: number[] = [];
    seam.writeSync = ((fd: number) => {
      refused.push(fd);
      const e = new Error('EINVAL: invalid argument, write') as NodeJS.ErrnoException;
      e.code = 'EINVAL';
      throw e;
    }) as typeof nodeFs.writeSync;
    const inPath = join(t.dir, 'in');
    const input = noiseFile(inPath, 10 * MiB, 4);
    const fds = openFds();
    const fdIn = openSync(inPath, 'r');
    const p = join(t.dir, 'out');
    const out = new AtomicOutput(p, { direct: true, directFs: seam, writeBehind: true });
    const b = noise(1000, 8);
    out.write(b);
    expect(out.copyFrom(fdIn, 0, input.length)).toBe(input.length);
    out.write(b);
    await out.drain();
    out.commit();
    closeSync(fdIn);
    expect(readFileSync(p).equals(Buffer.concat([b, input, b]))).toBe(true);
    expect(out.directIo).toBe(false);
    // Refused once (the probe), never asked again, nothing on libuv's threads.
    if (takesDirect(t.dir)) expect(refused.length).toBe(1);
    expect(seam.async).toBe(0);
    expect(openFds()).toBe(fds);
  });

  it('a direct write that fails on libuv\'s threads fails the output: an IO error, nothing left behind', async () => {
    if (!takesDirect(t.dir)) {
      // No direct I/O here: the output is written the usual way (the other tests show it).
      expect(new AtomicOutput(join(t.dir, 'o'), { direct: true }).directIo).toBe(false);
      return;
    }
    const seam = counting();
    seam.write = ((fd: number, buf: Buffer, off: number, len: number, pos: number, cb: (e: NodeJS.ErrnoException | null, n: number) => void) => {
      const e = new Error('EIO: i/o error, write') as NodeJS.ErrnoException;
      e.code = 'EIO';
      setImmediate(() => cb(e, 0));
    }) as unknown as typeof nodeFs.write;
    const fds = openFds();
    const p = join(t.dir, 'out');
    const out = new AtomicOutput(p, { direct: true, directFs: seam });
    out.write(noise(3 * DIRECT_SLOT, 1));
    let err: unknown;
    try {
      await out.drain();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DumpError);
    expect((err as DumpError).code).toBe('IO');
    expect((err as DumpError).message).toMatch(/EIO/);
    expect(() => out.commit()).toThrow(/aborted/);
    expect(existsSync(p)).toBe(false);
    expect(readdirSync(t.dir)).toEqual([]);
    expect(openFds()).toBe(fds);
  });

  it('an abort while direct writes run closes the O_DIRECT descriptor only once they are done (no write reaches a reused descriptor)', async () => {
    if (!takesDirect(t.dir)) {
      expect(new AtomicOutput(join(t.dir, 'o'), { direct: true }).directIo).toBe(false);
      return;
    }
    const held: (() => void)[] = [];
    const seam = counting();
    const realWrite = seam.write;
    seam.write = ((...a: unknown[]) => {
      held.push(() => (realWrite as (...x: unknown[]) => void)(...a));
    }) as typeof nodeFs.write;
    const fds = openFds();
    const p = join(t.dir, 'out');
    const out = new AtomicOutput(p, { direct: true, directFs: seam });
    out.write(noise(3 * DIRECT_SLOT, 2));
    expect(held.length).toBeGreaterThan(0);
    out.abort();
    expect(existsSync(out.tempPath)).toBe(false);
    // The O_DIRECT descriptor is still open: a file opened now gets another number.
    expect(openFds()).toBe(fds + 1);
    const other = join(t.dir, 'other');
    const fdOther = openSync(other, 'w');
    for (const go of held) go();
    for (let i = 0; i < 50 && openFds() > fds + 1; i++) await new Promise((r) => setTimeout(r, 5));
    expect(openFds()).toBe(fds + 1); // the other file's, nothing else
    closeSync(fdOther);
    expect(statSync(other).size).toBe(0);
  });
});
