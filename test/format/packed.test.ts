import { describe, expect, it } from 'vitest';
import type { DirEntry } from '../../src/dir/pages.js';
import { NameStore, PackedEntries, PairTable } from '../../src/format/packed.js';

function readBack(p: PackedEntries): { name: string; vnode: number; unique: number; dot: boolean; same: boolean }[] {
  return Array.from({ length: p.count }, (_, k) => ({ name: p.name(k), vnode: p.vnode(k), unique: p.unique(k), dot: p.isDot(k), same: p.sameNameAsPrevious(k) }));
}

const expected = (es: DirEntry[]) =>
  es.map((e, k) => ({ name: e.name, vnode: e.vnode, unique: e.unique, dot: e.name === '.' || e.name === '..', same: k > 0 && es[k - 1].name === e.name }));

describe('PackedEntries', () => {
  it('short names (three numbers an entry): names, pairs, dots and repeated names come back, sorted when asked', () => {
    const store = new NameStore();
    const es: DirEntry[] = [
      { name: '.', vnode: 1, unique: 1 },
      { name: '..', vnode: 1, unique: 1 },
      { name: 'b\xff', vnode: 0xffffffff, unique: 0xfffffffe },
      { name: 'a', vnode: 4, unique: 5 },
      { name: 'a', vnode: 6, unique: 7 },
      { name: 'x'.repeat(511), vnode: 8, unique: 9 },
    ];
    expect(readBack(new PackedEntries(es, store))).toEqual(expected(es));
    const sorted = [es[0], es[1], es[3], es[4], es[2], es[5]].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    expect(readBack(new PackedEntries(es, store, true))).toEqual(expected(sorted));
  });

  it('a name longer than 511 bytes, or more than 4 MiB of names, takes the four-number form', () => {
    const store = new NameStore();
    const long: DirEntry[] = [{ name: '.', vnode: 1, unique: 1 }, { name: 'y'.repeat(512), vnode: 2, unique: 3 }, { name: 'z', vnode: 4, unique: 5 }];
    expect(readBack(new PackedEntries(long, store))).toEqual(expected(long));
    // 17,000 names of 250 bytes: 4.25 MB, past what 22 bits of name start reach.
    const many: DirEntry[] = Array.from({ length: 17_000 }, (_, k) => ({ name: `${String(k).padStart(6, '0')}${'n'.repeat(244)}`, vnode: 2 * k + 2, unique: k }));
    many.push({ name: many[16_999].name, vnode: 9, unique: 9 });
    const p = new PackedEntries(many, store);
    expect(p.count).toBe(17_001);
    for (const k of [0, 1, 16_776, 16_777, 16_999, 17_000]) {
      expect({ name: p.name(k), vnode: p.vnode(k), unique: p.unique(k), same: p.sameNameAsPrevious(k) }).toEqual({
        name: many[k].name, vnode: many[k].vnode, unique: many[k].unique, same: k === 17_000,
      });
    }
  });
});

describe('PairTable', () => {
  // Pairs whose vnode numbers share their low bits, and a uniquifier of 0 and of 2^32 - 1.
  const pairs = Array.from({ length: 5000 }, (_, i) => [(i * 65536 + 2) >>> 0, i % 3 === 0 ? 0 : 0xffffffff - i] as const);

  for (const reserved of [false, true]) {
    it(`${reserved ? 'sized once with reserve (any number of slots)' : 'grown by doubling'}: flags and numbers by pair, absent pairs -1 and 0`, () => {
      const t = new PairTable();
      if (reserved) t.reserve(pairs.length);
      pairs.forEach(([v, u], i) => {
        t.mark(v, u, (i % 2) + 1);
        if (i % 5 !== 0) t.setValue(v, u, i);
      });
      expect(pairs.map(([v, u]) => [t.flagsOf(v, u), t.value(v, u)])).toEqual(pairs.map((_, i) => [(i % 2) + 1, i % 5 === 0 ? -1 : i]));
      expect(t.flagsOf(2, 1)).toBe(0);
      expect(t.value(2, 1)).toBe(-1);
      // Past what was reserved it still grows; numbers that are not 32-bit go to a map.
      for (let i = 0; i < 3000; i++) t.setValue(1, i, 7 * i);
      t.mark(2 ** 33, 5, 2);
      t.setValue(2 ** 33, 5, 9);
      expect(Array.from({ length: 3000 }, (_, i) => t.value(1, i))).toEqual(Array.from({ length: 3000 }, (_, i) => 7 * i));
      expect(pairs.map(([v, u]) => t.value(v, u))).toEqual(pairs.map((_, i) => (i % 5 === 0 ? -1 : i)));
      expect([t.flagsOf(2 ** 33, 5), t.value(2 ** 33, 5)]).toEqual([2, 9]);
    });
  }
});
