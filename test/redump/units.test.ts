/** The parts of redump: append with offset checks, the byte queue, streaming verification. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySource } from '../../src/check/verify.js';
import { TWO_32 } from '../../src/format/constants.js';
import { AppendWriter, type ByteSink } from '../../src/io/append-writer.js';
import { chunkAll } from '../../src/io/chunker.js';
import { FileSource, StreamSource } from '../../src/io/source.js';
import { appendChunks } from '../../src/redump/append.js';
import { ByteQueue } from '../../src/redump/queue.js';
import { verifyStream } from '../../src/redump/verify-stream.js';
import { SAMPLE_FILES, rejection, sample, tempDir } from '../helpers.js';
import { SMALL_TREE, makeTree, noise, packToBuffer } from '../tree.js';

class Collect implements ByteSink {
  parts: Buffer[] = [];
  write(b: Buffer): void {
    this.parts.push(Buffer.from(b));
  }
  get bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}


describe('appendChunks', () => {
  it('appends server chunks in order, checking every 32-bit offset', async () => {
    const data = noise(1_300_000, 3);
    const chunks = chunkAll([{ kind: 'filedata', data }]);
    expect(chunks.map((c) => c.data.length)).toEqual([512000, 512000, 276000]);
    const sink = new Collect();
    const seen: number[] = [];
    const stats = await appendChunks(chunks, new AppendWriter(sink), { onChunk: (_c, pos) => seen.push(pos) });
    expect(sink.bytes.equals(data)).toBe(true);
    expect(seen).toEqual([0, 512000, 1024000]);
    expect(stats).toEqual({ chunks: 3, bytes: 1_300_000, largestChunk: 512000, chunksPast4GiB: 0, firstPast4GiB: null });
  });

  it('a lost chunk: CHUNK_OFFSET at the true position, nothing of it written', async () => {
    const chunks = chunkAll([{ kind: 'filedata', data: noise(1_300_000, 4) }]);
    const sink = new Collect();
    const err = await rejection(appendChunks([chunks[0], chunks[2]], new AppendWriter(sink, { file: 'out.dump' })));
    expect(err.code).toBe('CHUNK_OFFSET');
    expect(err.offset).toBe(512000);
    expect(err.describe()).toBe(
      'out.dump: at byte 512000: chunk offset mismatch: expected 32-bit offset 512000 (true position 512000) but got 1024000; 512000 bytes are missing: a chunk was lost',
    );
    expect(sink.bytes.length).toBe(512000);
  });

  it('a repeated chunk is refused as well', async () => {
    const chunks = chunkAll([{ kind: 'filedata', data: noise(1_300_000, 5) }]);
    const err = await rejection(appendChunks([chunks[0], chunks[1], chunks[1]], new AppendWriter(new Collect())));
    expect(err.code).toBe('CHUNK_OFFSET');
    expect(err.offset).toBe(1024000);
    expect(err.message).toBe(
      'chunk offset mismatch: expected 32-bit offset 1024000 (true position 1024000) but got 512000; 512000 bytes would be written again: a chunk was repeated or arrived out of order',
    );
  });

  it('past 2^32 the received offsets wrap and are checked modulo 2^32', async () => {
    const start = TWO_32 - 1000;
    const w = new AppendWriter(new Collect(), { startPosition: start });
    const a = Buffer.alloc(600, 1);
    const b = Buffer.alloc(600, 2);
    const c = Buffer.alloc(600, 3);
    const stats = await appendChunks(
      [
        { offset32: start, data: a },
        { offset32: TWO_32 - 400, data: b }, // position 2^32 - 400: straddles 2^32
        { offset32: 200, data: c }, // position 2^32 + 200: wrapped
      ],
      w,
    );
    expect(w.position).toBe(TWO_32 + 800);
    expect(stats.chunksPast4GiB).toBe(1);
    expect(stats.firstPast4GiB).toEqual({ position: TWO_32 + 200, offset32: 200 });
    // The true 64-bit offset is not what travels: a receiver given it refuses it.
    const err = await rejection(appendChunks([{ offset32: TWO_32 + 800, data: a }], w));
    expect(err.message).toBe('chunk offset 4294968096 is not an unsigned 32-bit number');
    // And the unwrapped offset of the next chunk is not accepted as a match.
    const err2 = await rejection(appendChunks([{ offset32: 800 + 1, data: a }], w));
    expect(err2.message).toContain('expected 32-bit offset 800 (true position 4294968096) but got 801');
  });

  it('stops when asked, before the next chunk', async () => {
    const chunks = chunkAll([{ kind: 'filedata', data: noise(1_300_000, 6) }]);
    const sink = new Collect();
    let n = 0;
    const stats = await appendChunks(chunks, new AppendWriter(sink), { stop: () => n++ === 2 });
    expect(stats.chunks).toBe(2);
    expect(sink.bytes.length).toBe(1024000);
  });
});

describe('ByteQueue', () => {
  it('hands the same buffers over in order and applies backpressure at the high-water mark', async () => {
    const q = new ByteQueue(100);
    const it = q[Symbol.asyncIterator]();
    const a = Buffer.alloc(60, 1);
    const b = Buffer.alloc(60, 2);
    expect(q.push(a)).toBeUndefined();
    const wait = q.push(b);
    expect(wait).toBeInstanceOf(Promise);
    expect(q.bufferedBytes).toBe(120);
    let released = false;
    void wait!.then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    const r1 = await it.next();
    expect(r1.value).toBe(a); // not a copy
    await Promise.resolve();
    expect(released).toBe(true);
    q.end();
    expect((await it.next()).value).toBe(b);
    expect((await it.next()).done).toBe(true);
  });

  it('fail() rejects the consumer after the queued bytes', async () => {
    const q = new ByteQueue(100);
    const it = q[Symbol.asyncIterator]();
    q.push(Buffer.from('x'));
    q.fail(new Error('boom'));
    expect((await it.next()).value.toString()).toBe('x');
    await expect(it.next()).rejects.toThrow('boom');
  });

  it('a consumer that stops releases a waiting producer and later pushes never wait', async () => {
    const q = new ByteQueue(10);
    const wait = q.push(Buffer.alloc(20));
    expect(wait).toBeInstanceOf(Promise);
    await q[Symbol.asyncIterator]().return!();
    await wait; // settles
    expect(q.abandoned).toBe(true);
    expect(q.push(Buffer.alloc(1000))).toBeUndefined();
    expect(q.bufferedBytes).toBe(0);
  });
});

describe('verifyStream gives what verify gives', () => {
  let t: { dir: string; cleanup: () => void };
  let good: Buffer;
  beforeAll(async () => {
    t = tempDir();
    makeTree(join(t.dir, 'tree'), SMALL_TREE);
    good = await packToBuffer(join(t.dir, 'tree'));
  });
  afterAll(() => t.cleanup());

  async function both(bytes: Buffer) {
    const p = join(t.dir, 'x.dump');
    writeFileSync(p, bytes);
    const pieces = function* () {
      for (let i = 0; i < bytes.length; i += 777) yield bytes.subarray(i, i + 777);
    };
    const streamed = await verifyStream(new StreamSource('x', Readable.from(pieces(), { objectMode: true })));
    const reference = await verifySource(new StreamSource('x', Readable.from(pieces(), { objectMode: true })));
    const onFile = await verifySource(await FileSource.open(p));
    return { streamed, reference, onFile };
  }

  it.each(SAMPLE_FILES)('sample %s', async (name) => {
    const { streamed, reference } = await both(readFileSync(sample(name)));
    expect(streamed).toEqual(reference);
    expect(streamed.verdict).toBe('ok');
  });

  it('damaged inputs: same verdicts, problems and offsets', async () => {
    const flipped = Buffer.from(good);
    flipped[200] ^= 0xff;
    const inputs = [
      good.subarray(0, 3000), // truncated
      Buffer.concat([good, Buffer.from('extra')]), // trailing data
      flipped, // corrupt
      Buffer.from('not a dump at all'),
      good.subarray(0, good.length - 5), // no end marker
    ];
    const verdicts = [];
    for (const b of inputs) {
      const { streamed, reference, onFile } = await both(b);
      expect(streamed).toEqual(reference);
      expect(streamed.problems).toEqual(onFile.problems);
      verdicts.push(streamed.verdict);
    }
    expect(verdicts).toEqual(['truncated', 'trailing-data', 'corrupt', 'not-a-dump', 'truncated']);
  });
});
