import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decodeDirectory, encodeDirectory, scanDirectory, validateDirectory, type DirProblem } from '../../src/dir/pages.js';
import { dirHash } from '../../src/dir/hash.js';
import { goldenPage, GOLDEN_ENTRIES } from './golden.js';
import { sampleDirectories } from './sample-dirs.js';

/**
 * Every problem code, from a hand-damaged copy of the golden page
 * (test/dir/golden.ts): blobs 13 ".", 14 "..", 15-16 "golden-entry-name-47"
 * (chain 46: 15 -> 13; chain 68: 14), free count 47 at byte 4 and 32,
 * bitmap ff ff 01 at bytes 5..7, hash slot i at 160 + 2*i.
 */
const SLOT = (chain: number): number => 160 + 2 * chain;
const found = (pages: Buffer, opts = {}): [string, number][] =>
  validateDirectory(pages, opts).problems.map((p: DirProblem) => [p.code, p.offset]);
const damage = (fn: (p: Buffer) => void): Buffer => {
  const p = goldenPage();
  fn(p);
  return p;
};
/** Mark blob b in use in page 0's bitmap and take it off both free counts, as Coda's allocator would. */
const allocate = (p: Buffer, b: number): void => {
  p[5 + (b >> 3)] |= 1 << (b & 7);
  p[4]--;
  p[32]--;
};
/** Write an entry by hand at blob b of page 0 and push it on its chain. */
const addEntry = (p: Buffer, b: number, name: string, chain = dirHash(name)): void => {
  p[b * 32] = 1;
  p.writeUInt16BE(p.readUInt16BE(SLOT(chain)), b * 32 + 2);
  p.writeUInt32BE(200 + b, b * 32 + 4);
  p.writeUInt32BE(300 + b, b * 32 + 8);
  p.write(name + '\0', b * 32 + 12, 'latin1');
  p.writeUInt16BE(b, SLOT(chain));
};

