import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { dirHash, dirHashBytes } from '../../src/dir/hash.js';

/** Independent reference: BigInt arithmetic, wrapped to signed 32 bits after every step. */
function referenceHash(name: string): number {
  let h = 0n;
  for (const byte of Buffer.from(name, 'latin1')) {
    const c = BigInt(byte >= 128 ? byte - 256 : byte);
    h = BigInt.asIntN(32, h * 173n + c);
  }
  const t = Number(BigInt.asUintN(32, h) & 127n);
  return t !== 0 && h < 0n ? 128 - t : t;
}

describe('dirHash', () => {
  it('hashes one ASCII byte to itself', () => {
    // "a": h = 0*173 + 97 = 97; t = 97 & 127 = 97; h >= 0 -> 97
    expect(dirHash('a')).toBe(97);
    // ".": h = 46 -> 46 (the chain of every directory's "." entry)
    expect(dirHash('.')).toBe(46);
  });

  it('hashes two bytes', () => {
    // "ab": h = 97*173 + 98 = 16781 + 98 = 16879; 16879 = 131*128 + 111 -> 111
    expect(dirHash('ab')).toBe(111);
    // "..": h = 46*173 + 46 = 7958 + 46 = 8004; 8004 = 62*128 + 68 -> 68
    expect(dirHash('..')).toBe(68);
  });

  it('takes bytes >= 0x80 as negative signed chars', () => {
    // "\xe9": c = 233 - 256 = -23; h = -23 < 0.
    //   t = -23 & 127: -23 = ...1110 1001 in two's complement, low 7 bits 110 1001 = 105
    //   t != 0 and h < 0 -> t = 128 - 105 = 23
    expect(dirHash('\xe9')).toBe(23);
    // "\xff\xff": c = -1, -1. h = -1, then -1*173 + -1 = -174.
    //   -174 = -2*128 + 82, so t = 82; h < 0 -> 128 - 82 = 46
    expect(dirHash('\xff\xff')).toBe(46);
    // "\x80": c = -128; h = -128; t = -128 & 127 = 0 -> stays 0 (no 128 - t when t == 0)
    expect(dirHash('\x80')).toBe(0);
  });

  it('wraps h through 32-bit overflow into a negative value', () => {
    // "zzzzz", z = 122:
    //   h1 = 122
    //   h2 = 122*173 + 122        = 21228
    //   h3 = 21228*173 + 122      = 3672566
    //   h4 = 3672566*173 + 122    = 635354040
    //   h5 = 635354040*173 + 122  = 109916249042 -> mod 2^32: 109916249042 - 25*4294967296
    //      = 2542066642 > 2^31 - 1, so as signed: 2542066642 - 4294967296 = -1752900654
    //   -1752900654 = -13694537*128 + 82 -> t = 82; h < 0 -> 128 - 82 = 46
    expect(dirHash('zzzzz')).toBe(46);
    // "abcde" stays positive: h5 = 1498319695 = 11705622*128 + 79 -> 79
    expect(dirHash('abcde')).toBe(79);
  });

  it('the golden name used in pages.test.ts lands on chain 46', () => {
    // h ends positive at 1382429102 = 10800227*128 + 46
    expect(referenceHash('golden-entry-name-47')).toBe(46);
    expect(dirHash('golden-entry-name-47')).toBe(46);
  });

  it('the empty name hashes to 0', () => {
    expect(dirHash('')).toBe(0);
  });

  it('agrees with a BigInt reference on arbitrary byte strings, and stays in 0..127', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        const name = Buffer.from(bytes).toString('latin1');
        const h = dirHash(name);
        expect(h).toBe(referenceHash(name));
        expect(h >= 0 && h < 128).toBe(true);
        // The byte form, on the name inside a larger buffer.
        const buf = Buffer.concat([Buffer.from([0xff, 7]), Buffer.from(bytes), Buffer.from([0x80])]);
        expect(dirHashBytes(buf, 2, 2 + bytes.length)).toBe(h);
      }),
      { numRuns: 2000 },
    );
  });
});
