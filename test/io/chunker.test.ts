import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ServerChunker,
  chunkAll,
  chunkStream,
  SERVER_CHUNK_SIZE,
  type Chunk,
  type ChunkItem,
} from '../../src/io/chunker.js';
import { TWO_32 } from '../../src/format/constants.js';
import { DumpError } from '../../src/format/errors.js';
import { pattern } from '../helpers.js';


/** Naive reference: every file piece pushed as a separate item, one byte-exact rule. */
function reference(items: ChunkItem[], chunkSize: number, blockSize: number): { offset: number; data: Buffer }[] {
  const units: Buffer[] = [];
  let file: Buffer[] = [];
  for (const it of items) {
    if (it.kind === 'item') units.push(it.data);
    else {
      file.push(it.data);
      if (!it.more) {
        const all = Buffer.concat(file);
        file = [];
        for (let i = 0; i < all.length; i += blockSize) units.push(all.subarray(i, i + blockSize));
      }
    }
  }
  if (file.length > 0) {
    const all = Buffer.concat(file); // finish() ends an unfinished file
    for (let i = 0; i < all.length; i += blockSize) units.push(all.subarray(i, i + blockSize));
  }
  const out: { offset: number; data: Buffer }[] = [];
  let cur: Buffer[] = [];
  let used = 0;
  let base = 0;
  const ship = () => {
    if (used === 0) return;
    out.push({ offset: base, data: Buffer.concat(cur) });
    base += used;
    cur = [];
    used = 0;
  };
  for (const u of units) {
    if (u.length === 0) continue;
    if (used + u.length <= chunkSize) {
      cur.push(u);
      used += u.length;
      continue;
    }
    ship();
    let off = 0;
    while (u.length - off > chunkSize) {
      out.push({ offset: base, data: u.subarray(off, off + chunkSize) });
      base += chunkSize;
      off += chunkSize;
    }
    cur.push(u.subarray(off));
    used = u.length - off;
  }
  ship();
  return out;
}

function streamOf(items: ChunkItem[]): Buffer {
  return Buffer.concat(items.map((i) => i.data));
}

