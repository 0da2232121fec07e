/**
 * `ls` gives its entries in path order a directory at a time (issue #17):
 * the order of byte-wise sorted paths, the root first, whatever the names
 * (names that sort around `/`, a name given twice in one directory, a pair
 * that comes twice); the expected orders are written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { forEachListed, listDump } from '../../src/format/listing.js';
import { PairTable } from '../../src/format/packed.js';
import { run, streamReader, tempDir } from '../helpers.js';
import { craftDump, dirPages, renameInPages } from '../extract/trees.js';

const paths = async (dump: Buffer): Promise<string[]> => (await listDump(streamReader(dump))).entries.map((e) => e.path);

describe('ls in path order', () => {
  it('names sorting before and after "/" (".", "0", "-", a byte 0xe9) under a directory whose own line comes before them', async () => {
    // Root: a (dir: x, z), a.b, a0, -, \xe9, b (dir: c (dir: y)).
    const dump = craftDump(
      [
        { vnode: 1, unique: 1, pages: dirPages([1, 1], [1, 1], [['a', 3, 2], ['a.b', 2, 3], ['a0', 4, 4], ['-', 6, 5], ['\xe9', 8, 6], ['b', 5, 7]]) },
        { vnode: 3, unique: 2, pages: dirPages([3, 2], [1, 1], [['z', 10, 8], ['x', 12, 9]]) },
        { vnode: 5, unique: 7, pages: dirPages([5, 7], [1, 1], [['c', 7, 10]]) },
        { vnode: 7, unique: 10, pages: dirPages([7, 10], [5, 7], [['y', 14, 11]]), parent: [5, 7] },
      ],
      [
        { vnode: 2, unique: 3, data: 'ab' }, { vnode: 4, unique: 4, data: 'a0' }, { vnode: 6, unique: 5, data: '-' },
        { vnode: 8, unique: 6, data: 'e' }, { vnode: 10, unique: 8, data: 'z' }, { vnode: 12, unique: 9, data: 'x' },
        { vnode: 14, unique: 11, data: 'y' },
      ],
    );
    // '-' (0x2d) < 'a' ...; "a" < "a.b" (0x2e) < "a/x" (0x2f) < "a/z" < "a0" (0x30) < "b" < "b/c" < "b/c/y" < "\xe9".
    expect(await paths(dump)).toEqual(['.', '-', 'a', 'a.b', 'a/x', 'a/z', 'a0', 'b', 'b/c', 'b/c/y', '\xe9']);
  });

  it('two directories with one name in a directory: what is below them interleaves, as sorted paths do', async () => {
    // Root names "d" twice (vnodes 3 and 5): 3 holds x and z, 5 holds y.
    const root = renameInPages(dirPages([1, 1], [1, 1], [['d', 3, 2], ['e', 5, 3]]), 'e', 'd');
    const dump = craftDump(
      [
        { vnode: 1, unique: 1, pages: root },
        { vnode: 3, unique: 2, pages: dirPages([3, 2], [1, 1], [['x', 2, 4], ['z', 4, 5]]) },
        { vnode: 5, unique: 3, pages: dirPages([5, 3], [1, 1], [['y', 6, 6]]) },
      ],
      [{ vnode: 2, unique: 4, data: 'x' }, { vnode: 4, unique: 5, data: 'z' }, { vnode: 6, unique: 6, data: 'y' }],
    );
    const l = await listDump(streamReader(dump));
    expect(l.entries.map((e) => [e.path, e.vnode])).toEqual([['.', 1], ['d', 3], ['d', 5], ['d/x', 2], ['d/y', 6], ['d/z', 4]]);
    expect(l.unreachable).toEqual([]);
  });

  it('each entry keeps its own type, mode, size and time (vnodes share them by number in a small table)', async () => {
    const modes = [0o644, 0o600, 0o644, 0o4755, 0o644, 0o7777, 0o600];
    const files = modes.map((mode, k) => ({ vnode: 2 * k + 2, unique: 10 + k, mode, mtime: 1_000_000 + k, data: 'x'.repeat(k), ...(k === 4 ? { type: 3 as const } : {}) }));
    const dump = craftDump(
      [{ vnode: 1, unique: 1, mode: 0o700, pages: dirPages([1, 1], [1, 1], files.map((f, k) => [`f${k}`, f.vnode, f.unique] as [string, number, number])) }],
      files,
    );
    const got = (await listDump(streamReader(dump))).entries.map((e) => [e.path, e.type, e.mode, e.size, e.mtime]);
    expect(got).toEqual([
      ['.', 'dir', 0o700, 2048, 1_157_500_000],
      ...modes.map((mode, k) => [`f${k}`, k === 4 ? 'symlink' : 'file', mode, k, 1_000_000 + k]),
    ]);
  });

  it('unreachable vnodes after the listing, in dump order; no root: nothing listed', async () => {
    const dump = craftDump(
      [{ vnode: 1, unique: 1, pages: dirPages([1, 1], [1, 1], [['f', 2, 2]]) }, { vnode: 3, unique: 9, pages: dirPages([3, 9], [1, 1], []) }],
      [{ vnode: 2, unique: 2, data: 'f' }, { vnode: 4, unique: 3, data: 'lost' }],
    );
    const seen: string[] = [];
    const lost = await forEachListed(streamReader(dump), (e) => {
      seen.push(e.path);
    });
    expect(seen).toEqual(['.', 'f']);
    expect(lost).toEqual([{ vnode: 3, unique: 9 }, { vnode: 4, unique: 3 }]);
    const noRoot = craftDump([{ vnode: 3, unique: 9, pages: dirPages([3, 9], [1, 1], [['f', 2, 2]]) }], [{ vnode: 2, unique: 2, data: 'f' }]);
    expect(await listDump(streamReader(noRoot))).toEqual({ entries: [], unreachable: [{ vnode: 3, unique: 9 }, { vnode: 2, unique: 2 }] });
  });

  it('ls --json prints what JSON.stringify(array, null, 2) prints, an element at a time', () => {
    const t = tempDir();
    try {
      const dump = craftDump(
        [{ vnode: 1, unique: 1, pages: dirPages([1, 1], [1, 1], [['l', 2, 2], ['f', 4, 3]]) }],
        [{ vnode: 2, unique: 2, type: 3, data: 'target' }, { vnode: 4, unique: 3, data: 'abc' }],
      );
      writeFileSync(`${t.dir}/d.dump`, dump);
      const r = run(['ls', '--json', `${t.dir}/d.dump`]);
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout) as { path: string; target?: string }[];
      expect(doc.map((e) => [e.path, e.target])).toEqual([['.', undefined], ['f', undefined], ['l', 'target']]);
      expect(r.stdout).toBe(`${JSON.stringify(doc, null, 2)}\n`);
      writeFileSync(`${t.dir}/e.dump`, craftDump([], []));
      expect(run(['ls', '--json', `${t.dir}/e.dump`]).stdout).toBe('[]\n');
    } finally {
      t.cleanup();
    }
  });
});

describe('PairTable', () => {
  it('keeps every pair, flag and value through its growth (from 1,024 slots to 16,384)', () => {
    const t = new PairTable();
    for (let i = 0; i < 5000; i++) {
      t.setValue(2 * i + 2, i + 7, i);
      if (i % 3 === 0) t.mark(2 * i + 2, i + 7, 1);
      t.mark(2 * i + 2, i + 8, 2); // another uniquifier: another pair
    }
    const wrong: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const ok = t.value(2 * i + 2, i + 7) === i && t.flagsOf(2 * i + 2, i + 7) === (i % 3 === 0 ? 1 : 0)
        && t.flagsOf(2 * i + 2, i + 8) === 2 && t.value(2 * i + 2, i + 8) === -1;
      if (!ok) wrong.push(i);
    }
    expect(wrong).toEqual([]);
    expect(t.value(3, 7)).toBe(-1);
    expect(t.flagsOf(3, 7)).toBe(0);
    // Pairs beyond 32 bits (never decoded; a hand-made record) go to a map.
    t.setValue(2 ** 40, 1, 99);
    expect(t.value(2 ** 40, 1)).toBe(99);
  });
});
