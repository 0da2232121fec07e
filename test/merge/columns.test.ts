import { describe, expect, it } from 'vitest';
import { EntryColumns, type EntryFields } from '../../src/merge/columns.js';

const blank = (): EntryFields => ({ slot: 0, unique: 0, src: 0, offset: 0, size: 0, data: 0, canonical: false });

describe('merge: the full dump table in typed-array columns', () => {
  it('keeps every field across chunk boundaries, 64-bit offsets and 32-bit counts included', () => {
    const c = new EntryColumns();
    const n = 70000; // more than one chunk of 65536
    for (let i = 0; i < n; i++) c.push(i, 0xffffffff - i, i % 3, 2 ** 40 + i * 7, 114 + (i % 5), 0xfffffff0 + (i % 10), i % 2 === 0);
    expect(c.length).toBe(n);
    for (const i of [0, 1, 65535, 65536, 69999]) {
      expect(c.read(i, blank())).toEqual({
        slot: i, unique: 0xffffffff - i, src: i % 3, offset: 2 ** 40 + i * 7, size: 114 + (i % 5), data: 0xfffffff0 + (i % 10), canonical: i % 2 === 0,
      });
      expect(c.slot(i)).toBe(i);
      expect(c.unique(i)).toBe(0xffffffff - i);
    }
  });

  it('update points an entry at another record and keeps its slot and uniquifier; swap exchanges two across chunks', () => {
    const c = new EntryColumns();
    for (let i = 0; i < 65540; i++) c.push(i, i + 1, 0, i * 10, 114, 0, true);
    c.update(65537, 2, 5000000000, 200, 17, false);
    expect(c.read(65537, blank())).toEqual({ slot: 65537, unique: 65538, src: 2, offset: 5000000000, size: 200, data: 17, canonical: false });
    c.swap(3, 65537);
    expect(c.read(3, blank())).toEqual({ slot: 65537, unique: 65538, src: 2, offset: 5000000000, size: 200, data: 17, canonical: false });
    expect(c.read(65537, blank())).toEqual({ slot: 3, unique: 4, src: 0, offset: 30, size: 114, data: 0, canonical: true });
  });

  it('sortedBySlot is stable: a slot keeps its entries in the order they came', () => {
    const c = new EntryColumns();
    const slots = [5, 2, 5, 0, 2, 5];
    slots.forEach((s, i) => c.push(s, 100 + i, 0, i, 114, 0, true));
    const s = c.sortedBySlot();
    const got = Array.from({ length: s.length }, (_, i) => [s.slot(i), s.unique(i)]);
    expect(got).toEqual([[0, 103], [2, 101], [2, 104], [5, 100], [5, 102], [5, 105]]);
  });
});

describe('merge: the limits of its columns', () => {
  it('refuses 65,535 incrementals in one merge with USAGE before it opens any input', async () => {
    const { planMerge } = await import('../../src/merge/merge.js');
    const many = Array.from({ length: 65535 }, (_, i) => `/nonexistent/inc-${i}.dump`);
    await expect(planMerge('/nonexistent/full.dump', many)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('at most 65534 incremental dumps') });
    // One fewer passes that check and stops at the first input it opens (the full dump, missing).
    await expect(planMerge('/nonexistent/full.dump', many.slice(1))).rejects.not.toMatchObject({ code: 'USAGE' });
  });
});
