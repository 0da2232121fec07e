/**
 * redump with W = 2^32 on a real > 4 GiB stream: a valid dump generated on
 * the fly by the encoder (three 1.5 GiB files of zeros, two small files of
 * noise), streamed through the server chunker, the AppendWriter and a
 * sparse AtomicOutput, verified while written. The output must be the
 * source byte for byte, every chunk's 32-bit offset checked (also the
 * wrapped ones past 2^32). The same chunks fed to the model-A receiver
 * reproduce the bug: the A1 layout of WRAPAROUND.md.
 * Set CODADUMP_SKIP_BIG=1 to skip it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { redump } from '../../src/redump/redump.js';
import { syntheticDump, syntheticLength, type SyntheticFile } from '../../src/redump/synthetic.js';
import { SimulatedReceiver } from '../../src/io/receivers.js';
import { verifyFile } from '../../src/check/verify.js';
import { END_MARKER, TWO_32 } from '../../src/format/constants.js';
import type { DumpItem } from '../../src/format/items.js';
import { readAt, sha256File, tempDir } from '../helpers.js';

const W = TWO_32;
const GiB = 2 ** 30;
const MiB = 2 ** 20;
const CHUNK = 512000;
const BLOCK = 4096;

const files: SyntheticFile[] = [
  { name: 'zeros-a', size: 1.5 * GiB },
  { name: 'noise-b', size: 100_000, content: 'noise' },
  { name: 'zeros-c', size: 1.5 * GiB },
  { name: 'zeros-d', size: 1.5 * GiB },
  { name: 'noise-e', size: 70_000, content: 'noise' },
];
const L = syntheticLength({ files });


/** How many chunks a server makes of these items: the packing rule on sizes alone. */
function expectedChunkCount(items: Array<{ record: number } | { data: number }>): number {
  let used = 0;
  let count = 0;
  const put = (n: number) => {
    if (used + n <= CHUNK) used += n;
    else {
      count++;
      used = n;
    }
  };
  for (const it of items) {
    if ('record' in it) put(it.record);
    else for (let left = it.data; left > 0; left -= BLOCK) put(Math.min(BLOCK, left));
  }
  return count + (used > 0 ? 1 : 0);
}

const skip = process.env.CODADUMP_SKIP_BIG === '1';

