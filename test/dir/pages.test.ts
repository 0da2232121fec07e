import { describe, it, expect } from 'vitest';
import {
  creationOrder,
  decodeDirectory,
  dirLength,
  encodeDirectory,
  nameBlobs,
  validateDirectory,
  type DirEntry,
} from '../../src/dir/pages.js';
import { dirHash } from '../../src/dir/hash.js';
import { DumpError } from '../../src/format/errors.js';
import { GOLDEN_ENTRIES, goldenPage } from './golden.js';
import { sampleDirectories } from './sample-dirs.js';

const strip = (es: DirEntry[]): DirEntry[] => es.map(({ name, vnode, unique }) => ({ name, vnode, unique }));

describe('nameBlobs', () => {
  it('follows 1 + ((len + 1 + 15) >> 5)', () => {
    expect(nameBlobs(1)).toBe(1);
    expect(nameBlobs(15)).toBe(1); // 12 + 15 + NUL = 28 bytes: one blob
    expect(nameBlobs(16)).toBe(2); // Coda gives 16..19-byte names a second blob although they fit in one
    expect(nameBlobs(47)).toBe(2);
    expect(nameBlobs(48)).toBe(3);
    expect(nameBlobs(255)).toBe(9);
  });
});

describe('golden page', () => {
  it('encodeDirectory writes the hand-made bytes', () => {
    const got = encodeDirectory(GOLDEN_ENTRIES);
    expect(got.length).toBe(2048);
    expect(got.toString('hex')).toBe(goldenPage().toString('hex'));
  });

  it('decodes in chain order and validates clean', () => {
    const page = goldenPage();
    // chain 46: blob 15 then blob 13; chain 68: blob 14
    expect(decodeDirectory(page)).toEqual([
      { name: 'golden-entry-name-47', vnode: 10, unique: 7, blob: 15 },
      { name: '.', vnode: 3, unique: 2, blob: 13 },
      { name: '..', vnode: 1, unique: 1, blob: 14 },
    ]);
    const v = validateDirectory(page, { self: { vnode: 3, unique: 2 }, parent: { vnode: 1, unique: 1 } });
    expect(v.problems).toEqual([]);
    expect(dirLength(page)).toBe(2048);
    expect(creationOrder(page)).toEqual(strip(GOLDEN_ENTRIES).map((e, i) => ({ ...e, blob: 13 + i })));
  });

  it('a fresh directory is byte-for-byte the root page a Coda server made (server-empty-full.dump)', () => {
    const [root] = sampleDirectories('server-empty-full.dump');
    expect(root.offset).toBe(0x1de); // DIRPAGES tag; the page itself starts at 0x1e4
    const fresh = encodeDirectory([
      { name: '.', vnode: 1, unique: 1 },
      { name: '..', vnode: 1, unique: 1 },
    ]);
    expect(fresh.equals(root.pages)).toBe(true);
    expect(fresh.subarray(0, 13).toString('hex')).toBe('000004d2' + '31' + 'ff7f000000000000');
  });
});

