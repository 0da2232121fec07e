/**
 * The damage codes of diagnose's walk (src/diagnose/walk.ts) from real
 * inputs, with offsets computed from FORMAT.md and WRAPAROUND.md:
 *
 * - NOT_SOUND: a record that decodes but cannot be trusted (a vnode of an
 *   unknown type);
 * - FALSE_END, CUT, CORRUPT: a receiver output of model A1 (WRAPAROUND.md:
 *   the file is stream [0, s) then the stream's tail [F, L) written over
 *   [s, e), with s = F - W, e = L - W) whose head holds an end marker where
 *   the stream cannot end, and whose seam cuts a file's data.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hexBytes, run, sample, tempDir } from '../helpers.js';

const t = tempDir('codadump-walkcodes-');
afterAll(() => t.cleanup());

describe('NOT_SOUND', () => {
  it('the root directory record of server-empty-full.dump with type 7: NOT_SOUND at the record (333), error, exit 1', () => {
    const buf = Buffer.from(readFileSync(sample('server-empty-full.dump')));
    // FORMAT.md 3.5: VNODE (5), number 1, uniquifier 1, then 't' and the type byte (2: directory).
    expect(buf.subarray(333, 344)).toEqual(hexBytes('05 00000001 00000001 74 02'));
    buf[343] = 7;
    const f = join(t.dir, 'type7.dump');
    writeFileSync(f, buf);
    const r = run(['diagnose', '--json', f]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe('corrupt');
    // The record runs to the SMALLINDEX at 2532, the next sound record.
    expect(j.damage).toEqual([
      { code: 'NOT_SOUND', severity: 'error', offset: 333, message: 'vnode 1.1 is not usable (type 7, data dirpages)', fileRanges: [{ start: 333, end: 2532 }] },
    ]);
    expect(j.problems.find((p: { code: string }) => p.code === 'NOT_SOUND')).toMatchObject({ severity: 'error', offset: 333 });
    const text = run(['diagnose', f]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('NOT_SOUND at 333 file [333, 2532): vnode 1.1 is not usable (type 7, data dirpages)\n');
  });
});

describe('FALSE_END, CUT and CORRUPT in a model A1 receiver output', () => {
  it('each at its byte, severity error, verdict wraparound, exit 1', () => {
    const A = readFileSync(sample('server-empty-full.dump')); // 2548 bytes, its end marker at 2543
    const B = readFileSync(sample('merge-full.dump')); // 329564 bytes
    // merge-full.dump: vnode 28.18 at 95737, its FILEDATA count at 95846, 70000 bytes of data from 95851.
    expect(B.subarray(95737, 95746)).toEqual(hexBytes('05 0000001c 00000012'));
    expect(B.subarray(95846, 95851)).toEqual(hexBytes('0c 00011170'));
    expect(A.subarray(2543)).toEqual(hexBytes('08 3a214b6e'));
    // The stream was A then B (L = e + W); the receiver wrapped at W = 2^19 and wrote
    // the tail over [s, e), s placed 1000 bytes into vnode 28's data.
    const W = 2 ** 19;
    const e = A.length + B.length; // 332112: where B's end marker ends, the declared size mod W
    const s = A.length + 95851 + 1000; // 99399
    const F = W + s; // 623687
    const L = e + W; // 856400
    // File: [0, s) head, [s, e) = stream [F, L) = bytes that stood at [s, e) (the rest of B), [e, F) = stream [e, F): here zeros.
    const f = join(t.dir, 'a1.dump');
    writeFileSync(f, Buffer.concat([A, B, Buffer.alloc(F - e)]));
    const r = run(['diagnose', '--json', '--wrap-bits', '19', '--declared', String(e), f]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe('wraparound');
    expect(j.wraparound).toMatchObject({ model: 'A1', seamStart: s, seamEnd: e, streamLength: L, seamEndFrom: 'declared' });
    const byCode = (c: string) => j.damage.filter((d: { code: string }) => d.code === c);
    // A's end marker, where the stream must not end: the damage runs to the next sound boundary, B's LARGEINDEX (B + 304).
    expect(byCode('FALSE_END')).toEqual([{
      code: 'FALSE_END', severity: 'error', offset: 2543, message: `an end marker at 2543, not where the stream must end (${L - 5})`,
      fileRanges: [{ start: 2543, end: A.length + 304 }],
    }]);
    // Vnode 28's data runs into the overwritten bytes: 1000 of 70000 survive.
    expect(byCode('CUT')).toEqual([{
      code: 'CUT', severity: 'error', offset: A.length + 95737, message: 'vnode 28.18: 1000 of 70000 bytes of file data survive',
      fileRanges: [{ start: A.length + 95737, end: s }],
    }]);
    // From e on: bytes no record accounts for, up to the record after vnode 28 (stream F + 69000: file s + 69000).
    expect(byCode('CORRUPT')).toEqual([{
      code: 'CORRUPT', severity: 'error', offset: e, message: 'the surviving rest of a record whose start was lost, up to the next sound record',
      fileRanges: [{ start: e, end: F }, { start: s, end: A.length + 95851 + 70000 }],
    }]);
  });
});
