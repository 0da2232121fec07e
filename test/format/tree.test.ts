import { describe, expect, it } from 'vitest';
import { validateDirectory, type DirEntry } from '../../src/dir/pages.js';
import { openDump } from '../../src/format/open.js';
import { resolvePaths } from '../../src/format/paths.js';
import { ObjectSource, VolumeTree, type TreeVnode } from '../../src/format/tree.js';
import { typeName } from '../../src/format/types.js';
import { craftDump, dirPages } from '../extract/trees.js';
import { sample, streamReader } from '../helpers.js';
import type { DumpReader } from '../../src/format/reader.js';

/** The vnodes of a dump as the tree model takes them (entries decoded from the directory pages). */
async function vnodesOf(reader: DumpReader): Promise<(TreeVnode & { type: number })[]> {
  const out: (TreeVnode & { type: number })[] = [];
  for await (const r of reader.records()) {
    if (r.kind !== 'vnode') continue;
    const v: TreeVnode & { type: number } = { vnode: r.vnode, unique: r.unique, type: r.type, parent: r.parent, parentUnique: r.parentUnique };
    if (r.data.kind === 'dirpages') v.entries = validateDirectory(r.data.pages).entries;
    out.push(v);
  }
  await reader.close();
  return out;
}

const dir = (vnode: number, unique: number, parent: [number, number], children: [string, number, number][]): TreeVnode => ({
  vnode, unique, parent: parent[0], parentUnique: parent[1],
  entries: [{ name: '.', vnode, unique }, { name: '..', vnode: parent[0], unique: parent[1] }, ...children.map(([name, v, u]) => ({ name, vnode: v, unique: u }))],
});
const file = (vnode: number, unique: number, parent: [number, number] = [1, 1]): TreeVnode => ({ vnode, unique, parent: parent[0], parentUnique: parent[1] });

/** key -> path of every vnode reached (index order). */
function pathsOf(t: VolumeTree, vs: readonly TreeVnode[]): Record<string, string | null> {
  return Object.fromEntries(vs.map((v, i) => [`${v.vnode}.${v.unique}`, t.path(i)]));
}

describe('volume tree on real dumps', () => {
  it('server-sample-full: every vnode reached, paths from the root, parents climb to the root', async () => {
    const vs = await vnodesOf(await openDump(sample('server-sample-full.dump')));
    expect(vs.length).toBe(4 + 52);
    const t = VolumeTree.of(vs);
    const at = (key: string) => vs.findIndex((v) => `${v.vnode}.${v.unique}` === key);
    expect(t.root).toBe(0);
    expect(t.path(t.root)).toBe('');
    expect(t.path(at('2.5'))).toBe('README');
    expect(t.path(at('4.6'))).toBe('latest');
    expect(t.path(at('6.7'))).toBe('docs/report-0.txt');
    expect(t.path(at('7.4'))).toBe('src/a-rather-long-directory-name-for-blob-spanning');
    expect(t.path(at('10.9'))).toBe('src/a-rather-long-directory-name-for-blob-spanning/file_0002_xx.c');
    expect(t.unreached()).toEqual([]);
    expect(t.orphanTops()).toEqual([]);
    // docs/report-0.txt: reached through entry "report-0.txt" of docs (3.2), the 11th entry in page order.
    expect(t.home(at('6.7'))).toEqual({ dir: at('3.2'), entry: 10 });
    expect(t.home(t.root)).toBeNull();
    expect(t.climb(at('10.9'))).toEqual({ chain: [at('10.9'), at('7.4'), at('5.3'), at('1.1')], end: 'root' });
    const missing: number[] = [];
    t.forEachMissingParent((i) => missing.push(i));
    expect(missing).toEqual([]);
    expect(vs.map((v) => typeName(v.type)).filter((n) => n === 'symlink')).toEqual(['symlink']);
  });

  it('merge-incremental: the unchanged vnodes its directories name are dangling, the rest is reached', async () => {
    const vs = await vnodesOf(await openDump(sample('merge-incremental.dump')));
    expect(vs.map((v) => `${v.vnode}.${v.unique}`)).toEqual(['1.1', '3.2', '5.3', '6.7', '54.31', '56.32']);
    const dangling: string[] = [];
    const t = new VolumeTree(new ObjectSource(vs));
    t.walkFromRoot({
      entry(d, e, k, child) {
        if (child < 0) dangling.push(`${vs[d].vnode}.${vs[d].unique}:${e.name(k)}`);
      },
    });
    // Root: README (2.5) and latest (4.6); docs: six reports; src: eight files and the subdirectory 7.4.
    expect(dangling).toEqual([
      '1.1:README', '1.1:latest',
      '3.2:report-21.txt', '3.2:report-15.txt', '3.2:report-6.txt', '3.2:report-9.txt', '3.2:report-12.txt', '3.2:report-18.txt',
      '5.3:file_0001_x.c', '5.3:file_0016_xxxxxxxxxxxxxxxx.c', '5.3:file_0013_xxxxxxxxxxxxx.c', '5.3:file_0019_xxxxxxxxxxxxxxxxxxx.c',
      '5.3:file_0007_xxxxxxx.c', '5.3:file_0004_xxxx.c', '5.3:file_0010_xxxxxxxxxx.c', '5.3:file_0022_xxxxxxxxxxxxxxxxxxxxxx.c',
      '5.3:a-rather-long-directory-name-for-blob-spanning',
    ]);
    expect(t.unreached()).toEqual([]);
    expect(pathsOf(t, vs)).toEqual({ '1.1': '', '3.2': 'docs', '5.3': 'src', '6.7': 'docs/report-0.txt', '54.31': 'added-later.txt', '56.32': 'src/also-new.bin' });
    // resolvePaths says the same, keyed, with '.' for the root and the dangling entries as objects.
    const r = resolvePaths(vs);
    expect([...r.paths]).toEqual([['1.1', '.'], ['3.2', 'docs'], ['5.3', 'src'], ['54.31', 'added-later.txt'], ['6.7', 'docs/report-0.txt'], ['56.32', 'src/also-new.bin']]);
    expect(r.dangling.map((x) => `${x.dir.vnode}.${x.dir.unique}:${x.entry.name}`)).toEqual(dangling);
    expect(r.unreachable).toEqual([]);
  });
});