describe('ServerChunker', () => {
  it('packs a header and a file as the server does (hand-computed)', () => {
    const header = pattern(60);
    const tag = Buffer.from([12, 0, 0x0f, 0x42, 0x40]);
    const content = pattern(1_000_000, 9);
    const chunks = chunkAll([
      { kind: 'item', data: header },
      { kind: 'item', data: tag },
      { kind: 'filedata', data: content },
    ]);
    // 65 bytes + 124 pieces of 4096 = 507969 (a 125th piece would not fit)
    expect(chunks.map((c) => c.data.length)).toEqual([65 + 124 * 4096, 1_000_000 - 124 * 4096]);
    expect(chunks.map((c) => c.offset)).toEqual([0, 507969]);
    expect(chunks.every((c) => c.data.length <= SERVER_CHUNK_SIZE)).toBe(true);
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(Buffer.concat([header, tag, content]))).toBe(true);
  });

  it('ships only when the next item does not fit; exactly full buffers wait', () => {
    const got: Chunk[] = [];
    const ch = new ServerChunker((c) => got.push(c), { chunkSize: 10, blockSize: 4 });
    ch.push(pattern(4));
    ch.push(pattern(6, 2)); // exactly full: not shipped yet
    expect(got).toHaveLength(0);
    ch.push(Buffer.alloc(0)); // empty items are ignored
    expect(got).toHaveLength(0);
    ch.push(pattern(1, 3));
    expect(got.map((c) => c.data.length)).toEqual([10]);
    ch.push(pattern(9, 4)); // 1 + 9 = 10 fits
    ch.push(pattern(3, 5)); // does not fit
    expect(got.map((c) => c.data.length)).toEqual([10, 10]);
    ch.finish();
    expect(got.map((c) => [c.offset, c.data.length])).toEqual([
      [0, 10],
      [10, 10],
      [20, 3],
    ]);
    ch.finish(); // idempotent
    expect(() => ch.push(pattern(1))).toThrow(DumpError);
  });

  it('splits an item larger than the whole buffer across chunks', () => {
    const big = pattern(35, 8);
    const chunks = chunkAll(
      [
        { kind: 'item', data: pattern(3) },
        { kind: 'item', data: big },
        { kind: 'item', data: pattern(2, 4) },
      ],
      { chunkSize: 10 },
    );
    // ship [3], then 10,10,10 from the big item, its 5-byte rest + 2 bytes.
    expect(chunks.map((c) => c.data.length)).toEqual([3, 10, 10, 10, 7]);
    expect(chunks.map((c) => c.offset)).toEqual([0, 3, 13, 23, 33]);
    // a block size larger than the chunk size also works
    const c2 = chunkAll([{ kind: 'filedata', data: pattern(25) }], { chunkSize: 10, blockSize: 16 });
    expect(c2.map((c) => c.data.length)).toEqual([10, 6, 9]);
  });

  it('an empty stream gives no chunks', () => {
    expect(chunkAll([])).toEqual([]);
    expect(chunkAll([{ kind: 'filedata', data: Buffer.alloc(0) }])).toEqual([]);
  });

  it('file data fed in several parts (more=true) packs as if in one piece', () => {
    const content = pattern(50_000, 3);
    const whole = chunkAll([{ kind: 'item', data: pattern(7) }, { kind: 'filedata', data: content }], {
      chunkSize: 10_000,
    });
    const cuts = [0, 1, 4095, 4096, 4097, 13_000, 13_001, 49_999, 50_000];
    const parts: ChunkItem[] = [{ kind: 'item', data: pattern(7) }];
    for (let i = 0; i + 1 < cuts.length; i++) {
      parts.push({ kind: 'filedata', data: content.subarray(cuts[i], cuts[i + 1]), more: true });
    }
    parts.push({ kind: 'filedata', data: Buffer.alloc(0), more: false });
    const split = chunkAll(parts, { chunkSize: 10_000 });
    expect(split.map((c) => [c.offset, c.data.length])).toEqual(whole.map((c) => [c.offset, c.data.length]));
    expect(Buffer.concat(split.map((c) => c.data)).equals(Buffer.concat(whole.map((c) => c.data)))).toBe(true);
  });

  it('refuses an item in the middle of an unfinished file', () => {
    const ch = new ServerChunker(() => {}, {});
    ch.pushFileData(pattern(100), true);
    expect(() => ch.push(pattern(5))).toThrow(DumpError);
  });

  it('offsets past 2^32 carry offset mod 2^32', () => {
    const start = TWO_32 - 700_000;
    const chunks = chunkAll([{ kind: 'filedata', data: Buffer.alloc(2_000_000) }], { startOffset: start });
    let pos = start;
    let crossed = false;
    for (const c of chunks) {
      expect(c.offset).toBe(pos);
      expect(c.offset32).toBe(pos % TWO_32);
      if (c.offset > TWO_32) crossed = true;
      pos += c.data.length;
    }
    expect(crossed).toBe(true);
    expect(chunks.map((c) => c.data.length)).toEqual([512000, 512000, 512000, 464000]);
  });

  it('chunkStream yields the same chunks as chunkAll, from an async source', async () => {
    const items: ChunkItem[] = [
      { kind: 'item', data: pattern(100) },
      { kind: 'filedata', data: pattern(1_300_000, 4) },
      { kind: 'item', data: pattern(700_000, 6) },
      { kind: 'filedata', data: pattern(10, 2) },
    ];
    async function* src() {
      for (const i of items) yield i;
    }
    const got: Chunk[] = [];
    for await (const c of chunkStream(src())) got.push(c);
    const want = chunkAll(items);
    expect(got.map((c) => [c.offset, c.offset32, c.data.length])).toEqual(
      want.map((c) => [c.offset, c.offset32, c.data.length]),
    );
    expect(Buffer.concat(got.map((c) => c.data)).equals(streamOf(items))).toBe(true);
  });

  it('chunk buffers are fresh, never reused', () => {
    const chunks = chunkAll([{ kind: 'filedata', data: Buffer.alloc(3_000_000, 1) }]);
    const bufs = new Set(chunks.map((c) => c.data.buffer));
    expect(bufs.size).toBe(chunks.length);
  });

  it('matches a naive reference packer (property)', () => {
    const itemArb = fc.oneof(
      fc.record({ kind: fc.constant('item' as const), n: fc.integer({ min: 0, max: 60 }) }),
      fc.record({
        kind: fc.constant('filedata' as const),
        n: fc.integer({ min: 0, max: 90 }),
        more: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(itemArb, { maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 16 }),
        (spec, chunkSize, blockSize) => {
          let seed = 1;
          const items: ChunkItem[] = [];
          let inFile = false;
          for (const s of spec) {
            const data = pattern(s.n, seed++);
            if (s.kind === 'item') {
              if (inFile) items.push({ kind: 'filedata', data: Buffer.alloc(0), more: false });
              inFile = false;
              items.push({ kind: 'item', data });
            } else {
              items.push({ kind: 'filedata', data, more: s.more });
              inFile = s.more;
            }
          }
          const got = chunkAll(items, { chunkSize, blockSize });
          const want = reference(items, chunkSize, blockSize);
          expect(got.map((c) => c.offset)).toEqual(want.map((c) => c.offset));
          expect(got.map((c) => c.data.toString('hex'))).toEqual(want.map((c) => c.data.toString('hex')));
          for (const c of got) {
            expect(c.data.length).toBeGreaterThan(0);
            expect(c.data.length).toBeLessThanOrEqual(chunkSize);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
