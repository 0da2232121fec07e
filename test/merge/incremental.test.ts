/**
 * pack --incremental-from + merge, end to end from real trees: v1 -> full,
 * v2 -> incremental against it, merge -> the tree v2 (as extract sees it).
 * (Build first: these run the CLI from dist/.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractDump } from '../../src/extract/extract.js';
import { openDump } from '../../src/format/open.js';
import { summarizeDump } from '../../src/format/summary.js';
import { run, sample, tempDir } from '../helpers.js';
import { buildTree, incrementalBytes, packBytes, snapshot, sorted, type Spec } from '../extract/trees.js';

const CAFE = 'caf\xc3\xa9';
const RAW = 'raw-\xff.bin';

const V1: Spec[] = [
  { path: 'docs', dir: true, mtime: 1_450_000_001 },
  { path: 'old', dir: true, mtime: 1_450_000_002 },
  { path: 'old/sub', dir: true, mtime: 1_450_000_003 },
  { path: 'docs/a.txt', content: 'alpha', mtime: 1_400_000_001 },
  { path: 'docs/b.txt', content: 'bravo', mtime: 1_400_000_002 },
  { path: 'docs/keep.txt', content: Buffer.alloc(9000, 'k'), mtime: 1_400_000_003 },
  { path: 'old/x.txt', content: 'x-ray', mtime: 1_400_000_004 },
  { path: 'old/sub/y', content: 'yankee', mtime: 1_400_000_005 },
  { path: 'README', content: 'read me', mtime: 1_400_000_006 },
  { path: 'link', link: 'docs/a.txt', mtime: 1_400_000_007 },
  { path: CAFE, content: 'café', mtime: 1_400_000_008 },
  { path: RAW, content: 'raw', mtime: 1_400_000_009 },
];

// v2: a.txt changed (same size, other bytes), b.txt mode, README mtime, link retargeted;
// docs/new.txt, new/, new/n1, new/deep/n2 added; old/ (with old/sub) and RAW removed.
const V2: Spec[] = [
  { path: 'docs', dir: true, mtime: 1_450_000_001 },
  { path: 'new', dir: true, mode: 0o750, mtime: 1_450_000_010 },
  { path: 'new/deep', dir: true, mtime: 1_450_000_011 },
  { path: 'docs/a.txt', content: 'ALPHA', mtime: 1_400_000_001 },
  { path: 'docs/b.txt', content: 'bravo', mode: 0o600, mtime: 1_400_000_002 },
  { path: 'docs/keep.txt', content: Buffer.alloc(9000, 'k'), mtime: 1_400_000_003 },
  { path: 'docs/new.txt', content: 'new!', mtime: 1_400_000_010 },
  { path: 'new/n1', content: 'n1', mtime: 1_400_000_011 },
  { path: 'new/deep/n2', content: Buffer.alloc(70_000, 'n'), mtime: 1_400_000_012 },
  { path: 'README', content: 'read me', mtime: 1_400_000_099 },
  { path: 'link', link: 'docs/new.txt', mtime: 1_400_000_007 },
  { path: CAFE, content: 'café', mtime: 1_400_000_008 },
];

// v3: docs/ removed, café changed, a new top-level file.
const V3: Spec[] = [
  { path: 'new', dir: true, mode: 0o750, mtime: 1_450_000_010 },
  { path: 'new/deep', dir: true, mtime: 1_450_000_011 },
  { path: 'new/n1', content: 'n1', mtime: 1_400_000_011 },
  { path: 'new/deep/n2', content: Buffer.alloc(70_000, 'n'), mtime: 1_400_000_012 },
  { path: 'README', content: 'read me', mtime: 1_400_000_099 },
  { path: 'link', link: 'docs/new.txt', mtime: 1_400_000_007 },
  { path: CAFE, content: 'CAFÉ', mtime: 1_400_000_020 },
  { path: 'v3.txt', content: 'three', mtime: 1_400_000_030 },
];

async function extracted(dump: string, out: string) {
  const res = await extractDump(await openDump(dump), { directory: out });
  expect(res.problems).toEqual([]);
  return sorted(snapshot(out));
}

describe('pack --incremental-from, then merge', () => {
  it('v1 -> full, v2 -> incremental, merge: the tree v2, equal to a full dump of v2', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/v1`, V1, 1_450_000_000);
      buildTree(`${dir}/v2`, V2, 1_450_000_100);
      expect(run(['pack', `${dir}/v1`, '-o', `${dir}/full.dump`, '--name', 'trees.backup', '--backup-date', '1000']).code).toBe(0);
      const p = run(['pack', `${dir}/v2`, '--incremental-from', `${dir}/full.dump`, '-o', `${dir}/inc.dump`, '--backup-date', '2000']);
      expect(p.stderr).toBe('');
      expect(p.code).toBe(0);
      expect(p.stdout).toMatch(
        new RegExp(
          `^${dir}/inc\\.dump: \\d+ bytes, incremental \\(level 1\\) against ${dir}/full\\.dump, order 1000\\.\\.2000\\n` +
            '  directories: 2 changed, 2 added, 2 removed; files and links: 4 changed, 3 added, 3 removed; 2 unchanged\\n$',
        ),
      );

      // The incremental as a server writes one: header i = 1, 'v' = vnodes in the volume now, only changes as records.
      const inc = await summarizeDump(await openDump(`${dir}/inc.dump`));
      expect(inc.header).toMatchObject({ name: 'trees.backup', incremental: 1, oldest: 1000, latest: 2000, backupDate: 2000 });
      expect(inc.large).toMatchObject({ declared: 4, records: 4, removed: 2 });
      expect(inc.small).toMatchObject({ declared: 9, records: 7, removed: 3 });
      expect(inc.volume!.nextUniquifier).toBeGreaterThan(14);

      const m = run(['merge', `${dir}/full.dump`, `${dir}/inc.dump`, '-o', `${dir}/merged.dump`]);
      expect(m.stderr).toBe('');
      expect(m.code).toBe(0);
      const merged = await summarizeDump(await openDump(`${dir}/merged.dump`));
      expect(merged.header).toMatchObject({ incremental: 0, oldest: 1000, latest: 2000 });
      expect(merged.large).toMatchObject({ declared: 4, records: 4 });
      expect(merged.small).toMatchObject({ declared: 9, records: 9 });

      const want = sorted(snapshot(`${dir}/v2`));
      expect(await extracted(`${dir}/merged.dump`, `${dir}/out-merged`)).toEqual(want);
      writeFileSync(`${dir}/full2.dump`, await packBytes(`${dir}/v2`, { name: 'trees.backup', backupDate: 2000 }));
      expect(await extracted(`${dir}/full2.dump`, `${dir}/out-full2`)).toEqual(want);
    } finally {
      cleanup();
    }
  });

  it('two incrementals in sequence (the second against the merged first)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/v1`, V1, 1_450_000_000);
      buildTree(`${dir}/v2`, V2, 1_450_000_100);
      buildTree(`${dir}/v3`, V3, 1_450_000_200);
      writeFileSync(`${dir}/full.dump`, await packBytes(`${dir}/v1`, { backupDate: 1000 }));
      writeFileSync(`${dir}/i1.dump`, await incrementalBytes(`${dir}/v2`, `${dir}/full.dump`, { backupDate: 2000 }));
      expect(run(['merge', `${dir}/full.dump`, `${dir}/i1.dump`, '-o', `${dir}/m1.dump`]).code).toBe(0);
      writeFileSync(`${dir}/i2.dump`, await incrementalBytes(`${dir}/v3`, `${dir}/m1.dump`, { backupDate: 3000 }));

      const m = run(['merge', `${dir}/full.dump`, `${dir}/i1.dump`, `${dir}/i2.dump`, '-o', `${dir}/m12.dump`, '--json']);
      expect(m.stderr).toBe('');
      expect(m.code).toBe(0);
      const j = JSON.parse(m.stdout);
      expect(j.header).toMatchObject({ oldest: 1000, latest: 3000 });
      expect(j.warnings).toEqual([]);
      expect(j.incrementals.map((s: { oldest: number; latest: number }) => [s.oldest, s.latest])).toEqual([[1000, 2000], [2000, 3000]]);
      expect(await extracted(`${dir}/m12.dump`, `${dir}/out`)).toEqual(sorted(snapshot(`${dir}/v3`)));

      // Pairwise through the intermediate dump: the same bytes.
      expect(run(['merge', `${dir}/m1.dump`, `${dir}/i2.dump`, '-o', `${dir}/m2.dump`]).code).toBe(0);
      expect(readFileSync(`${dir}/m2.dump`).equals(readFileSync(`${dir}/m12.dump`))).toBe(true);

      // Skipping the first incremental: merged anyway, with warnings (it also removes docs/new.txt, which v1 never had).
      const skip = run(['merge', `${dir}/full.dump`, `${dir}/i2.dump`, '-o', `${dir}/skip.dump`]);
      expect(skip.code).toBe(0);
      const lines = skip.stderr.split('\n');
      expect(lines[0]).toBe(`codadump: warning: ${dir}/i2.dump: at byte 0: was not taken against this base: its oldest ordering uniquifier is 2000, the base's latest is 1000 (merged anyway, as Coda does)`);
      expect(lines.slice(1)).toEqual([expect.stringMatching(/: at byte \d+: removes vnode \d+\.\d+, which the base does not hold \(only logged, as Coda does\)$/), '']);
    } finally {
      cleanup();
    }
  });

  it('an unchanged tree gives an incremental without records; merging it changes nothing but the header and volume', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/v1`, V1, 1_450_000_000);
      writeFileSync(`${dir}/full.dump`, await packBytes(`${dir}/v1`, { backupDate: 1000 }));
      writeFileSync(`${dir}/inc.dump`, await incrementalBytes(`${dir}/v1`, `${dir}/full.dump`, { backupDate: 1000 }));
      const inc = await summarizeDump(await openDump(`${dir}/inc.dump`));
      expect(inc.header).toMatchObject({ oldest: 1000, latest: 1001 });
      expect(inc.large).toMatchObject({ declared: 4, records: 0, removed: 0 });
      expect(inc.small).toMatchObject({ declared: 9, records: 0, removed: 0 });
      expect(run(['merge', `${dir}/full.dump`, `${dir}/inc.dump`, '-o', `${dir}/m.dump`]).code).toBe(0);
      const full = readFileSync(`${dir}/full.dump`);
      const merged = readFileSync(`${dir}/m.dump`);
      // Past the header (I latest) and the volume data (from the incremental), the same vnodes in the same order.
      const from = (b: Buffer) => b.subarray(b.indexOf(Buffer.from([4, 0x76])));
      expect(from(merged).equals(from(full))).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('refuses an incremental base, and writing over the base', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/v1`, V1);
      const inc = sample('merge-incremental.dump');
      const r = run(['pack', `${dir}/v1`, '--incremental-from', inc, '-o', `${dir}/x.dump`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`codadump: error: ${inc}: the base is an incremental dump (level 1); merge it onto its full dump first (codadump merge) and use the result as the base\n`);
      writeFileSync(`${dir}/full.dump`, await packBytes(`${dir}/v1`));
      const over = run(['pack', `${dir}/v1`, '--incremental-from', `${dir}/full.dump`, '-o', `${dir}/full.dump`, '--force']);
      expect(over.code).toBe(2);
      expect(over.stderr).toBe(`codadump: error: ${dir}/full.dump: the output is the base dump; inputs are never modified\n`);
    } finally {
      cleanup();
    }
  });
});
