/**
 * The reader's buffering: reads ahead (several in flight), the synchronous
 * nextBuffered() path, short reads and failing reads ahead. Every way of
 * reading must give the records, file data and errors of a plain read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFile, verifySource } from '../../src/check/verify.js';
import { DumpError } from '../../src/format/errors.js';
import { DumpReader } from '../../src/format/reader.js';
import type { DumpRecord } from '../../src/format/types.js';
import { FileSource, type ByteSource } from '../../src/io/source.js';
import { sample, streamReader, tempDir } from '../helpers.js';
import { makeTree, noise, packToBuffer } from '../tree.js';

const t = tempDir();
afterAll(() => t.cleanup());

/** A dump of many small files (and a few larger ones) in several directories. */
let many: string;
let manyBytes: Buffer;

beforeAll(async () => {
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < 240; i++) spec[`d${i % 7}/sub${i % 3}/f${i}${'_'.repeat(i % 23)}.dat`] = noise((i * 977) % 3000, i + 1);
  for (let i = 0; i < 3; i++) spec[`big/b${i}.bin`] = noise(70_000 + 4099 * i, 100 + i);
  makeTree(join(t.dir, 'tree'), spec);
  manyBytes = await packToBuffer(join(t.dir, 'tree'));
  many = join(t.dir, 'many.dump');
  writeFileSync(many, manyBytes);
});

/** A file source that counts reads in flight and may cut reads short or fail them. */
class Probe implements ByteSource {
  inFlight = 0;
  maxInFlight = 0;
  reads = 0;
  private failed = new Set<number>();
  constructor(
    private readonly inner: FileSource,
    private readonly opts: { short?: (k: number) => boolean; failAt?: number } = {},
  ) {}
  get name() {
    return this.inner.name;
  }
  get seekable() {
    return this.inner.seekable;
  }
  get size() {
    return this.inner.size;
  }
  async read(buf: Buffer, at: number, len: number, position: number): Promise<number> {
    const k = this.reads++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      // Reads finish out of step with the decoding, and sometimes out of order.
      await new Promise((r) => (k % 7 === 3 ? setTimeout(r, 1) : setImmediate(r)));
      // Fail once each read that covers failAt (a transient error: reading again succeeds).
      const f = this.opts.failAt;
      if (f !== undefined && position <= f && f < position + len && !this.failed.has(position)) {
        this.failed.add(position);
        throw new DumpError('IO', 'injected read error', position, this.name);
      }
      const n = this.opts.short?.(k) && len > 1 ? Math.ceil(len / 3) : len;
      return await this.inner.read(buf, at, n, position);
    } finally {
      this.inFlight--;
    }
  }
  discard(n: number, position: number) {
    return this.inner.discard(n, position);
  }
  close() {
    return this.inner.close();
  }
}

type DataWay = 'skip' | 'whole' | 'pieces' | 'buffered';

/** Every record (and file data, read one way or another, or skipped), or the error that ended the reading. */
async function readThrough(reader: DumpReader, opts: { sync?: boolean; data?: DataWay } = {}) {
  const out: { rec: DumpRecord; data?: string }[] = [];
  try {
    for (let k = 0; ; k++) {
      const rec = (opts.sync ? reader.nextBuffered() : undefined) ?? (await reader.next());
      if (!rec) break;
      let data: string | undefined;
      if (rec.kind === 'vnode' && rec.data.kind === 'filedata') {
        const way = opts.data ?? 'skip';
        if (way === 'whole') data = (await reader.readFileData()).toString('hex');
        else if (way === 'pieces' || (way === 'buffered' && k % 2 === 0)) {
          const parts: Buffer[] = [];
          for await (const p of reader.fileData()) parts.push(Buffer.from(p));
          data = Buffer.concat(parts).toString('hex');
        } else if (way === 'buffered') data = (reader.bufferedFileData() ?? Buffer.from('not buffered')).toString('hex');
      }
      out.push(data === undefined ? { rec } : { rec, data });
    }
    return { out, error: null };
  } catch (e) {
    if (!(e instanceof DumpError)) throw e;
    return { out, error: { code: e.code, offset: e.offset, message: e.message } };
  } finally {
    await reader.close();
  }
}

/** The reference: the whole dump through a non-seekable stream (no reads ahead, no skipping). */
async function reference(bytes: Buffer, data: DataWay) {
  return readThrough(streamReader(bytes, 1 << 20), { data: data === 'buffered' ? 'pieces' : data });
}

