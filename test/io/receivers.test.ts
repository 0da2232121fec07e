import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  SimulatedReceiver,
  renderLayout,
  seekTarget,
  wrapLayout,
  type ReceiverModel,
  type WrapLayout,
} from '../../src/io/receivers.js';
import { DumpError } from '../../src/format/errors.js';
import { tempDir } from '../helpers.js';
import { TWO_32 } from '../../src/format/constants.js';

let t: { dir: string; cleanup: () => void };
let dir: string;
beforeEach(() => {
  t = tempDir('codadump-recv-');
  dir = t.dir;
});
afterEach(() => t.cleanup());

/** Every stream byte distinct enough to tell positions apart: 32-bit big-endian counters. */
function countingStream(L: number): Buffer {
  const b = Buffer.alloc(L);
  for (let i = 0; i + 4 <= L; i += 4) b.writeUInt32BE((i / 4 + 1) % TWO_32, i);
  for (let i = L - (L % 4); i < L; i++) b[i] = 0xee;
  return b;
}

function fixedChunks(L: number, size: number): { offset: number; length: number }[] {
  const out = [];
  for (let o = 0; o < L; o += size) out.push({ offset: o, length: Math.min(size, L - o) });
  return out;
}

function simulate(
  model: ReceiverModel,
  stream: Buffer,
  chunks: { offset: number; length: number }[],
  wrapBits: number,
  sparse = false,
  name = 'sim.dump',
): Buffer {
  const p = path.join(dir, name);
  const r = new SimulatedReceiver(model, p, { wrapBits, sparse });
  for (const c of chunks) r.writeChunk({ offset: c.offset, data: stream.subarray(c.offset, c.offset + c.length) });
  const size = r.fileSize;
  r.close();
  const got = fs.readFileSync(p);
  expect(got.length).toBe(size);
  return got;
}

function check(
  model: ReceiverModel,
  L: number,
  chunkSize: number,
  wrapBits: number,
  expected: WrapLayout,
): void {
  const stream = countingStream(L);
  const chunks = fixedChunks(L, chunkSize);
  const layout = wrapLayout(chunks, L, model, wrapBits);
  expect(layout).toEqual(expected);
  const want = renderLayout(stream, layout);
  for (const sparse of [false, true]) {
    const got = simulate(model, stream, chunks, wrapBits, sparse);
    expect(got.length).toBe(expected.fileSize);
    expect(got.equals(want)).toBe(true);
  }
}

describe('seekTarget', () => {
  it('model A: offset mod W, truncates only at 0', () => {
    expect(seekTarget('A', 0)).toEqual({ position: 0, truncate: true });
    expect(seekTarget('A', 5)).toEqual({ position: 5, truncate: false });
    expect(seekTarget('A', TWO_32 - 1)).toEqual({ position: TWO_32 - 1, truncate: false });
    expect(seekTarget('A', TWO_32)).toEqual({ position: 0, truncate: true });
    expect(seekTarget('A', TWO_32 + 7)).toEqual({ position: 7, truncate: false });
    expect(seekTarget('A', 70000, 16)).toEqual({ position: 70000 - 65536, truncate: false });
  });
  it('model B: signed target; negatives and 0 truncate and write at 0', () => {
    expect(seekTarget('B', 0)).toEqual({ position: 0, truncate: true });
    expect(seekTarget('B', 2 ** 31 - 1)).toEqual({ position: 2 ** 31 - 1, truncate: false });
    expect(seekTarget('B', 2 ** 31)).toEqual({ position: 0, truncate: true });
    expect(seekTarget('B', TWO_32 - 1)).toEqual({ position: 0, truncate: true });
    expect(seekTarget('B', TWO_32 + 100)).toEqual({ position: 100, truncate: false });
    expect(seekTarget('B', 40000, 16)).toEqual({ position: 0, truncate: true });
  });
  it('rejects bad wrapBits', () => {
    expect(() => seekTarget('A', 0, 0)).toThrow(DumpError);
    expect(() => seekTarget('A', 0, 60)).toThrow(DumpError);
  });
});

