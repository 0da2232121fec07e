/**
 * Fuzzing: mutated and truncated dumps, read through the file reader, the
 * stream reader and the verifier. Only our own DumpError may escape, every
 * run ends, and lengths from the input never size an allocation unchecked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyFile } from '../../src/check/verify.js';
import { DumpError } from '../../src/format/errors.js';
import { openDump } from '../../src/format/open.js';
import { PositionalReader } from '../../src/format/positional.js';
import { readAll, sample, streamReader, tempDir } from '../helpers.js';

const base = readFileSync(sample('merge-incremental.dump'));
const t = tempDir();
afterAll(() => t.cleanup());

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'set'; at: number; value: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; bytes: number[] } | { kind: 'delete'; at: number; n: number } | { kind: 'u32'; at: number; value: number };

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(base.length - 1), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(base.length - 1), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(base.length) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(base.length), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 9 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(base.length - 1), n: fc.integer({ min: 1, max: 20 }) }),
  // Lengths and counts: overwrite 4 bytes with a hostile 32-bit value.
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(base.length - 4), value: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 2048, 129) }),
);

function apply(buf: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of ms) {
    const at = Math.min(m.at, b.length);
    if (m.kind === 'flip' && at < b.length) b[at] ^= 1 << m.bit;
    else if (m.kind === 'set' && at < b.length) b[at] = m.value;
    else if (m.kind === 'u32' && at + 4 <= b.length) b.writeUInt32BE(m.value, at);
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
  }
  return b;
}

async function onlyDumpErrors(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof DumpError)) throw e;
  }
}

describe('fuzz', () => {
  it('mutated dumps: only DumpError escapes the readers; verify always returns a verdict', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (ms) => {
        const bytes = apply(base, ms);
        const p = join(t.dir, `f${n++ % 4}.dump`);
        writeFileSync(p, bytes);
        await onlyDumpErrors(async () => readAll(await openDump(p)));
        await onlyDumpErrors(async () => readAll(streamReader(bytes, 977)));
        await onlyDumpErrors(async () => {
          const pr = await PositionalReader.open(p);
          try {
            for (let at = 0; at < Math.min(bytes.length, 400); at += 13) await onlyDumpErrors(() => pr.recordAt(at));
          } finally {
            await pr.close();
          }
        });
        const r = await verifyFile(p);
        expect(['ok', 'truncated', 'trailing-data', 'corrupt', 'not-a-dump']).toContain(r.verdict);
        const errors = r.problems.filter((x) => x.severity === 'error');
        if (r.verdict === 'ok') expect(errors).toEqual([]);
        else expect(errors.length).toBeGreaterThan(0);
        if (bytes.length < base.length - 5 && bytes.equals(base.subarray(0, bytes.length))) expect(r.verdict).not.toBe('ok');
        // The reader still works after whatever happened.
        expect((await verifyFile(sample('merge-incremental.dump'))).verdict).toBe('ok');
      }),
      { numRuns: 300, seed: 20261126 },
    );
  }, 120_000);

  it('hostile lengths are refused before anything is allocated', async () => {
    // A string field declaring 4 GiB - 1 bytes: the header's 'n' length is at byte 20.
    const b = Buffer.from(base);
    b.writeUInt32BE(0xffffffff, 20);
    await expect(readAll(streamReader(b))).rejects.toMatchObject({ code: 'BAD_LENGTH', offset: 19 });
    // A FILEDATA count of 4 GiB - 1 in a small file: truncated, nothing allocated.
    const rec = (await readAll(streamReader(base))).find((r) => r.rec.kind === 'vnode' && r.rec.data.kind === 'filedata')!.rec;
    if (rec.kind !== 'vnode' || rec.data.kind !== 'filedata') throw new Error('fixture');
    const c = Buffer.from(base);
    c.writeUInt32BE(0xffffffff, rec.data.offset + 1);
    const p = join(t.dir, 'huge-count.dump');
    writeFileSync(p, c);
    const r = await openDump(p);
    await expect(readAll(r)).rejects.toMatchObject({ code: 'TRUNCATED', offset: c.length });
    const v = await verifyFile(p);
    expect(v.problems.map((x) => [x.code, x.offset])).toEqual([
      ['SIZE_MISMATCH', rec.data.offset],
      ['TRUNCATED', c.length],
    ]);
  });
});