describe('validateDirectory problem codes', () => {
  it('DIR_PAGE_COUNT: no page, a partial page, more than 128 pages', () => {
    expect(found(Buffer.alloc(0))).toEqual([['DIR_PAGE_COUNT', 0]]);
    expect(found(Buffer.alloc(2047))).toEqual([['DIR_PAGE_COUNT', 0]]);
    expect(found(Buffer.concat([goldenPage(), Buffer.alloc(100)]))).toEqual([['DIR_PAGE_COUNT', 2048]]);
    // 128 valid pages plus one more: only the extra page is reported (it is not checked).
    const names = Array.from({ length: 5 + 127 * 7 }, (_, i) => ({ name: String(i).padStart(5, '0') + 'y'.repeat(250), vnode: 2, unique: i }));
    const full = encodeDirectory([...GOLDEN_ENTRIES.slice(0, 2), ...names]);
    expect(found(Buffer.concat([full, goldenPage()]))).toEqual([['DIR_PAGE_COUNT', 128 * 2048]]);
  });

  it('DIR_PAGE_TAG at the page start', () => {
    expect(found(damage((p) => (p[3] = 0xd3)))).toEqual([['DIR_PAGE_TAG', 0]]);
    const two = encodeDirectory([...GOLDEN_ENTRIES, ...Array.from({ length: 30 }, (_, i) => ({ name: `n${i}`.padEnd(20, '-'), vnode: 2, unique: i }))]);
    expect(two.length).toBe(4096);
    two.writeUInt32BE(0, 2048);
    expect(found(two)).toEqual([['DIR_PAGE_TAG', 2048]]);
  });

  it('DIR_ALLOC_MAP: wrong count, absent page marked present, present page marked absent', () => {
    expect(found(damage((p) => (p[32] = 0x30)))).toEqual([['DIR_ALLOC_MAP', 32]]);
    expect(found(damage((p) => (p[32 + 5] = 0x3f)))).toEqual([['DIR_ALLOC_MAP', 37]]);
    const two = encodeDirectory([...GOLDEN_ENTRIES, ...Array.from({ length: 30 }, (_, i) => ({ name: `n${i}`.padEnd(20, '-'), vnode: 2, unique: i }))]);
    two[33] = 64;
    expect(found(two)).toEqual([['DIR_ALLOC_MAP', 33]]);
  });

  it('DIR_FREE_COUNT: the header count disagrees with its bitmap', () => {
    // Both counts wrong together (allocation map still equals the header): only the free count is reported.
    expect(found(damage((p) => (p[4] = p[32] = 0x30)))).toEqual([['DIR_FREE_COUNT', 4]]);
    // Only the header byte wrong: the allocation map now disagrees with it too.
    expect(found(damage((p) => (p[4] = 0x30)))).toEqual([
      ['DIR_FREE_COUNT', 4],
      ['DIR_ALLOC_MAP', 32],
    ]);
  });

  it('DIR_BITMAP: a leaked blob and a used blob marked free, at the bitmap byte', () => {
    expect(found(damage((p) => allocate(p, 17)))).toEqual([['DIR_BITMAP', 7]]);
    const freed = damage((p) => {
      p[7] = 0; // blob 16, the golden name's second blob
      p[4] = p[32] = 48;
    });
    expect(found(freed)).toEqual([['DIR_BITMAP', 7]]);
    expect(validateDirectory(freed).problems[0].message).toMatch(/blobs 16 used but marked free/);
  });

  it('DIR_CHAIN_RANGE at the pointer: beyond the last page, into a header', () => {
    // Slot 68 -> blob 64 (page 1 of a one-page directory). ".." is lost: its blob looks leaked, and "no ..".
    expect(found(damage((p) => p.writeUInt16BE(64, SLOT(68))))).toEqual([
      ['DIR_BITMAP', 6],
      ['DIR_CHAIN_RANGE', SLOT(68)],
      ['DIR_NO_DOTDOT', SLOT(68)],
    ]);
    // The golden entry's next -> blob 5 (inside the hash table): "." is lost.
    expect(found(damage((p) => p.writeUInt16BE(5, 15 * 32 + 2)))).toEqual([
      ['DIR_BITMAP', 6],
      ['DIR_NO_DOT', SLOT(46)],
      ['DIR_CHAIN_RANGE', 15 * 32 + 2],
    ]);
  });

  it('DIR_CHAIN_NOT_FIRST at the pointer', () => {
    // Slot 68 -> blob 16: the golden name's second blob (flag byte 0, its NUL).
    expect(found(damage((p) => p.writeUInt16BE(16, SLOT(68))))).toEqual([
      ['DIR_BITMAP', 6],
      ['DIR_CHAIN_NOT_FIRST', SLOT(68)],
      ['DIR_NO_DOTDOT', SLOT(68)],
    ]);
    // Or the flag of ".." itself damaged.
    expect(found(damage((p) => (p[14 * 32] = 2)))[1]).toEqual(['DIR_CHAIN_NOT_FIRST', SLOT(68)]);
  });

  it('DIR_CHAIN_CYCLE at the pointer: a loop, and two chains joining', () => {
    expect(found(damage((p) => p.writeUInt16BE(14, 14 * 32 + 2)))).toEqual([['DIR_CHAIN_CYCLE', 14 * 32 + 2]]);
    // ".." (chain 68) -> "." which chain 46 already reached
    const joined = damage((p) => p.writeUInt16BE(13, 14 * 32 + 2));
    expect(found(joined)).toEqual([['DIR_CHAIN_CYCLE', 14 * 32 + 2]]);
    expect(validateDirectory(joined).problems[0].message).toMatch(/chain 46 already reached/);
  });

  it('DIR_NAME_LENGTH at the name: over 255 bytes, off the page, blobs off the page', () => {
    // No NUL within 256 bytes of the golden entry's name.
    const long = damage((p) => p.fill(0x78, 15 * 32 + 12, 15 * 32 + 12 + 256));
    // Only the first blob is known to be the entry's, so blob 16 looks leaked.
    expect(found(long)).toEqual([
      ['DIR_BITMAP', 7],
      ['DIR_NAME_LENGTH', 15 * 32 + 12],
    ]);
    // An entry in the last blob whose name runs to the end of the page.
    const offPage = damage((p) => {
      addEntry(p, 63, '', 9);
      p.fill(0x41, 63 * 32 + 12, 2048);
      allocate(p, 63);
    });
    expect(found(offPage)).toEqual([['DIR_NAME_LENGTH', 63 * 32 + 12]]);
    // A 16-byte name fits in blob 63, but Coda counts 2 blobs for it: one past the page.
    const name16 = 'sixteen-bytes-16';
    const blobsOff = damage((p) => {
      addEntry(p, 63, name16);
      allocate(p, 63);
    });
    expect(found(blobsOff)).toEqual([['DIR_NAME_LENGTH', 63 * 32 + 12]]);
    expect(decodeDirectory(blobsOff).map((e) => e.name)).toContain(name16);
  });

  it('DIR_NAME_EMPTY at the name', () => {
    // The golden name cut to nothing: the entry now needs one blob, so blob 16 looks leaked.
    expect(found(damage((p) => (p[15 * 32 + 12] = 0)))).toEqual([
      ['DIR_BITMAP', 7],
      ['DIR_NAME_EMPTY', 15 * 32 + 12],
    ]);
  });

  it('DIR_NAME_DUPLICATE at the later name in chain order', () => {
    const dup = damage((p) => {
      addEntry(p, 17, 'twice');
      addEntry(p, 18, 'twice'); // head of the chain: walked first
      allocate(p, 17);
      allocate(p, 18);
    });
    expect(found(dup)).toEqual([['DIR_NAME_DUPLICATE', 17 * 32 + 12]]);
    expect(decodeDirectory(dup).filter((e) => e.name === 'twice').map((e) => e.blob)).toEqual([18, 17]);
  });

  it('DIR_BLOB_REUSED at the shared blob', () => {
    // "abcdefghijklmnop" (16 bytes) at 17 takes blobs 17 and 18; "q" is put at 18.
    const reused = damage((p) => {
      addEntry(p, 17, 'abcdefghijklmnop');
      addEntry(p, 18, 'q');
      allocate(p, 17);
      allocate(p, 18);
    });
    expect(dirHash('abcdefghijklmnop')).toBe(40); // walked before chain 113 ("q")
    expect(found(reused)).toEqual([['DIR_BLOB_REUSED', 18 * 32]]);
  });

  it('DIR_WRONG_CHAIN at the name', () => {
    // "Golden-entry-name-47" hashes to 14, but sits on chain 46.
    expect(dirHash('Golden-entry-name-47')).toBe(14);
    expect(found(damage((p) => (p[15 * 32 + 12] = 0x47)))).toEqual([['DIR_WRONG_CHAIN', 15 * 32 + 12]]);
  });

  it('DIR_NO_DOT and DIR_NO_DOTDOT at their hash slots', () => {
    expect(found(encodeDirectory(GOLDEN_ENTRIES.slice(1)))).toEqual([['DIR_NO_DOT', SLOT(46)]]);
    expect(found(encodeDirectory([GOLDEN_ENTRIES[0], GOLDEN_ENTRIES[2]]))).toEqual([['DIR_NO_DOTDOT', SLOT(68)]]);
  });

  it('DIR_DOT_FID and DIR_DOTDOT_FID at the vnode field', () => {
    const page = goldenPage();
    expect(found(page, { self: { vnode: 3, unique: 3 } })).toEqual([['DIR_DOT_FID', 13 * 32 + 4]]);
    expect(found(page, { parent: { vnode: 1, unique: 2 } })).toEqual([['DIR_DOTDOT_FID', 14 * 32 + 4]]);
    expect(found(page, { self: { vnode: 3, unique: 2 }, parent: { vnode: 1, unique: 1 } })).toEqual([]);
  });
});