describe('wrapLayout and SimulatedReceiver, hand-computed (W = 2^16)', () => {
  const W = 65536;

  it('A1: one chunk straddles W', () => {
    // chunks of 1000: the one at 65000 straddles, F = 66000, s = 464, e = 70000 - 65536 = 4464
    check('A', 70000, 1000, 16, {
      fileSize: 66000,
      segments: [
        { fileStart: 0, streamStart: 0, length: 464 },
        { fileStart: 464, streamStart: 66000, length: 4000 },
        { fileStart: 4464, streamStart: 4464, length: 66000 - 4464 },
      ],
    });
  });

  it('A1 with F = L: nothing overwritten, a correct file across W', () => {
    check('A', 65800, 1000, 16, {
      fileSize: 65800,
      segments: [{ fileStart: 0, streamStart: 0, length: 65800 }],
    });
  });

  it('A2: a chunk ends exactly at W, so the file is truncated', () => {
    // 1024 * 64 = W: the chunk at W gets offset 0 and truncates
    check('A', 70000, 1024, 16, {
      fileSize: 70000 - W,
      segments: [{ fileStart: 0, streamStart: W, length: 70000 - W }],
    });
  });

  it('A: a dump below W is intact', () => {
    check('A', 50000, 1000, 16, { fileSize: 50000, segments: [{ fileStart: 0, streamStart: 0, length: 50000 }] });
  });

  it('A: wrapping twice (L > 2W) by the same rule', () => {
    // chunk 1000. Pass 1: [0, 66000). Pass 2 (66000..131999) lands at o - W = 464..,
    // and its last chunk 131000 (straddling 2W = 131072) lands at 65464..66464, so the
    // file grows past the first F. Pass 3 (132000..) lands at o - 2W = 928.. over pass 2.
    const L = 140000;
    check('A', L, 1000, 16, {
      fileSize: 66464,
      segments: [
        { fileStart: 0, streamStart: 0, length: 464 },
        { fileStart: 464, streamStart: 66000, length: 464 },
        { fileStart: 928, streamStart: 132000, length: 8000 },
        { fileStart: 8928, streamStart: 8928 + W, length: 66464 - 8928 },
      ],
    });
  });

  it('B: below W/2 intact; in (W/2, W] only the last chunk remains', () => {
    check('B', 30000, 1000, 16, { fileSize: 30000, segments: [{ fileStart: 0, streamStart: 0, length: 30000 }] });
    // chunks at 33000..39000 have targets >= 32768: each truncates and writes at 0
    check('B', 40000, 1000, 16, { fileSize: 1000, segments: [{ fileStart: 0, streamStart: 39000, length: 1000 }] });
    // a short last chunk: only it remains
    check('B', 39500, 1000, 16, { fileSize: 500, segments: [{ fileStart: 0, streamStart: 39000, length: 500 }] });
    // L = W exactly
    check('B', W, 1000, 16, { fileSize: 536, segments: [{ fileStart: 0, streamStart: 65000, length: 536 }] });
  });

  it('B: L just above W/2 with the last chunk straddling W/2: no truncation at all', () => {
    // the chunk at 32000 has a non-negative target, so nothing is lost
    check('B', 32900, 1000, 16, { fileSize: 32900, segments: [{ fileStart: 0, streamStart: 0, length: 32900 }] });
  });

  it('B: past W, post-wrap chunks overwrite the last pre-wrap chunk at o_k - W', () => {
    // chunk at 65000 truncates, lands at [0, 1000); chunks 66000.. land at 464..; F - W = 464
    check('B', 70000, 1000, 16, {
      fileSize: 4464,
      segments: [
        { fileStart: 0, streamStart: 65000, length: 464 },
        { fileStart: 464, streamStart: 66000, length: 4000 },
      ],
    });
  });

  it('B: a chunk ending exactly at W', () => {
    check('B', 70000, 1024, 16, { fileSize: 70000 - W, segments: [{ fileStart: 0, streamStart: W, length: 70000 - W }] });
  });

  it('B: post-wrap stream passing W/2 again truncates again', () => {
    // W + 32768 = 98304; chunks at 99000.. (targets >= 32768) truncate; last at 99000
    check('B', 100000, 1000, 16, { fileSize: 1000, segments: [{ fileStart: 0, streamStart: 99000, length: 1000 }] });
  });

  it('append model: identity, and offsets are checked', () => {
    check('append', 70000, 1000, 16, { fileSize: 70000, segments: [{ fileStart: 0, streamStart: 0, length: 70000 }] });
    const r = new SimulatedReceiver('append', path.join(dir, 'app.dump'));
    r.writeChunk({ offset: 0, data: Buffer.alloc(10, 1) });
    try {
      r.writeChunk({ offset: 20, data: Buffer.alloc(10, 1) });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DumpError);
      expect((e as DumpError).code).toBe('CHUNK_OFFSET');
    }
    r.writeChunk({ offset: 10, offset32: 10, data: Buffer.alloc(10, 2) });
    r.close();
    expect(fs.readFileSync(path.join(dir, 'app.dump'))).toEqual(Buffer.concat([Buffer.alloc(10, 1), Buffer.alloc(10, 2)]));
  });

  it('wrapLayout rejects non-contiguous chunks or a wrong L', () => {
    expect(() => wrapLayout([{ offset: 0, length: 10 }, { offset: 11, length: 5 }], 16, 'A', 16)).toThrow(DumpError);
    expect(() => wrapLayout([{ offset: 0, length: 10 }], 11, 'A', 16)).toThrow(DumpError);
    expect(wrapLayout([], 0, 'A', 16)).toEqual({ fileSize: 0, segments: [] });
  });
});

