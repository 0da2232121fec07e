/** pack's tree walk in columns (PackedTree), its column stores, and the writer's pieces that read it again. */
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeDirectory } from '../../src/dir/pages.js';
import { collectItems } from '../../src/io/write-dump.js';
import { ByteStore, NumberColumn } from '../../src/pack/columns.js';
import { ContentReader, packTree, treeDirEntries, TreePages } from '../../src/pack/pack.js';
import { walkTree } from '../../src/pack/tree.js';
import { readAll, streamReader, tempDir } from '../helpers.js';
import { PACK_OPTS } from '../tree.js';

const t = tempDir();
afterAll(() => t.cleanup());

describe('NumberColumn', () => {
  it('keeps any number, widening a block only when a value does not fit', () => {
    const c = new NumberColumn();
    for (let i = 0; i < 40_000; i++) c.push(i & 0xff);
    expect(c.length).toBe(40_000);
    // Two blocks of 32,768 one-byte elements.
    expect(c.bytes).toBe(2 * 32_768);
    const odd = [0x100, 0xffff, 0x10000, 0xffffffff, 2 ** 32, -1, 1.5, 2 ** 53];
    odd.forEach((v, k) => c.set(100 + k, v));
    // The first block is now Float64 (8 bytes an element), the second still one byte.
    expect(c.bytes).toBe(8 * 32_768 + 32_768);
    odd.forEach((v, k) => expect(c.get(100 + k)).toBe(v));
    expect(c.get(99)).toBe(99);
    expect(c.get(39_999)).toBe(39_999 & 0xff);
    expect(c.push(70_000)).toBe(40_000);
    expect(c.get(40_000)).toBe(70_000);
    expect(c.get(32_768)).toBe(0);
  });
});

describe('ByteStore', () => {
  it('finds every piece again; a piece never straddles two 1 MiB chunks; a longer one has a chunk of its own', () => {
    const s = new ByteStore();
    const piece = (n: number, fill: number) => Buffer.alloc(n, fill);
    const a = s.add(piece(1_000_000, 1));
    const b = s.add(piece(100_000, 2)); // does not fit the rest of chunk 0: starts chunk 1
    const c = s.add(piece(3 << 20, 3));
    const d = s.add(Buffer.from('after'));
    const e = s.add(Buffer.alloc(0));
    expect([a, b, c, d]).toEqual([0, 1 << 20, 2 << 20, 3 << 20]);
    expect(s.view(a, 1_000_000).equals(piece(1_000_000, 1))).toBe(true);
    expect(s.view(b, 100_000).equals(piece(100_000, 2))).toBe(true);
    expect(s.view(c, 3 << 20).equals(piece(3 << 20, 3))).toBe(true);
    expect(s.latin1(d, 5)).toBe('after');
    expect(s.view(e, 0).length).toBe(0);
    expect(s.bytes).toBe((1 << 20) * 3 + (3 << 20));
  });
});

