/** The pieces diagnosis is built from: the virtual stream, resynchronisation, the walk. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sample, tempDir } from '../helpers.js';
import { FileSource } from '../../src/io/source.js';
import { VStream } from '../../src/diagnose/vstream.js';
import { findResync, plausibleAt, soundVnode } from '../../src/diagnose/resync.js';
import { walkStream } from '../../src/diagnose/walk.js';
import { PositionalReader } from '../../src/format/positional.js';
import { layoutOf, noise, type RecInfo } from './fixtures.js';

const SAMPLE = sample('server-sample-full.dump');
let t: { dir: string; cleanup: () => void };
let records: RecInfo[];
const open: FileSource[] = [];
async function src(file: string): Promise<FileSource> {
  const s = await FileSource.open(file);
  open.push(s);
  return s;
}

beforeAll(async () => {
  t = tempDir('codadump-int-');
  records = (await layoutOf(SAMPLE, false)).records;
});
afterAll(async () => {
  for (const s of open) await s.close();
  t.cleanup();
});

describe('VStream', () => {
  it('reads across touching segments as one run, stops at gaps, maps back to file ranges', async () => {
    const f = path.join(t.dir, 'bytes');
    fs.writeFileSync(f, Buffer.from('0123456789abcdefghij'));
    // virtual [0,4) = file [0,4); gap [4,10); [10,14) = file [16,20); [14,20) = file [4,10)
    const vs = new VStream(await src(f), [
      { vstart: 0, fstart: 0, length: 4 },
      { vstart: 10, fstart: 16, length: 4 },
      { vstart: 14, fstart: 4, length: 6 },
    ], 20);
    expect((await vs.bytes(0, 10)).toString()).toBe('0123');
    expect((await vs.bytes(12, 6)).toString()).toBe('ij4567');
    expect(vs.readable(5)).toBe(false);
    expect(vs.nextReadable(5)).toBe(10);
    expect(vs.readableEnd(11)).toBe(20);
    expect(vs.filePos(15)).toBe(5);
    expect(vs.fileRanges(2, 16)).toEqual([{ start: 2, end: 4 }, { start: 16, end: 20 }, { start: 4, end: 6 }]);
    expect(vs.readableBytes(0, 20)).toBe(14);
  });

  it('direct: the same bytes read from the descriptor, one read in 64 through the source', async () => {
    const f = path.join(t.dir, 'bytes-direct');
    fs.writeFileSync(f, Buffer.from('0123456789abcdefghij'));
    const s = await src(f);
    const segments = [
      { vstart: 0, fstart: 0, length: 4 },
      { vstart: 10, fstart: 16, length: 4 },
      { vstart: 14, fstart: 4, length: 6 },
    ];
    const vs = new VStream(s, segments, 20, true);
    const through = new VStream(s, segments, 20);
    let viaSource = 0;
    const read = s.read.bind(s);
    s.read = (...args: Parameters<FileSource['read']>) => {
      viaSource++;
      return read(...args);
    };
    for (let k = 0; k < 128; k++) {
      expect((await vs.bytes(12, 6)).toString()).toBe('ij4567');
      expect((await vs.bytes(0, 10)).toString()).toBe('0123');
    }
    // 256 reads of the direct stream: the 64th, 128th, 192nd and 256th through the source.
    expect(viaSource).toBe(4);
    expect((await through.bytes(12, 6)).toString()).toBe('ij4567');
    expect(viaSource).toBe(6); // two pieces, two reads
  });

  it('decodes a record whose bytes are split over two distant file ranges', async () => {
    const buf = fs.readFileSync(SAMPLE);
    const v = records.find((r) => r.kind === 'vnode' && r.vnode === 3)!; // a directory record, 2 KB of pages
    const mid = v.offset + 1000;
    // File: [record tail][junk][record head]; virtual: head then tail.
    const f = path.join(t.dir, 'split');
    const head = buf.subarray(v.offset, mid);
    const tail = buf.subarray(mid, v.end);
    fs.writeFileSync(f, Buffer.concat([tail, Buffer.alloc(100, 0xee), head]));
    const vs = new VStream(await src(f), [
      { vstart: v.offset, fstart: tail.length + 100, length: head.length },
      { vstart: mid, fstart: 0, length: tail.length },
    ], v.end);
    const d = await vs.decodeAt(v.offset);
    expect(d.ok).toBe(true);
    if (d.ok && d.rec.kind === 'vnode') {
      expect(d.rec.vnode).toBe(3);
      expect(d.end).toBe(v.end);
      expect(soundVnode(d.rec)).toBe(true);
    }
    // The same record with its tail lost is cut, and still names itself.
    const cut = new VStream(vs.src, [{ vstart: v.offset, fstart: tail.length + 100, length: head.length }], v.end);
    const c = await cut.decodeAt(v.offset);
    expect(c).toMatchObject({ ok: false, cut: true, readableEnd: mid, head: { tag: 5, vnode: 3, unique: v.unique } });
  });
});

describe('resynchronisation', () => {
  it('from inside file data finds exactly the next record', async () => {
    const vs = VStream.identity(await src(SAMPLE));
    let checked = 0;
    for (let i = 0; i + 1 < records.length; i++) {
      const r = records[i];
      if (r.kind !== 'vnode' || r.end - r.offset < 100) continue;
      expect(await findResync(vs, r.offset + 1)).toBe(records[i + 1].offset); // a vnode, the small index or the end marker
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('finds the small index header and the end marker too', async () => {
    const vs = VStream.identity(await src(SAMPLE));
    const small = records.find((r) => r.kind === 'index' && records.indexOf(r) > 2)!;
    const lastDir = records.filter((r) => r.type === 2).pop()!;
    expect(await findResync(vs, lastDir.offset + 1)).toBe(small.offset);
    const end = records[records.length - 1];
    const lastFile = records[records.length - 2];
    expect(await findResync(vs, lastFile.offset + 1)).toBe(end.offset);
    expect(await findResync(vs, end.offset + 1)).toBe(null);
  });

  it('rejects a lone VNODE tag with a plausible number inside random data', async () => {
    const b = noise(200000, 3);
    // tag 5, vnode 8, uniquifier 9, then 't' (passes the byte filter) and garbage
    Buffer.from([5, 0, 0, 0, 8, 0, 0, 0, 9, 0x74, 1]).copy(b, 5000);
    for (let i = 0; i < b.length; i++) if (b[i] === 8 && b.readUInt32BE(Math.min(i + 1, b.length - 4)) === 0x3a214b6e) b[i] = 0;
    const f = path.join(t.dir, 'noise');
    fs.writeFileSync(f, b);
    const vs = VStream.identity(await src(f));
    expect(await plausibleAt(vs, 5000)).toBe(false);
    expect(await findResync(vs, 0)).toBe(null);
  });

  it('a whole vnode record inside random data is rejected when what follows it does not decode', async () => {
    const buf = fs.readFileSync(SAMPLE);
    const v = records.find((r) => r.kind === 'vnode' && r.type === 1 && r.end - r.offset > 200 && r.end - r.offset < 20000)!;
    const b = noise(100000, 8);
    for (let i = 0; i < b.length; i++) if (b[i] >= 3 && b[i] <= 8) b[i] = 0x20; // no other candidates at all
    buf.copy(b, 10000, v.offset, v.end);
    b[10000 + (v.end - v.offset)] = 0xff; // not a record
    const f = path.join(t.dir, 'embedded');
    fs.writeFileSync(f, b);
    const vs = VStream.identity(await src(f));
    const d = await vs.decodeAt(10000);
    expect(d.ok && d.rec.kind === 'vnode' && soundVnode(d.rec)).toBe(true); // the record itself is sound
    expect(await plausibleAt(vs, 10000)).toBe(false);
    expect(await findResync(vs, 0)).toBe(null);
    // Followed by an end marker, it is a boundary.
    Buffer.from([8, 0x3a, 0x21, 0x4b, 0x6e]).copy(b, 10000 + (v.end - v.offset));
    fs.writeFileSync(f, b);
    const vs2 = VStream.identity(await src(f));
    expect(await findResync(vs2, 0)).toBe(10000);
  });

  it('soundVnode wants every server field, permission bits only, and L equal to the data count', async () => {
    const pos = await PositionalReader.open(SAMPLE);
    const file = records.find((r) => r.kind === 'vnode' && r.type === 1)!;
    const dir = records.find((r) => r.kind === 'vnode' && r.type === 2)!;
    const f = await pos.recordAt(file.offset);
    const d = await pos.recordAt(dir.offset);
    await pos.close();
    if (f.kind !== 'vnode' || d.kind !== 'vnode') throw new Error('not vnodes');
    expect(soundVnode(f)).toBe(true);
    expect(soundVnode(d)).toBe(true);
    expect(soundVnode({ ...f, length: f.length + 1 })).toBe(false);
    expect(soundVnode({ ...f, fields: f.fields!.replace('q', '') })).toBe(false);
    expect(soundVnode({ ...f, mode: 0o100644 })).toBe(false);
    expect(soundVnode({ ...f, vnode: f.vnode + 1 })).toBe(false); // a file with an odd (directory) number
    expect(soundVnode({ ...f, type: 4 })).toBe(false);
    expect(soundVnode({ ...d, acl: undefined })).toBe(false);
    expect(soundVnode({ ...d, data: { kind: 'dirpages', offset: 0, count: 1, pages: Buffer.alloc(2048) } })).toBe(false);
  });

  it('an end marker is accepted only where the stream must end, when that is known', async () => {
    const vs = VStream.identity(await src(SAMPLE));
    const end = records[records.length - 1];
    expect(await plausibleAt(vs, end.offset)).toBe(true);
    expect(await plausibleAt(vs, end.offset, { expectedEnd: end.end })).toBe(true);
    expect(await plausibleAt(vs, end.offset, { expectedEnd: end.end + 1 })).toBe(false);
  });
});

describe('walk', () => {
  it('a sound dump is one run from the header to the end marker', async () => {
    const vs = VStream.identity(await src(SAMPLE));
    const w = await walkStream(vs);
    expect(w.runs).toEqual([expect.objectContaining({ start: 0, end: fs.statSync(SAMPLE).size, endedBy: 'end', resynced: false })]);
    expect(w.records.map((f) => f.at)).toEqual(records.map((r) => r.offset));
    expect(w.damage).toEqual([]);
  });

  it('a record whose length field is damaged is found overlapping the next one', async () => {
    const buf = fs.readFileSync(SAMPLE);
    const files = records.filter((r) => r.kind === 'vnode' && r.type === 1 && r.end - r.offset > 4000);
    const victim = files[1];
    const next = records[records.indexOf(victim) + 1];
    // Make its FILEDATA count 1000 bytes longer than its data.
    const pos = await PositionalReader.open(SAMPLE);
    const rec = await pos.recordAt(victim.offset);
    await pos.close();
    if (rec.kind !== 'vnode' || rec.data.kind !== 'filedata') throw new Error('not a file');
    const data = rec.data.start;
    buf.writeUInt32BE(rec.data.length + 1000, rec.data.offset + 1);
    const f = path.join(t.dir, 'longer.dump');
    fs.writeFileSync(f, buf);
    const w = await walkStream(VStream.identity(await src(f)));
    const found = w.records.find((r) => r.at === victim.offset)!;
    expect(found).toMatchObject({ complete: false, suspect: 'overlap' });
    expect(w.records.some((r) => r.at === next.offset)).toBe(true);
    expect(w.damage).toEqual([expect.objectContaining({ code: 'OVERLAP', start: data, end: next.offset })]);
  });
});