describe('wrapLayout agrees with the simulated receiver (W = 2^20 and random)', () => {
  it('A1 at W = 2^20 with server-sized chunks', () => {
    const W = 2 ** 20;
    const L = W + 300_000;
    const chunks = fixedChunks(L, 100_000); // straddler at 1,000,000; F = 1,100,000
    const layout = wrapLayout(chunks, L, 'A', 20);
    const F = 1_100_000;
    const s = F - W;
    const e = L - W;
    expect(layout).toEqual({
      fileSize: F,
      segments: [
        { fileStart: 0, streamStart: 0, length: s },
        { fileStart: s, streamStart: F, length: e - s },
        { fileStart: e, streamStart: e, length: F - e },
      ],
    });
    const stream = countingStream(L);
    const got = simulate('A', stream, chunks, 20, true);
    expect(got.equals(renderLayout(stream, layout))).toBe(true);
    // The stream's last bytes sit right before e.
    expect(got.subarray(e - 8, e).equals(stream.subarray(L - 8, L))).toBe(true);
  });

  it('random chunkings, models and zero runs: file == renderLayout(stream, wrapLayout)', () => {
    let run = 0;
    fc.assert(
      fc.property(
        fc.constantFrom<ReceiverModel>('A', 'B', 'append'),
        fc.integer({ min: 8, max: 12 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 0, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2000 })), { maxLength: 4 }),
        fc.boolean(),
        (model, wrapBits, lengths, zeroRuns, sparse) => {
          const chunks: { offset: number; length: number }[] = [];
          let L = 0;
          for (const n of lengths) {
            chunks.push({ offset: L, length: n });
            L += n;
          }
          const stream = countingStream(L);
          for (const [at, n] of zeroRuns) if (L > 0) stream.fill(0, at % L, Math.min(L, (at % L) + n));
          const layout = wrapLayout(chunks, L, model, wrapBits);
          // segments are sorted, disjoint and inside the file
          let prevEnd = 0;
          for (const sg of layout.segments) {
            expect(sg.fileStart).toBeGreaterThanOrEqual(prevEnd);
            expect(sg.length).toBeGreaterThan(0);
            prevEnd = sg.fileStart + sg.length;
          }
          expect(prevEnd).toBeLessThanOrEqual(layout.fileSize);
          const got = simulate(model, stream, chunks, wrapBits, sparse, `p${run++}.dump`);
          expect(got.equals(renderLayout(stream, layout))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sparse mode writes zeros that overwrite earlier data', () => {
    // Model A, W = 2^10: the head is non-zero, the post-wrap tail is all zeros.
    const L = 1024 + 600;
    const stream = Buffer.alloc(L);
    stream.fill(0x55, 0, 1024);
    const chunks = fixedChunks(L, 200); // straddler 1000..1200: F = 1200, s = 176, e = 600
    const layout = wrapLayout(chunks, L, 'A', 10);
    const got = simulate('A', stream, chunks, 10, true);
    expect(got.equals(renderLayout(stream, layout))).toBe(true);
    expect(got.subarray(176, 600).every((b) => b === 0)).toBe(true);
    expect(got[175]).toBe(0x55);
    expect(got[600]).toBe(0x55);
    expect(got.length).toBe(1200);
  });
});
