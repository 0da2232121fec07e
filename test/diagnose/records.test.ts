/** The walk's record table and the survivors' pair table: what they keep, and what they give back. */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sample, tempDir } from '../helpers.js';
import { FileSource } from '../../src/io/source.js';
import { VStream } from '../../src/diagnose/vstream.js';
import { walkStream } from '../../src/diagnose/walk.js';
import { FoundRecords, K_HEADER, K_VNODE } from '../../src/diagnose/records.js';
import type { DumpRecord } from '../../src/format/types.js';
import { PairMap } from '../../src/diagnose/survivors.js';
import { analyzeSource } from '../../src/diagnose/diagnose.js';

const SAMPLE = sample('server-sample-full.dump');
const open: FileSource[] = [];
async function src(file: string): Promise<FileSource> {
  const s = await FileSource.open(file);
  open.push(s);
  return s;
}
const t = tempDir('codadump-records-');
afterAll(async () => {
  for (const s of open) await s.close();
  t.cleanup();
});

/** A stream that cannot be read again synchronously: the table keeps every record decoded. */
function keepingAll(vs: VStream): VStream {
  Object.defineProperty(vs, 'canReadSync', { get: () => false });
  return vs;
}

describe('FoundRecords', () => {
  it('gives back, decoded again, exactly the records a walk that keeps them all holds', async () => {
    const compact = await walkStream(VStream.identity(await src(SAMPLE)), { expectHeader: true });
    const kept = await walkStream(keepingAll(VStream.identity(await src(SAMPLE))), { expectHeader: true });
    expect(compact.records.length).toBe(kept.records.length);
    expect(compact.records.length).toBeGreaterThan(10);
    let vnodes = 0;
    for (let i = 0; i < compact.records.length; i++) {
      expect(compact.records.get(i)).toEqual(kept.records.get(i));
      const f = kept.records.get(i);
      if (f.rec.kind === 'vnode') {
        vnodes++;
        expect(compact.records.kind(i)).toBe(K_VNODE);
        expect([compact.records.vnode(i), compact.records.unique(i), compact.records.parent(i), compact.records.parentUnique(i), compact.records.type(i)])
          .toEqual([f.rec.vnode, f.rec.unique, f.rec.parent, f.rec.parentUnique, f.rec.type]);
        if (f.rec.data.kind === 'filedata') expect(compact.records.dataStart(i)).toBe(f.rec.data.start);
      }
    }
    expect(vnodes).toBeGreaterThan(5);
    expect(compact.records.kind(0)).toBe(K_HEADER);
    // iteration and the array-like helpers see the same records
    expect([...compact.records].map((f) => f.at)).toEqual(kept.records.map((f) => f.at));
  });

  it('keeps record ends exactly, also of records 4 GiB long or more and across 2^32', () => {
    const t = new FoundRecords(null);
    const rec = (offset: number): DumpRecord => ({ kind: 'end', offset, size: 5, magic: 0x3a214b6e });
    const spans: [number, number][] = [[0, 5], [2 ** 32 - 3, 2 ** 32 + 2], [2 ** 33, 2 ** 33 + 2 ** 32 + 7], [10, 2 ** 32 + 9], [7, 7]];
    for (const [at, end] of spans) t.push({ rec: rec(at), at, end, run: 0, complete: true });
    expect(spans.map((_, i) => [t.at(i), t.end(i)])).toEqual(spans);
  });

  it('keeps offsets past 2^40 exactly, and the run of each record (runs in any order, one repeated later)', () => {
    const t = new FoundRecords(null);
    const rec = (offset: number): DumpRecord => ({ kind: 'end', offset, size: 5, magic: 0x3a214b6e });
    const rows: [number, number, number][] = [
      [0, 5, 0], [2 ** 40 - 8, 2 ** 40 - 3, 0], [2 ** 40, 2 ** 40 + 5, 1], [2 ** 41 + 3, 2 ** 41 + 2 ** 32 + 9, 1],
      [2 ** 33 + 1, 2 ** 33 + 6, 3], [12, 17, 1], [20, 25, 1], [30, 35, 2],
    ];
    for (const [at, end, run] of rows) t.push({ rec: rec(at), at, end, run, complete: true });
    expect(rows.map((_, i) => [t.at(i), t.end(i), t.run(i)])).toEqual(rows);
    expect(t.get(3)).toMatchObject({ at: 2 ** 41 + 3, end: 2 ** 41 + 2 ** 32 + 9, run: 1 });
  });

  it('a record asked for after its input was closed: a clear error, not a crash', async () => {
    const s = await FileSource.open(SAMPLE);
    const w = await walkStream(VStream.identity(s), { expectHeader: true });
    await s.close();
    let i = 0;
    while (w.records.kind(i) !== K_VNODE || w.records.dataKind(i) !== 2) i++;
    expect(() => w.records.rec(i)).toThrow(/after its input was closed/);
    expect(w.records.vnode(i)).toBeGreaterThan(0); // the columns stay readable
  });

  it('a truncated copy: the same survivors and paths whether records are kept or decoded again', async () => {
    const f = path.join(t.dir, 'cut.dump');
    const whole = fs.readFileSync(SAMPLE);
    fs.writeFileSync(f, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const a = await analyzeSource(await src(f));
    expect(a.verdict).toBe('truncated');
    expect(a.survivors.length).toBeGreaterThan(3);
    const kept = await walkStream(keepingAll(VStream.identity(await src(f))), { expectHeader: true });
    const want = kept.records.filter((r) => r.rec.kind === 'vnode' && r.complete).map((r) => r.rec);
    expect(a.survivors.map((s) => s.vnode)).toEqual(want);
    for (let j = 0; j < a.survivors.length; j++) {
      expect(a.survivors.find(a.survivors.vnode(j), a.survivors.unique(j))).toBe(j);
      expect(a.survivors.get(j).path).toBe(a.survivors.path(j));
    }
    expect(a.survivors.path(0)).toBe('.');
  });
});

describe('PairMap', () => {
  it('finds every pair it was given, and no other, across growth and replacement', () => {
    const pairs: [number, number][] = [];
    const m = new PairMap((v) => pairs[v][1]);
    const ref = new Map<string, number>();
    let x = 12345;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 5000; i++) {
      const p: [number, number] = i % 7 === 0 ? [rnd(), 0xffffffff] : [rnd() % 3000, rnd() % 5];
      const k = `${p[0]}.${p[1]}`;
      pairs.push(p);
      m.set(p[0], p[1], i);
      ref.set(k, i);
    }
    expect(m.size).toBe(ref.size);
    for (const [k, v] of ref) {
      const [a, b] = k.split('.').map(Number);
      expect(m.get(a, b)).toBe(v);
    }
    expect(m.get(3001, 0)).toBe(-1);
    expect(m.get(-1, 0)).toBe(-1);
    expect(m.get(1.5, 0)).toBe(-1);
  });
});