describe.skipIf(skip)('redump of a real > 4 GiB dump', () => {
  let t: { dir: string; cleanup: () => void };
  let dir: string;
  beforeAll(() => {
    t = tempDir('codadump-redump-big-');
    dir = t.dir;
  });
  afterAll(() => t.cleanup());

  it('the append writer gives the source bytes; model A gives the wrapped file', async () => {
    expect(L).toBeGreaterThan(W);
    expect(L).toBeLessThan(2 * W);
    const outPath = path.join(dir, 'fixed.dump');
    const damagedPath = path.join(dir, 'model-a.dump');

    // The source: hashed as generated; record sizes and the noise files' bytes remembered.
    const srcHash = createHash('sha256');
    const shape: Array<{ record: number } | { data: number }> = [];
    const noise: Array<{ at: number; bytes: Buffer }> = [];
    let head = Buffer.alloc(0);
    async function* source(): AsyncGenerator<DumpItem> {
      let pos = 0;
      let records = 0;
      for await (const it of syntheticDump({ files })) {
        srcHash.update(it.data);
        if (it.kind === 'item') {
          shape.push({ record: it.data.length });
          if (pos === 0) head = Buffer.from(it.data);
          records++;
        } else {
          const last = shape[shape.length - 1];
          if (last && 'data' in last) last.data += it.data.length;
          else shape.push({ data: it.data.length });
          // header, volume, large index, root, small index, then one record per file
          if (files[records - 6].content === 'noise') noise.push({ at: pos, bytes: Buffer.from(it.data) });
        }
        pos += it.data.length;
        yield it;
      }
    }

    const recv = new SimulatedReceiver('A', damagedPath, { wrapBits: 32, sparse: true });
    const spans: Array<{ offset: number; offset32: number; length: number }> = [];
    const r = await (async () => {
      try {
        return await redump({ items: source() }, outPath, {
          sparse: true,
          onChunk: (c, position) => {
            spans.push({ offset: position, offset32: c.offset32, length: c.data.length });
            recv.writeChunk({ offset: position, offset32: c.offset32, data: c.data });
          },
        });
      } finally {
        recv.close();
      }
    })();

    // 1. The fixed path: verified while written, byte-identical.
    expect(r.failure).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.verdict).toBe('ok');
    expect(r.verify.problems).toEqual([]);
    expect(r.verify.streamLength).toBe(L);
    expect(r.verify.counts).toEqual({ directories: 1, files: 5, removed: 0 });
    expect(r.bytes).toBe(L);
    const srcSha = srcHash.digest('hex');
    expect(r.sha256).toBe(srcSha);
    expect(fs.readdirSync(dir).sort()).toEqual(['fixed.dump', 'model-a.dump']);
    const st = fs.statSync(outPath);
    expect(st.size).toBe(L);
    expect(st.blocks * 512).toBeLessThan(64 * MiB); // sparse on disk
    expect(sha256File(outPath)).toBe(srcSha);
    expect(readAt(outPath, L - 5, 5).equals(END_MARKER)).toBe(true);
    for (const n of noise) expect(readAt(outPath, n.at, n.bytes.length).equals(n.bytes)).toBe(true);

    // 2. Every chunk counted and checked, the wrapped offsets too.
    const count = expectedChunkCount(shape);
    expect(spans.length).toBe(count);
    expect(r.chunks.chunks).toBe(count);
    expect(r.chunks.bytes).toBe(L);
    expect(r.chunks.largestChunk).toBe(CHUNK);
    let expect64 = 0;
    for (const sp of spans) {
      expect(sp.offset).toBe(expect64);
      expect(sp.length).toBeLessThanOrEqual(CHUNK);
      expect(sp.offset32).toBe(sp.offset % W);
      expect64 += sp.length;
    }
    expect(expect64).toBe(L);
    const past = spans.filter((sp) => sp.offset >= W);
    expect(past.length).toBeGreaterThan(1000);
    expect(r.chunks.chunksPast4GiB).toBe(past.length);
    for (const sp of past) expect(sp.offset32).toBe(sp.offset - W);
    expect(r.chunks.firstPast4GiB).toEqual({ position: past[0].offset, offset32: past[0].offset - W });

    // 3. Model A: the wrapped file (WRAPAROUND.md A1).
    const straddler = spans.find((sp) => sp.offset < W && sp.offset + sp.length > W)!;
    expect(straddler).toBeDefined();
    const F = straddler.offset + straddler.length;
    const s = F - W;
    const e = L - W;
    expect(F).toBeGreaterThan(W);
    expect(F).toBeLessThanOrEqual(W + CHUNK);
    expect(fs.statSync(damagedPath).size).toBe(F);
    expect(readAt(damagedPath, e - 5, 5).equals(END_MARKER)).toBe(true);
    expect(readAt(damagedPath, F - 5, 5).equals(END_MARKER)).toBe(false);
    expect(s).toBeGreaterThan(head.length);
    expect(readAt(damagedPath, 0, head.length).equals(head)).toBe(true); // [0, s) intact
    expect(noise.map((n) => n.bytes.length)).toEqual([100_000, 70_000]);
    const [b, eNoise] = noise;
    expect(b.at).toBeGreaterThanOrEqual(e); // noise-b in the intact middle [e, F)
    expect(b.at + b.bytes.length).toBeLessThan(F);
    expect(readAt(damagedPath, b.at, b.bytes.length).equals(b.bytes)).toBe(true);
    expect(eNoise.at).toBeGreaterThanOrEqual(F); // noise-e in the tail [F, L): written over the head
    expect(readAt(damagedPath, eNoise.at - W, eNoise.bytes.length).equals(eNoise.bytes)).toBe(true);
    expect(readAt(damagedPath, eNoise.at, 16).length).toBe(0); // nothing of it at its true place

    // The damaged file does not verify; the redumped one does.
    const bad = await verifyFile(damagedPath);
    // (read by record lengths, it runs into zeros-d's data, which the file cuts off at F)
    const eRecord = shape[shape.length - 3];
    expect('record' in eRecord).toBe(true);
    const dStart = L - 5 - 70_000 - ('record' in eRecord ? eRecord.record : 0) - 1.5 * GiB;
    expect(bad.verdict).toBe('truncated');
    expect(bad.size).toBe(F);
    expect(bad.problems).toEqual([
      {
        code: 'TRUNCATED',
        severity: 'error',
        offset: F,
        message: `input ends inside the file data of vnode 8.5 (${dStart + 1.5 * GiB - F} of ${1.5 * GiB} bytes missing)`,
      },
    ]);
    const good = await verifyFile(outPath);
    expect(good.verdict).toBe('ok');
    expect(good.streamLength).toBe(L);
  }, 150_000);
});