describe('encodeDirectory', () => {
  const dots = [
    { name: '.', vnode: 5, unique: 3 },
    { name: '..', vnode: 1, unique: 1 },
  ];

  it('adds a second page, and first-fit goes back to the first page for a small entry', () => {
    const A = 'page-one-entry-A-long'; // 21 bytes, 2 blobs
    const B = 'short-108'; // 9 bytes, 1 blob, same chain as A
    expect(dirHash(A)).toBe(2);
    expect(dirHash(B)).toBe(2);
    const fillers = Array.from({ length: 24 }, (_, i) => ({
      name: `filler-${String(i).padStart(2, '0')}-xxxxxxxx`, // 18 bytes, 2 blobs
      vnode: 100 + 2 * i,
      unique: 1000 + i,
    }));
    const all = [...dots, ...fillers, { name: A, vnode: 8, unique: 80 }, { name: B, vnode: 10, unique: 81 }, { name: 'c', vnode: 12, unique: 82 }];
    const pages = encodeDirectory(all);
    expect(pages.length).toBe(4096);
    // Page 0: . .. at 13, 14; fillers at 15, 17, ..., 61; blob 63 was left free, A (2 blobs) did not fit.
    const blobs = new Map(decodeDirectory(pages).map((e) => [e.name, e.blob]));
    expect(blobs.get('filler-23-xxxxxxxx')).toBe(61);
    expect(blobs.get(A)).toBe(65); // page 1, blob 1
    expect(blobs.get(B)).toBe(63); // back in page 0: lowest page with room
    expect(blobs.get('c')).toBe(67); // page 0 is full now
    // Allocation map and page headers.
    expect(pages[32]).toBe(0); // page 0: no free blob
    expect(pages[33]).toBe(64 - 1 - 3); // page 1: header + A (2) + c (1)
    expect(pages[34]).toBe(64);
    expect(pages.readUInt32BE(2048)).toBe(1234);
    expect(pages[2048 + 4]).toBe(60);
    expect(pages.subarray(2048 + 5, 2048 + 13).toString('hex')).toBe('0f00000000000000');
    expect(pages.subarray(5, 13).toString('hex')).toBe('ffffffffffffffff');
    // Chain 2: B (newest) -> A.
    expect(pages.readUInt16BE(160 + 2 * 2)).toBe(63);
    expect(pages.readUInt16BE(63 * 32 + 2)).toBe(65);
    expect(dirLength(pages)).toBe(4096);

    const v = validateDirectory(pages, { self: { vnode: 5, unique: 3 }, parent: { vnode: 1, unique: 1 } });
    expect(v.problems).toEqual([]);
    expect(v.entries.length).toBe(all.length);
    expect(new Set(v.entries.map((e) => e.name))).toEqual(new Set(all.map((e) => e.name)));

    // Blob order page by page puts B before A, which reverses chain 2: not the same bytes.
    const byBlob = [...v.entries].sort((x, y) => (x.blob as number) - (y.blob as number));
    const naive = encodeDirectory(byBlob);
    expect(naive.equals(pages)).toBe(false);
    expect(naive.readUInt16BE(160 + 2 * 2)).toBe(65);
    // creationOrder interleaves the pages by replaying the allocation and the chains.
    const order = creationOrder(pages);
    expect(order && strip(order)).toEqual(all);
    expect(encodeDirectory(order as DirEntry[]).equals(pages)).toBe(true);
  });

  it('holds 255-byte names with any bytes but NUL', () => {
    let bytes = '';
    for (let c = 1; c <= 255; c++) bytes += String.fromCharCode(c); // 0x01..0xff, 255 bytes
    const long = [
      ...dots,
      { name: bytes, vnode: 2, unique: 9 },
      { name: 'z'.repeat(255), vnode: 4, unique: 10 },
    ];
    const pages = encodeDirectory(long);
    expect(pages.length).toBe(2048);
    const v = validateDirectory(pages);
    expect(v.problems).toEqual([]);
    const got = new Map(v.entries.map((e) => [e.name, e]));
    expect(got.get(bytes)).toEqual({ name: bytes, vnode: 2, unique: 9, blob: 15 });
    expect(got.get('z'.repeat(255))?.blob).toBe(24); // 15 + 9 blobs
    expect(pages.toString('latin1', 15 * 32 + 12, 15 * 32 + 12 + 255)).toBe(bytes);
    expect(pages[15 * 32 + 12 + 255]).toBe(0);
    expect(pages[32]).toBe(64 - 15 - 18);
  });

  it('fills all 128 pages, then refuses what no longer fits', () => {
    // 255-byte names take 9 blobs: 5 fit in page 0 after . and .. (49 free -> 4 left), 7 in every other page (63).
    const names = Array.from({ length: 5 + 127 * 7 }, (_, i) => ({
      name: String(i).padStart(5, '0') + 'y'.repeat(250),
      vnode: 2 * i + 2,
      unique: i + 100,
    }));
    const full = [...dots, ...names];
    const pages = encodeDirectory(full);
    expect(pages.length).toBe(128 * 2048);
    expect(pages[32]).toBe(4);
    for (let p = 1; p < 128; p++) expect(pages[32 + p]).toBe(0);
    expect(validateDirectory(pages).problems).toEqual([]);
    expect(decodeDirectory(pages).length).toBe(full.length);
    expect(() => encodeDirectory([...full, { name: 'w'.repeat(255), vnode: 3, unique: 3 }])).toThrowError(/directory is full/);
    // A one-blob name still fits in page 0's last 4 blobs.
    const more = encodeDirectory([...full, { name: 'w', vnode: 3, unique: 3 }]);
    expect(more[32]).toBe(3);
    expect(new Map(decodeDirectory(more).map((e) => [e.name, e.blob])).get('w')).toBe(60);
  });

  it('refuses names Coda refuses, with a DumpError', () => {
    const bad: [DirEntry, RegExp][] = [
      [{ name: '', vnode: 1, unique: 1 }, /empty name/],
      [{ name: 'x'.repeat(256), vnode: 1, unique: 1 }, /256 bytes/],
      [{ name: 'a\0b', vnode: 1, unique: 1 }, /NUL/],
      [{ name: 'caf\u00e9\u0100', vnode: 1, unique: 1 }, /latin1/],
      [{ name: 'ok', vnode: -1, unique: 1 }, /vnode/],
      [{ name: 'ok', vnode: 1, unique: 2 ** 32 }, /uniquifier/],
      [{ name: '.', vnode: 1, unique: 1 }, /already in the directory/],
    ];
    for (const [e, msg] of bad) {
      let err: unknown;
      try {
        encodeDirectory([...dots, e]);
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(DumpError);
      expect((err as DumpError).code).toBe('BAD_VALUE');
      expect((err as DumpError).message).toMatch(msg);
    }
  });
});

describe('decodeDirectory', () => {
  it('throws a DumpError when the buffer is not whole pages', () => {
    for (const len of [0, 100, 2049, 129 * 2048]) {
      expect(() => decodeDirectory(Buffer.alloc(len))).toThrowError(DumpError);
    }
  });

  it('never loops on cyclic chains', () => {
    const page = goldenPage();
    page.writeUInt16BE(15, 13 * 32 + 2); // "." -> golden entry -> "." -> ...
    expect(decodeDirectory(page).map((e) => e.name)).toEqual(['golden-entry-name-47', '.', '..']);
  });
});
