import { describe, expect, it } from 'vitest';
import { SPARSE_BLOCK, isZeroRange, sparseRuns, zeroBlock } from '../../src/io/sparse.js';

function runs(buf: Buffer, start = 0, end = buf.length, zero = zeroBlock()): string[] {
  const out: string[] = [];
  sparseRuns(buf, start, end, zero, (s, e) => out.push(`data ${s}-${e}`), (s, e) => out.push(`zero ${s}-${e}`));
  return out;
}

describe('sparseRuns: the one zero-skip', () => {
  const B = SPARSE_BLOCK;

  it('merges data blocks into runs, reports each zero block, keeps order; a short last block counts', () => {
    const b = Buffer.alloc(5 * B + 100);
    b[0] = 1; // block 0: data
    b[B + 7] = 2; // block 1: data (joins block 0)
    // block 2, 3: zeros
    b[4 * B + B - 1] = 3; // block 4: data, its last byte
    b[5 * B + 99] = 4; // block 5 (100 bytes): data
    expect(runs(b)).toEqual([`data 0-${2 * B}`, `zero ${2 * B}-${3 * B}`, `zero ${3 * B}-${4 * B}`, `data ${4 * B}-${5 * B + 100}`]);
  });

  it('blocks count from start (a ring slot inside a larger buffer), and end at end', () => {
    const b = Buffer.alloc(3 * B);
    b[10 + B] = 9; // second block of the range starting at 10
    expect(runs(b, 10, 10 + 2 * B + 5)).toEqual([`zero 10-${10 + B}`, `data ${10 + B}-${10 + 2 * B}`, `zero ${10 + 2 * B}-${10 + 2 * B + 5}`]);
    expect(runs(b, 7, 7)).toEqual([]);
  });

  it('a smaller zero block sets the granularity; the source text is self-contained (the ring worker runs it)', () => {
    const b = Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(runs(b, 0, b.length, Buffer.alloc(4))).toEqual(['zero 0-4', 'data 4-8', 'zero 8-10']);
    const copy = new Function(`return ${sparseRuns.toString()}`)() as typeof sparseRuns;
    const out: string[] = [];
    copy(b, 0, b.length, Buffer.alloc(4), (s, e) => out.push(`data ${s}-${e}`), (s, e) => out.push(`zero ${s}-${e}`));
    expect(out).toEqual(['zero 0-4', 'data 4-8', 'zero 8-10']);
  });

  it('isZeroRange', () => {
    const b = Buffer.alloc(2 * B + 3);
    expect(isZeroRange(b)).toBe(true);
    b[B + 1] = 1;
    expect(isZeroRange(b)).toBe(false);
    expect(isZeroRange(b, 0, B + 1)).toBe(true);
    expect(isZeroRange(b, B + 2)).toBe(true);
  });
});