describe('volume tree on crafted trees', () => {
  it('a directory named twice is placed at its first name; the second is seen, not followed', () => {
    const vs = [dir(1, 1, [1, 1], [['a', 3, 2], ['b', 3, 2]]), dir(3, 2, [1, 1], [['f', 2, 3]]), file(2, 3, [3, 2])];
    const t = new VolumeTree(new ObjectSource(vs));
    const seen: string[] = [];
    t.walkFromRoot({ entry: (_d, e, k, child, s) => void seen.push(`${e.name(k)}->${child}${s ? ' seen' : ''}`) });
    expect(seen).toEqual(['a->1', 'b->1 seen', 'f->2']);
    expect(pathsOf(t, vs)).toEqual({ '1.1': '', '3.2': 'a', '2.3': 'a/f' });
    expect(t.home(1)).toEqual({ dir: 0, entry: 2 });
  });

  it('loops of entries: reached ones are walked once; unreached ones have no top; an orphan tree has its top', () => {
    const vs = [
      dir(1, 1, [1, 1], [['a', 3, 1]]),
      dir(3, 1, [1, 1], [['b', 5, 1]]),
      dir(5, 1, [3, 1], [['up', 3, 1], ['root', 1, 1]]), // a loop back to a and to the root
      dir(7, 1, [9, 1], [['y', 9, 1]]), // 7 and 9 name each other: nothing above them
      dir(9, 1, [7, 1], [['x', 7, 1]]),
      dir(11, 1, [1, 1], [['g', 13, 1], ['self', 11, 1]]), // an orphan tree (naming itself too)
      dir(13, 1, [11, 1], [['h', 2, 1]]),
      file(2, 1, [13, 1]),
      file(4, 1, [99, 1]), // named by nothing
    ];
    const t = VolumeTree.of(vs);
    expect(pathsOf(t, vs)).toEqual({ '1.1': '', '3.1': 'a', '5.1': 'a/b', '7.1': null, '9.1': null, '11.1': null, '13.1': null, '2.1': null, '4.1': null });
    expect(t.unreached()).toEqual([3, 4, 5, 6, 7, 8]);
    expect(t.orphanTops()).toEqual([5, 8]);
    // A later walk from an orphan adds to the reach; paths are from its start.
    t.walk(5);
    expect(t.path(5)).toBe('');
    expect(t.path(7)).toBe('g/h');
    expect(t.unreached()).toEqual([3, 4, 8]);
    expect(t.orphanTops()).toEqual([8]);
    t.walk(3);
    expect([t.path(3), t.path(4)]).toEqual(['', 'y']);
  });

  it('loops in parent links end the climb; parents not in the tree are missing', () => {
    const vs = [
      dir(1, 1, [1, 1], []),
      dir(3, 1, [5, 1], []), // 3 -> 5 -> 3
      dir(5, 1, [3, 1], []),
      dir(7, 1, [7, 1], []), // its own parent
      file(2, 1, [3, 1]),
      file(4, 1, [41, 9]), // parent not in the dump
      file(6, 1, [41, 9]),
      file(8, 1, [1, 1]),
    ];
    const t = VolumeTree.of(vs);
    expect(t.climb(4)).toEqual({ chain: [4, 1, 2], end: 'loop' });
    expect(t.climb(3)).toEqual({ chain: [3], end: 'loop' });
    expect(t.climb(5)).toEqual({ chain: [5], end: 'missing' });
    expect(t.climb(7)).toEqual({ chain: [7, 0], end: 'root' });
    expect(t.parentOf(1)).toBe(2);
    expect(t.parentOf(5)).toBe(-1);
    const missing: number[] = [];
    t.forEachMissingParent((i) => missing.push(i));
    expect(missing).toEqual([5, 6]);
  });

  it('dangling entries, a pair that comes twice (the last stands for it), and no root', () => {
    const vs = [dir(1, 1, [1, 1], [['gone', 9, 9], ['f', 2, 1]]), file(2, 1), file(2, 1), file(4, 1)];
    const t = new VolumeTree(new ObjectSource(vs));
    const dangling: string[] = [];
    t.walkFromRoot({ entry: (_d, e, k, child) => void (child < 0 && dangling.push(`${e.name(k)} ${e.vnode(k)}.${e.unique(k)}`)) });
    expect(dangling).toEqual(['gone 9.9']);
    expect([t.canonical(1), t.canonical(2)]).toEqual([2, 2]);
    expect([t.isReached(1), t.isReached(2), t.isReached(3)]).toEqual([true, true, false]);
    expect([t.path(1), t.path(2)]).toEqual(['f', 'f']);

    const none = VolumeTree.of([file(2, 1), dir(3, 1, [1, 1], [])]);
    expect(none.root).toBe(-1);
    expect(none.walkFromRoot()).toBe(false);
    expect(none.unreached()).toEqual([0, 1]);
    expect(none.orphanTops()).toEqual([0, 1]);
  });

  it('a visitor that refuses an entry leaves its child to a later name', () => {
    const vs = [dir(1, 1, [1, 1], [['bad/name', 3, 1], ['ok', 3, 1]]), dir(3, 1, [1, 1], [])];
    const t = new VolumeTree(new ObjectSource(vs));
    const dots: string[] = [];
    t.walkFromRoot({ entry: (_d, e, k) => !e.name(k).includes('/'), dot: (d, e, k) => void dots.push(`${d}:${e.name(k)}`) });
    expect(t.path(1)).toBe('ok');
    expect(dots).toEqual(['0:.', '0:..', '1:.', '1:..']);
  });

  it('a crafted dump: the tree read back from its bytes', async () => {
    // Root names dir 3 twice (x, y) and a file that is not in the dump; dir 5 is named by nothing.
    const dump = craftDump(
      [
        { vnode: 1, unique: 1, entries: [{ name: '.', vnode: 1, unique: 1 }, { name: '..', vnode: 1, unique: 1 }, { name: 'x', vnode: 3, unique: 2 }, { name: 'y', vnode: 3, unique: 2 }, { name: 'lost', vnode: 6, unique: 9 }] },
        { vnode: 3, unique: 2, pages: dirPages([3, 2], [1, 1], [['data', 2, 3]]) },
        { vnode: 5, unique: 4, entries: [{ name: '.', vnode: 5, unique: 4 }, { name: '..', vnode: 1, unique: 1 }] as DirEntry[], parent: [7, 7] },
      ],
      [{ vnode: 2, unique: 3, data: 'abc' }],
    );
    const vs = await vnodesOf(streamReader(dump));
    const t = VolumeTree.of(vs);
    // 3.2 is placed at whichever of its two names the root's pages list first.
    const first = vs[0].entries!.find((e) => e.vnode === 3)!.name;
    expect(['x', 'y']).toContain(first);
    expect(pathsOf(t, vs)).toEqual({ '1.1': '', '3.2': first, '5.4': null, '2.3': `${first}/data` });
    expect(t.orphanTops()).toEqual([2]);
    expect(t.climb(2)).toEqual({ chain: [2], end: 'missing' });
    const r = resolvePaths(vs);
    expect(r.dangling.map((d) => d.entry.name)).toEqual(['lost']);
    expect(r.unreachable.map((v) => v.vnode)).toEqual([5]);
  });
});