describe('DumpReader buffering', () => {
  const sizes = [64, 300, 1000, 4096, 65536];

  it('gives the same records with any buffer size, reads ahead 0 to 3, next() or nextBuffered()', async () => {
    for (const [path, bytes] of [[many, () => manyBytes], [sample('server-sample-full.dump'), () => readFileSync(sample('server-sample-full.dump'))]] as const) {
      const want = await reference(bytes(), 'skip');
      expect(want.error).toBeNull();
      for (const bufferSize of sizes) {
        for (const readAhead of [0, 1, 2, 3]) {
          for (const sync of [false, true]) {
            const got = await readThrough(new DumpReader(await FileSource.open(path), { bufferSize, readAhead }), { sync });
            expect(got, `${path} buffer ${bufferSize} readAhead ${readAhead} sync ${sync}`).toEqual(want);
          }
        }
      }
    }
  });

  it('reads file data the same in every way while reads ahead are in flight', async () => {
    for (const data of ['whole', 'pieces', 'buffered'] as const) {
      const want = await reference(manyBytes, data);
      for (const bufferSize of [300, 4096, 65536]) {
        const probe = new Probe(await FileSource.open(many));
        const got = await readThrough(new DumpReader(probe, { bufferSize, readAhead: 3 }), { sync: true, data });
        if (data === 'buffered') {
          // Only some files are whole in the buffer: compare those, and every record.
          expect(got.out.map((r) => r.rec)).toEqual(want.out.map((r) => r.rec));
          for (let i = 0; i < got.out.length; i++) {
            const g = got.out[i].data;
            if (g !== undefined && g !== Buffer.from('not buffered').toString('hex')) expect(g).toBe(want.out[i].data);
          }
        } else expect(got).toEqual(want);
      }
    }
  });

  it('keeps up to readAhead reads in flight when the input is read straight through', async () => {
    for (const readAhead of [1, 2, 3]) {
      const probe = new Probe(await FileSource.open(many));
      const got = await readThrough(new DumpReader(probe, { bufferSize: 4096, readAhead }), { sync: true });
      expect(got.error).toBeNull();
      // The window's own read, and the reads ahead.
      expect(probe.maxInFlight).toBe(readAhead);
    }
    const none = new Probe(await FileSource.open(many));
    await readThrough(new DumpReader(none, { bufferSize: 4096, readAhead: 0 }));
    expect(none.maxInFlight).toBe(1);
  });

  it('copes with short reads and with a read ahead that fails once', async () => {
    const want = await reference(manyBytes, 'whole');
    for (const bufferSize of [300, 4096]) {
      const short = new Probe(await FileSource.open(many), { short: (k) => k % 4 === 1 });
      expect(await readThrough(new DumpReader(short, { bufferSize, readAhead: 3 }), { sync: true, data: 'whole' })).toEqual(want);
      for (const failAt of [5000, 60_000, manyBytes.length - 10]) {
        const flaky = new Probe(await FileSource.open(many), { failAt });
        expect(await readThrough(new DumpReader(flaky, { bufferSize, readAhead: 2 }), { sync: true, data: 'whole' })).toEqual(want);
      }
    }
  });

  it('meets a read error that does not go away', async () => {
    class Broken extends Probe {
      override async read(buf: Buffer, at: number, len: number, position: number): Promise<number> {
        if (position + len > 20_000) throw new DumpError('IO', 'broken disk', position, 'broken');
        return super.read(buf, at, len, position);
      }
    }
    const r = new DumpReader(new Broken(await FileSource.open(many)), { bufferSize: 4096, readAhead: 3 });
    const got = await readThrough(r, { sync: true });
    expect(got.error).toMatchObject({ code: 'IO', message: expect.stringContaining('broken disk') });
    expect(got.out.length).toBeGreaterThan(0);
  });

  it('truncated and damaged dumps end with the same error, however they are read', async () => {
    const cuts = [1, 5, 200, 1500, 9000, 30_000, 95_000, manyBytes.length - 3];
    const flips = [40, 700, 5000, 20_000];
    const variants: Buffer[] = [
      ...cuts.map((n) => manyBytes.subarray(0, n)),
      ...flips.map((at) => {
        const b = Buffer.from(manyBytes);
        b[at] ^= 0x40;
        return b;
      }),
      Buffer.concat([manyBytes, Buffer.from('trailing')]),
    ];
    for (const [i, bytes] of variants.entries()) {
      const p = join(t.dir, `v${i}.dump`);
      writeFileSync(p, bytes);
      const want = await reference(bytes, 'skip');
      for (const bufferSize of [64, 1000, 4096]) {
        for (const sync of [false, true]) {
          const got = await readThrough(new DumpReader(await FileSource.open(p), { bufferSize, readAhead: 3 }), { sync });
          expect(got, `variant ${i} buffer ${bufferSize}`).toEqual(want);
        }
      }
      // verify: the same result with a small buffer (reads ahead and nextBuffered on every record) as with the default one.
      const small = await verifySource(await FileSource.open(p), { bufferSize: 256 });
      const usual = await verifyFile(p);
      expect(small).toEqual(usual);
    }
  });
});