describe('walkTree', () => {
  // root: a/ (empty), b/ (files 1, 2), c/ (empty), d/ (file 1, link), z (file), fifo (left out)
  const root = join(t.dir, 'walk');
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'b'));
  mkdirSync(join(root, 'c'));
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'b', '1'), 'one');
  writeFileSync(join(root, 'b', '2'), 'two!');
  writeFileSync(join(root, 'd', '1'), '');
  symlinkSync('../b/\u00e9', join(root, 'd', 'l'));
  writeFileSync(join(root, 'z'), 'zzz');
  const fifo = join(root, 'd', 'fifo');
  execFileSync('mkfifo', [fifo]);

  it('numbers directories breadth first, files in walk order, and keeps each directory\'s entries by name', async () => {
    const w = await walkTree(root);
    expect([w.dirCount, w.fileCount, w.nextUniquifier]).toEqual([5, 5, 11]);
    expect(w.skipped).toEqual(['d/fifo']);
    // Directories: root, a, b, c, d: vnodes 1, 3, 5, 7, 9, uniquifiers 1..5.
    expect([0, 1, 2, 3, 4].map((d) => [w.dirPath(d), w.dirVnode(d), w.dirUnique(d), w.dirParent(d), w.subdirCount(d)])).toEqual([
      ['.', 1, 1, 0, 4], ['a', 3, 2, 0, 0], ['b', 5, 3, 0, 0], ['c', 7, 4, 0, 0], ['d', 9, 5, 0, 0],
    ]);
    expect(w.dirFsPath(4).toString()).toBe(`${root}/d`);
    // Files: z, b/1, b/2, d/1, d/l: vnodes 2, 4, 6, 8, 10, uniquifiers 6..10; which directory holds each; sizes (the link: its
    // target's 7 bytes in UTF-8).
    expect([0, 1, 2, 3, 4].map((f) => [w.fileVnode(f), w.fileUnique(f), w.fileDir(f), w.fileSize(f)])).toEqual([
      [2, 6, 0, 3], [4, 7, 2, 3], [6, 8, 2, 4], [8, 9, 4, 0], [10, 10, 4, 7],
    ]);
    expect(w.linkTarget(4).toString('latin1')).toBe(Buffer.from('../b/\u00e9').toString('latin1'));
    expect([0, 1, 2, 3, 4].map((f) => w.entryName(w.fileEntry(f)))).toEqual(['z', '1', '2', '1', 'l']);
    expect(treeDirEntries(w, 0).map((e) => [e.name, e.vnode, e.unique])).toEqual([
      ['.', 1, 1], ['..', 1, 1], ['a', 3, 2], ['b', 5, 3], ['c', 7, 4], ['d', 9, 5], ['z', 2, 6],
    ]);
    expect(treeDirEntries(w, 4).map((e) => [e.name, e.vnode, e.unique])).toEqual([['.', 9, 5], ['..', 1, 1], ['1', 8, 9], ['l', 10, 10]]);
  });

  it('directory pages are the same bytes whether kept from the count before the header or encoded again', async () => {
    const w = await walkTree(root);
    const kept = new TreePages(w, Infinity);
    const again = new TreePages(w, 0);
    expect(again.diskKB).toBe(kept.diskKB);
    for (let d = 0; d < w.dirCount; d++) {
      expect(again.get(d).equals(kept.get(d))).toBe(true);
      expect(again.length(d)).toBe(kept.get(d).length);
    }
    expect(decodeDirectory(again.get(2)).map((e) => [e.name, e.vnode, e.unique]).sort()).toEqual([['.', 5, 3], ['..', 1, 1], ['1', 4, 7], ['2', 6, 8]].sort());
  });
});

describe('ContentReader', () => {
  it('reads a file through one reused buffer, in pieces of its size, and pads a file that shrank since the walk with zeros', async () => {
    const root = join(t.dir, 'shrink');
    mkdirSync(root);
    const data = Buffer.alloc(2500);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    writeFileSync(join(root, 'f'), data);
    const w = await walkTree(root);
    const r = new ContentReader(1000);
    const pieces: Buffer[] = [];
    for (const it of r.items(w, 0, 1, Buffer.from(join(root, 'f')))) pieces.push(Buffer.from(it.data)); // a copy: the buffer is reused
    expect(pieces.map((p) => p.length)).toEqual([1000, 1000, 500]);
    expect(Buffer.concat(pieces).equals(data)).toBe(true);

    truncateSync(join(root, 'f'), 1200);
    const dump = await collectItems(packTree(root, PACK_OPTS, w));
    const files = (await readAll(streamReader(dump))).filter((x) => x.rec.kind === 'vnode' && x.rec.type === 1);
    expect(files).toHaveLength(1);
    expect(files[0].rec).toMatchObject({ length: 2500 });
    expect(files[0].data!.equals(Buffer.concat([data.subarray(0, 1200), Buffer.alloc(1300)]))).toBe(true);
  });
});