describe('validateDirectory on arbitrary damage', () => {
  const real = sampleDirectories('server-sample-full.dump')[2].pages;

  it('never throws and terminates on random byte flips of a real directory', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(2047), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 40 }), (flips) => {
        const p = Buffer.from(real);
        for (const [at, v] of flips) p[at] = v;
        const v = validateDirectory(p);
        for (const pr of v.problems) expect(pr.offset >= 0 && pr.offset < p.length).toBe(true);
        expect(decodeDirectory(p).length).toBe(v.entries.length);
      }),
      { numRuns: 1500 },
    );
  });

  it('never throws on random pages, whatever their length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ minLength: 0, maxLength: 64 }), (n, seed) => {
        const p = Buffer.alloc(n * 2048);
        for (let i = 0; i < p.length; i++) p[i] = seed.length ? seed[(i * 7 + (i >> 5)) % seed.length] ^ (i & 0xff) : 0;
        const v = validateDirectory(p);
        expect(Array.isArray(v.problems)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('scanDirectory', () => {
  it('gives validateDirectory entries as blobs and name lengths, in the same order', () => {
    const entries = [{ name: '.', vnode: 1, unique: 1 }, { name: '..', vnode: 1, unique: 1 }, ...Array.from({ length: 300 }, (_, i) => ({ name: `n${i}${'\xe9'.repeat(i % 40)}`, vnode: 2 * i + 2, unique: i + 7 }))];
    const pages = encodeDirectory(entries);
    const scan = scanDirectory(pages, { self: { vnode: 1, unique: 1 } });
    const v = validateDirectory(pages, { self: { vnode: 1, unique: 1 } });
    expect(scan.problems).toEqual(v.problems);
    expect(scan.count).toBe(entries.length);
    expect(Array.from(scan.blobs)).toEqual(v.entries.map((e) => e.blob));
    expect(Array.from(scan.nameLengths)).toEqual(v.entries.map((e) => e.name.length));
  });

  it('one directory after another: nothing of the one before is left in its working arrays', () => {
    // A full 128-page directory with damage everywhere, then small ones: each must give what it gives alone.
    const big = encodeDirectory(Array.from({ length: 128 * 30 }, (_, i) => ({ name: `entry-${i}-${'y'.repeat(i % 30)}`, vnode: 2 * i + 2, unique: i + 1 })));
    const damaged = Buffer.from(big);
    for (let b = 200; b < damaged.length / 32; b += 97) damaged.writeUInt16BE((b * 7) % 8192, b * 32 + 2);
    const small = [goldenPage(), damage((p) => addEntry(p, 17, 'golden-entry-name-47', 46))];
    const alone = small.map((p) => validateDirectory(p, { self: { vnode: 1, unique: 1 } }));
    for (const d of [big, damaged]) {
      validateDirectory(d);
      small.forEach((p, i) => expect(validateDirectory(p, { self: { vnode: 1, unique: 1 } })).toEqual(alone[i]));
    }
    expect(alone[1].problems.map((p) => p.code)).toContain('DIR_NAME_DUPLICATE');
  });
});
