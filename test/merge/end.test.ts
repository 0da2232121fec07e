/**
 * merge's scan at the end of an input (src/merge/scan.ts): the fast path
 * visits the end marker and the bytes after it itself, as the reader does
 * (an end record, then a trailing record of the rest); an end marker cut
 * short is the reader's to report. Offsets follow from the sample's size:
 * its last 5 bytes are the end marker (tag 8, then the magic).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDump } from '../../src/format/open.js';
import type { DumpRecord } from '../../src/format/types.js';
import { scanDump } from '../../src/merge/scan.js';
import { run, sample, tempDir } from '../helpers.js';

const FULL = sample('merge-full.dump');
const INC = sample('merge-incremental.dump');
const MERGED = sample('codamergedump-merged.dump');

/** What scanDump visits, as [kind, offset, size] (vnodes: their offset only). */
async function scanned(path: string): Promise<unknown[]> {
  const seen: unknown[] = [];
  await scanDump(path, path, false, {
    vnode: (r) => seen.push(['vnode', r.offset]),
    record: (r) => seen.push([r.kind, r.offset, r.size]),
  }, () => {});
  return seen;
}

/** What the reader yields, in the same shape. */
async function read(path: string): Promise<unknown[]> {
  const seen: unknown[] = [];
  const reader = await openDump(path);
  try {
    for (let r: DumpRecord | null; (r = await reader.next()); ) seen.push(r.kind === 'vnode' ? ['vnode', r.offset] : [r.kind, r.offset, r.size]);
  } finally {
    await reader.close();
  }
  return seen;
}

describe('merge scan: the end marker and what follows it', () => {
  it('visits the end marker, and trailing bytes as one record, as the reader yields them', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const full = readFileSync(FULL);
      writeFileSync(`${dir}/t.dump`, Buffer.concat([full, Buffer.from('abc')]));
      const a = await scanned(`${dir}/t.dump`);
      expect(a.slice(-2)).toEqual([['end', full.length - 5, 5], ['trailing', full.length, 3]]);
      expect(a).toEqual(await read(`${dir}/t.dump`));
      const b = await scanned(FULL);
      expect(b.at(-1)).toEqual(['end', full.length - 5, 5]);
      expect(b).toEqual(await read(FULL));
    } finally {
      cleanup();
    }
  });

  it('trailing bytes: refused after a full dump, a warning after an incremental (CLI)', () => {
    const { dir, cleanup } = tempDir();
    try {
      const full = readFileSync(FULL);
      const inc = readFileSync(INC);
      writeFileSync(`${dir}/f.dump`, Buffer.concat([full, Buffer.from('abc')]));
      writeFileSync(`${dir}/i.dump`, Buffer.concat([inc, Buffer.from('trailer')]));
      let r = run(['merge', `${dir}/f.dump`, INC, '-o', `${dir}/o1.dump`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`codadump: error: ${dir}/f.dump: at byte ${full.length}: 3 bytes after the end marker (Coda's merge refuses a full dump with an improper postamble)\n`);
      expect(existsSync(`${dir}/o1.dump`)).toBe(false);
      r = run(['merge', FULL, `${dir}/i.dump`, '-o', `${dir}/o2.dump`]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`codadump: warning: ${dir}/i.dump: at byte ${inc.length}: 7 bytes after the end marker (ignored, as Coda does)\n`);
      expect(readFileSync(`${dir}/o2.dump`).equals(readFileSync(MERGED))).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('an end marker cut short: the reader reports it, for a full dump and an incremental alike', () => {
    const { dir, cleanup } = tempDir();
    try {
      const full = readFileSync(FULL);
      const inc = readFileSync(INC);
      writeFileSync(`${dir}/f.dump`, full.subarray(0, full.length - 2));
      writeFileSync(`${dir}/i.dump`, inc.subarray(0, inc.length - 2));
      let r = run(['merge', `${dir}/f.dump`, INC, '-o', `${dir}/o1.dump`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`codadump: error: ${dir}/f.dump: at byte ${full.length - 2}: input ends at byte ${full.length - 2} inside a DUMPEND (8) record that starts at byte ${full.length - 5}\n`);
      r = run(['merge', FULL, `${dir}/i.dump`, '-o', `${dir}/o2.dump`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`codadump: error: ${dir}/i.dump: at byte ${inc.length - 2}: input ends at byte ${inc.length - 2} inside a DUMPEND (8) record that starts at byte ${inc.length - 5}\n`);
      expect(existsSync(`${dir}/o1.dump`) || existsSync(`${dir}/o2.dump`)).toBe(false);
    } finally {
      cleanup();
    }
  });
});
