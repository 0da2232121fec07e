/**
 * RingWriter: the slots, the write and hash workers, direct I/O and its
 * fallback, sparse output, in-place publishing, and readSlots.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtomicOutput, SPARSE_BLOCK } from '../../src/io/atomic-output.js';
import { DIRECT_BLOCK, RingWriter, readSlots, type RingWriterOptions, type SlotInput } from '../../src/io/ring-writer.js';
import { directWorks, rejection, sample, tempDir } from '../helpers.js';
import { noise } from '../tree.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let t: { dir: string; cleanup: () => void };
beforeAll(() => {
  t = tempDir();
});
afterAll(() => t.cleanup());

/** Write `pieces` through a RingWriter into a new file in `dir`; returns what came out. */
async function through(dir: string, name: string, pieces: Buffer[], opts: RingWriterOptions = {}) {
  const path = join(dir, name);
  const out = new AtomicOutput(path, { force: true, bufferSize: 0 });
  const ring = new RingWriter(out, opts);
  const direct = ring.direct;
  for (const p of pieces) await ring.write(p);
  const r = await ring.finish();
  out.commit();
  return { path, r, direct };
}

describe('RingWriter', () => {
  it('any cut of any stream: the same bytes and SHA-256, with and without direct I/O, sparse or not, hashed on either thread, huge pages or not', async () => {
    // Streams of 64 KiB blocks, some all zero (holes when sparse), plus a ragged tail.
    const stream = fc.record({
      blocks: fc.array(fc.boolean(), { maxLength: 9 }),
      tail: fc.integer({ min: 0, max: 5000 }),
      seed: fc.integer({ min: 1, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(
        stream,
        fc.array(fc.integer({ min: 1, max: 3 * 8192 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(4096, 8192, 5000),
        fc.integer({ min: 2, max: 4 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        async (s, cuts, slotSize, slots, direct, sparse, hashInWorker, hugePages) => {
          const parts = s.blocks.map((z, i) => (z ? Buffer.alloc(SPARSE_BLOCK) : noise(SPARSE_BLOCK, s.seed + i)));
          parts.push(noise(s.tail, s.seed + 99));
          const all = Buffer.concat(parts);
          const pieces: Buffer[] = [];
          for (let off = 0, i = 0; off < all.length; i++) {
            const n = Math.min(all.length - off, cuts[i % cuts.length]);
            pieces.push(all.subarray(off, off + n));
            off += n;
          }
          const slotsSeen: Array<[number, number]> = [];
          const path = join(t.dir, 'prop.out');
          const out = new AtomicOutput(path, { force: true, bufferSize: 0 });
          const ring = new RingWriter(out, {
            slotSize, slots, direct, sparse, hashInWorker, hugePages,
            onSlot: (view, position) => {
              expect(view.equals(all.subarray(position, position + view.length))).toBe(true);
              slotsSeen.push([position, view.length]);
            },
          });
          for (const p of pieces) await ring.write(p);
          const r = await ring.finish();
          out.commit();
          expect(r.bytes).toBe(all.length);
          expect(r.sha256).toBe(sha(all));
          expect(readFileSync(path).equals(all)).toBe(true);
          // Every slot full but the last, in order.
          expect(slotsSeen.map(([p]) => p)).toEqual(slotsSeen.map((_, i) => i * slotSize));
          expect(slotsSeen.slice(0, -1).every(([, n]) => n === slotSize)).toBe(true);
          if (sparse && s.blocks.some((z) => z)) {
            // Holes (ext4 and tmpfs both keep them): what is allocated covers the
            // non-zero blocks plus some slack (the direct I/O probe's block, the
            // file system's rounding), but not one whole zero block more.
            const nonZero = s.blocks.filter((z) => !z).length * SPARSE_BLOCK + s.tail;
            expect(statSync(path).blocks * 512).toBeLessThan(nonZero + SPARSE_BLOCK);
          }
        },
      ),
      { numRuns: 30 },
    );
    expect(readdirSync(t.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  }, 60_000);

  it('direct I/O where the file system takes it; an empty or tiny output keeps its exact size (the alignment probe is trimmed)', async () => {
    const dirs = [t.dir];
    if (existsSync('/dev/shm')) dirs.push(mkdtempSync('/dev/shm/codadump-ring-'));
    try {
      for (const dir of dirs) {
        const expectDirect = directWorks(dir);
        for (const size of [0, 10, DIRECT_BLOCK, DIRECT_BLOCK + 1, 3 * 512000 + 7]) {
          const data = noise(size, size + 1);
          const { path, r, direct } = await through(dir, `d${size}.out`, [data]);
          expect(direct).toBe(expectDirect);
          expect(r.direct).toBe(expectDirect);
          expect(statSync(path).size).toBe(size);
          expect(readFileSync(path).equals(data)).toBe(true);
        }
        const { r } = await through(dir, 'off.out', [noise(100_000, 1)], { direct: false });
        expect(r.direct).toBe(false);
      }
    } finally {
      for (const d of dirs.slice(1)) rmSync(d, { recursive: true, force: true });
    }
  });

  it('nextSlot() views are published in place, and mix with copied bytes', async () => {
    const path = join(t.dir, 'inplace.out');
    const out = new AtomicOutput(path, { force: true, bufferSize: 0 });
    const positions: number[] = [];
    const ring = new RingWriter(out, { slotSize: 8192, slots: 2, onSlot: (_v, p) => void positions.push(p) });
    const want: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      const slot = await ring.nextSlot();
      expect(slot.length).toBe(8192);
      const d = noise(8192, 40 + i);
      d.copy(slot);
      want.push(d);
      await ring.write(slot);
    }
    const short = await ring.nextSlot();
    noise(100, 50).copy(short);
    want.push(noise(100, 50));
    await ring.write(short.subarray(0, 100)); // a short slot, published at once
    const more = noise(9000, 51);
    want.push(more);
    await ring.write(more); // copied: continues at position 5 * 8192 + 100
    await expect(ring.nextSlot()).rejects.toThrow(/partly filled/);
    const r = await ring.finish();
    out.commit();
    const all = Buffer.concat(want);
    expect(r).toMatchObject({ bytes: all.length, sha256: sha(all) });
    expect(readFileSync(path).equals(all)).toBe(true);
    expect(positions).toEqual([0, 8192, 16384, 24576, 32768, 40960, 41060, 41060 + 8192]);
  });

  it('a slot is not refilled before onSlot has settled', async () => {
    const path = join(t.dir, 'hold.out');
    const out = new AtomicOutput(path, { force: true, bufferSize: 0 });
    const copies: Buffer[] = [];
    const ring = new RingWriter(out, {
      slotSize: 4096,
      slots: 2,
      onSlot: async (view) => {
        const before = Buffer.from(view);
        await new Promise((r) => setTimeout(r, 2));
        expect(view.equals(before)).toBe(true);
        copies.push(before);
      },
    });
    const data = noise(10 * 4096 + 5, 7);
    await ring.write(data);
    await ring.finish();
    out.commit();
    expect(Buffer.concat(copies).equals(data)).toBe(true);
  });

  it('a full disk (failAfterBytes): ENOSPC from the write worker, nothing left after abort', async () => {
    const path = join(t.dir, 'full.out');
    const out = new AtomicOutput(path, { bufferSize: 0 });
    const ring = new RingWriter(out, { slotSize: 8192, slots: 2, failAfterBytes: 20_000 });
    const writeAll = async () => {
      for (let i = 0; i < 20; i++) await ring.write(noise(8192, i));
      await ring.finish();
    };
    await expect(writeAll()).rejects.toMatchObject({ code: 'ENOSPC', message: 'ENOSPC: no space left on device, write' });
    await ring.close();
    out.abort();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(out.tempPath)).toBe(false);
    await expect(ring.write(Buffer.from('x'))).rejects.toThrow(/closed/);
  });

  it('gzip: one gzip stream of the bytes written, in order; digest and positions of the plain stream; ENOSPC on the compressed bytes', async () => {
    // Compressible and incompressible pieces, cut across slots of 8192 bytes.
    const data = Buffer.concat([Buffer.alloc(30_000, 7), noise(50_000, 3), Buffer.from('abc'.repeat(5000))]);
    const path = join(t.dir, 'g.gz');
    const out = new AtomicOutput(path, { force: true, bufferSize: 0 });
    const ring = new RingWriter(out, { slotSize: 8192, slots: 3, gzip: { level: 9 } });
    expect(ring.direct).toBe(false);
    for (let i = 0; i < data.length; i += 5000) await ring.write(data.subarray(i, i + 5000));
    const r = await ring.finish();
    out.commit();
    const z = readFileSync(path);
    expect(r).toEqual({ bytes: data.length, sha256: sha(data), direct: false, storedBytes: z.length });
    // One member: the same bytes zlib makes of the whole stream at once (deflate output does not depend on how input is cut).
    expect(z.equals(gzipSync(data, { level: 9 }))).toBe(true);

    const full = join(t.dir, 'g-full.gz');
    const out2 = new AtomicOutput(full, { bufferSize: 0 });
    const ring2 = new RingWriter(out2, { slotSize: 8192, slots: 2, failAfterBytes: 20_000, gzip: {} });
    const writeAll = async () => {
      for (let i = 0; i < 20; i++) await ring2.write(noise(8192, i));
      await ring2.finish();
    };
    await expect(writeAll()).rejects.toMatchObject({ code: 'ENOSPC', message: 'ENOSPC: no space left on device, write' });
    await ring2.close();
    out2.abort();
    expect(existsSync(full)).toBe(false);
    expect(existsSync(out2.tempPath)).toBe(false);
  });

  it('refuses an output that already holds bytes, and bad geometry', () => {
    const out = new AtomicOutput(join(t.dir, 'used.out'), { force: true });
    out.write(Buffer.from('abc'));
    expect(() => new RingWriter(out)).toThrow(/must be empty/);
    out.abort();
    const out2 = new AtomicOutput(join(t.dir, 'geo.out'), { force: true });
    expect(() => new RingWriter(out2, { slots: 1 })).toThrow(RangeError);
    expect(() => new RingWriter(out2, { slotSize: 0 })).toThrow(RangeError);
    out2.abort();
  });
});

describe('readSlots', () => {
  async function readAllSlots(input: SlotInput, slotSize: number, opts = {}) {
    const out = new AtomicOutput(join(t.dir, 'fd.out'), { force: true, bufferSize: 0 });
    const ring = new RingWriter(out, { slotSize, slots: 3 });
    const chunks: Array<{ offset32: number; length: number }> = [];
    try {
      for await (const c of readSlots(ring, input, opts)) {
        chunks.push({ offset32: c.offset32, length: c.data.length });
        await ring.write(c.data);
      }
      const r = await ring.finish();
      out.commit();
      return { chunks, r, bytes: readFileSync(join(t.dir, 'fd.out')) };
    } finally {
      await ring.close();
      out.abort();
    }
  }

  it('reads a descriptor to its end straight into slots: full chunks, the last one short', async () => {
    const want = readFileSync(sample('server-sample-full.dump'));
    const fd = openSync(sample('server-sample-full.dump'), 'r');
    try {
      const { chunks, r, bytes } = await readAllSlots(fd, 512000);
      expect(chunks).toEqual([
        { offset32: 0, length: 512000 },
        { offset32: 512000, length: want.length - 512000 },
      ]);
      expect(bytes.equals(want)).toBe(true);
      expect(r.sha256).toBe(sha(want));
    } finally {
      closeSync(fd);
    }
  });

  it('a non-blocking descriptor (EAGAIN) is read on through a stream', async () => {
    const want = noise(50_000, 9);
    let calls = 0;
    const readSync = (_fd: number, buf: Buffer, offset: number, length: number) => {
      calls++;
      if (calls === 1) return want.copy(buf, offset, 0, Math.min(length, 1000));
      const e = new Error('EAGAIN: resource temporarily unavailable, read') as NodeJS.ErrnoException;
      e.code = 'EAGAIN';
      throw e;
    };
    const rest = function* () {
      for (let i = 1000; i < want.length; i += 7000) yield want.subarray(i, Math.min(want.length, i + 7000));
    };
    const { chunks, bytes } = await readAllSlots(-1, 16384, { readSync, streamFor: () => Readable.from(rest()) });
    expect(calls).toBe(2);
    expect(bytes.equals(want)).toBe(true);
    expect(chunks.map((c) => c.length)).toEqual([16384, 16384, 16384, 50_000 - 3 * 16384]);
  });

  it('other read errors reject as they are', async () => {
    const readSync = () => {
      const e = new Error('EIO: i/o error, read') as NodeJS.ErrnoException;
      e.code = 'EIO';
      throw e;
    };
    const e = await rejection(readAllSlots(-1, 4096, { readSync, name: 'the-input' }));
    expect(e).toMatchObject({ code: 'IO', file: 'the-input', message: 'cannot read input: EIO (i/o error, read)' });
    async function* failing() {
      yield Buffer.from('abc');
      throw Object.assign(new Error('ECONNRESET: connection reset'), { code: 'ECONNRESET' });
    }
    const e2 = await rejection(readAllSlots(failing(), 4096));
    expect(e2).toMatchObject({ code: 'IO', file: '-', message: 'cannot read input: ECONNRESET (connection reset)' });
  });

  it('head: bytes already read from the input come first', async () => {
    const want = readFileSync(sample('server-sample-full.dump'));
    const fd = openSync(sample('server-sample-full.dump'), 'r');
    try {
      const head = Buffer.alloc(10_000);
      readSync(fd, head, 0, head.length, null);
      const { chunks, bytes } = await readAllSlots(fd, 4096, { head });
      expect(bytes.equals(want)).toBe(true);
      expect(chunks.length).toBe(Math.ceil(want.length / 4096));
      expect(chunks.every((c, i) => c.offset32 === i * 4096 && c.length === Math.min(4096, want.length - i * 4096))).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('a stream of pieces of any size and kind is cut into full slots, the last one short', async () => {
    const want = noise(40_000, 12);
    async function* pieces() {
      yield want.subarray(0, 10); // Buffer
      yield new Uint8Array(want.buffer, want.byteOffset + 10, 20_000); // Uint8Array
      yield want.subarray(20_010, 20_011).toString('latin1'); // string, one char per byte
      yield Buffer.alloc(0);
      yield want.subarray(20_011);
    }
    const { chunks, bytes, r } = await readAllSlots(pieces(), 8192);
    expect(bytes.equals(want)).toBe(true);
    expect(r.sha256).toBe(sha(want));
    expect(chunks).toEqual([0, 1, 2, 3, 4].map((i) => ({ offset32: i * 8192, length: i < 4 ? 8192 : 40_000 - 4 * 8192 })));
  });
});
