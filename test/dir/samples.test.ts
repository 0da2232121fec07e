import { describe, it, expect } from 'vitest';
import { creationOrder, decodeDirectory, dirLength, encodeDirectory, validateDirectory, type DirEntry } from '../../src/dir/pages.js';
import { sampleDirectories } from './sample-dirs.js';

/**
 * Real directory pages. A restore copies directory pages verbatim and the
 * server dumps them back unchanged, so these are the pages of the dumps the
 * volumes were restored from; the root of server-empty-full.dump was made by
 * the server itself (DIR_MakeDir). None of these directories ever had an
 * entry deleted (merge-incremental's "docs" lost report-3.txt, but its pages
 * were written afresh), so every byte is reproducible: re-encoding the
 * entries in creation order gives the same pages.
 *
 * When entries have been deleted that is in general impossible: Coda's
 * dir_FreeBlobs only clears bitmap bits, so a freed blob keeps the old
 * name's bytes, and a later entry reusing it overwrites only its own name
 * and NUL, leaving stale bytes in the unused tail; holes also break the
 * "blob order is creation order" rule (creationOrder then returns null).
 */
const FILES: [string, number][] = [
  ['server-empty-full.dump', 1],
  ['server-sample-full.dump', 4],
  ['codamergedump-empty-merged.dump', 1],
  ['codamergedump-merged.dump', 4],
  ['merge-full.dump', 4],
  ['merge-incremental.dump', 3],
];

const fidOf = (es: DirEntry[], name: string): string => {
  const e = es.find((x) => x.name === name);
  return e ? `${e.vnode}.${e.unique}` : 'none';
};

describe.each(FILES)('directories of %s', (file, count) => {
  const dirs = sampleDirectories(file);

  it(`finds ${count} directories`, () => {
    expect(dirs.length).toBe(count);
  });

  it('validate with no problems; "." and ".." agree with the tree', () => {
    const decoded = dirs.map((d) => decodeDirectory(d.pages));
    for (const [i, d] of dirs.entries()) {
      const es = decoded[i];
      const self = es.find((e) => e.name === '.') as DirEntry;
      const parent = es.find((e) => e.name === '..') as DirEntry;
      const v = validateDirectory(d.pages, { self, parent });
      expect(v.problems).toEqual([]);
      expect(dirLength(d.pages)).toBe(d.pages.length);
      // The parent (when it is in this dump) lists this directory under some name.
      const fid = `${self.vnode}.${self.unique}`;
      const pfid = `${parent.vnode}.${parent.unique}`;
      if (fid === pfid) continue; // the root: ".." is itself
      const p = decoded.find((x) => fidOf(x, '.') === pfid);
      if (p) expect(p.some((e) => e.name !== '.' && e.name !== '..' && `${e.vnode}.${e.unique}` === fid)).toBe(true);
    }
  });

  it('re-encode byte-identically from their creation order', () => {
    for (const d of dirs) {
      const order = creationOrder(d.pages);
      expect(order).not.toBeNull();
      expect(order?.[0].name).toBe('.');
      expect(order?.[1].name).toBe('..');
      // Single-page directories without deletions: creation order is just blob order.
      const byBlob = [...decodeDirectory(d.pages)].sort((a, b) => (a.blob as number) - (b.blob as number));
      expect(order).toEqual(byBlob);
      const again = encodeDirectory(order as DirEntry[]);
      expect(again.toString('hex')).toBe(d.pages.toString('hex'));
    }
  });
});

describe('server-sample-full.dump directories', () => {
  const dirs = sampleDirectories('server-sample-full.dump');

  it('hold multi-blob names, a shared chain, and zero for every unused byte', () => {
    const all = dirs.flatMap((d) => decodeDirectory(d.pages));
    // The sample README says "names up to 60 bytes"; the longest name in these pages has 50
    // ("file_0038_" + 38 x + ".c", 3 blobs), the longest directory name 46.
    expect(Math.max(...all.map((e) => e.name.length))).toBe(50);
    expect(all.filter((e) => e.name.length >= 48).map((e) => e.name.length)).toEqual([49, 50]);
    expect(all.map((e) => e.name)).toContain('a-rather-long-directory-name-for-blob-spanning');
    for (const d of dirs) {
      for (const e of decodeDirectory(d.pages)) {
        const off = (e.blob as number) * 32;
        expect(d.pages[off + 1]).toBe(0); // the "length" byte: never set by Coda
      }
      // page header padding (bytes 13..31) is zero
      expect(d.pages.subarray(13, 32).every((x) => x === 0)).toBe(true);
    }
    // Two entries on one chain in the third directory: blob 44 -> blob 20.
    expect(dirs[2].pages.readUInt16BE(44 * 32 + 2)).toBe(20);
  });
});
