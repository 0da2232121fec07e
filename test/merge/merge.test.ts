/** merge: Coda's own merged bytes, the per-slot stack order, refusals, warnings. (Build first: the CLI tests run dist/.) */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDump } from '../../src/format/open.js';
import type { Vnode } from '../../src/format/types.js';
import { mergeDumps, planMerge } from '../../src/merge/merge.js';
import { codaVolume, cString } from '../../src/merge/coda-fields.js';
import { emptyVV, type VolumeData } from '../../src/format/types.js';
import { readAll, run, sample, tempDir } from '../helpers.js';
import { craftDump, dirPages } from '../extract/trees.js';

const FULL = sample('merge-full.dump');
const INC = sample('merge-incremental.dump');
const MERGED = sample('codamergedump-merged.dump');

describe('merge: the bytes Coda writes', () => {
  it('merge-full + merge-incremental = codamergedump-merged, byte for byte', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const res = await mergeDumps(FULL, [INC], `${dir}/out.dump`);
      expect(readFileSync(`${dir}/out.dump`).equals(readFileSync(MERGED))).toBe(true);
      expect(res).toMatchObject({
        bytes: readFileSync(MERGED).length,
        large: { declared: 4, lists: 8, vnodes: 4 },
        small: { declared: 27, lists: 28, vnodes: 27 },
        incrementals: [{ level: 1, oldest: 1, latest: 2, changed: 4, added: 2, removed: 1, notFound: 0 }],
        warnings: [],
      });
    } finally {
      cleanup();
    }
  });

  it('server-empty-full + server-empty-incremental = codamergedump-empty-merged (CLI)', () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = run(['merge', sample('server-empty-full.dump'), sample('server-empty-incremental.dump'), '-o', `${dir}/out.dump`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readFileSync(`${dir}/out.dump`).equals(readFileSync(sample('codamergedump-empty-merged.dump')))).toBe(true);
      expect(r.stdout).toBe(
        `${dir}/out.dump: 2548 bytes, full dump of volume 0x01000002 "testvol.backup", order 1795666117..1795666117\n` +
          '  large index 1 vnodes in 128 lists; small index 0 vnodes in 256 lists\n' +
          `  ${sample('server-empty-incremental.dump')} (level 1, order 1795666117..1795666117): 0 changed, 0 added, 0 removed\n`,
      );
    } finally {
      cleanup();
    }
  });

  it('never replaces an existing output without --force, nor an input even with it', () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/out.dump`, 'old');
      const r = run(['merge', FULL, INC, '-o', `${dir}/out.dump`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`codadump: error: ${dir}/out.dump: ${dir}/out.dump already exists (use --force to replace it)\n`);
      expect(readFileSync(`${dir}/out.dump`, 'latin1')).toBe('old');
      expect(run(['merge', FULL, INC, '-o', `${dir}/out.dump`, '--force']).code).toBe(0);
      expect(readFileSync(`${dir}/out.dump`).equals(readFileSync(MERGED))).toBe(true);
      const same = run(['merge', FULL, INC, '-o', INC, '--force']);
      expect(same.code).toBe(2);
      expect(same.stderr).toBe(`codadump: error: ${INC}: the output is one of the inputs; inputs are never modified\n`);
      const stdin = run(['merge', '-', INC, '-o', `${dir}/x.dump`], { input: readFileSync(FULL) });
      expect(stdin.code).toBe(2);
      expect(stdin.stderr).toBe('codadump: error: -: the full dump must be a file: merge reads its inputs twice, by position, so standard input cannot be used\n');
    } finally {
      cleanup();
    }
  });
});

/** Files of one small slot: 2.5 and 2.9 share slot 0 (same number, different uniquifiers); 4.6 is slot 1. */
const ROOT = { vnode: 1, unique: 1, pages: dirPages([1, 1], [1, 1], [['a', 2, 5], ['b', 2, 9], ['c', 4, 6]]) };
const fullDump = () => craftDump([ROOT], [{ vnode: 2, unique: 5, data: 'a' }, { vnode: 2, unique: 9, data: 'b' }, { vnode: 4, unique: 6, data: 'c' }], { lists: { small: 3 } });

async function smallOrder(path: string): Promise<string[]> {
  const recs = await readAll(await openDump(path));
  const start = recs.findIndex((r) => r.rec.kind === 'index' && r.rec.index === 'small');
  return recs.slice(start + 1).filter((r) => r.rec.kind === 'vnode').map((r) => `${(r.rec as Vnode).vnode}.${(r.rec as Vnode).unique}=${r.data!.toString('latin1')}`);
}

describe('merge: Coda table order', () => {
  it('per slot a stack: the full dump reversed, new vnodes on top, a changed one keeps its place; absent RMVNODE only logged', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/f.dump`, fullDump());
      writeFileSync(`${dir}/i.dump`, craftDump([], [{ vnode: 2, unique: 5, data: 'A' }, { vnode: 2, unique: 11, data: 'n' }], {
        incremental: 1, oldest: 1, latest: 2, lists: { small: 3 }, declared: { large: 1, small: 3 }, removed: { small: [[4, 6], [6, 1]] },
      }));
      const r = run(['merge', `${dir}/f.dump`, `${dir}/i.dump`, '-o', `${dir}/m.dump`, '--json']);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.small).toEqual({ declared: 3, lists: 3, vnodes: 3 });
      expect(j.warnings).toEqual([{ code: 'RMVNODE_MISSING', severity: 'warning', file: `${dir}/i.dump`, offset: expect.any(Number), message: 'removes vnode 6.1, which the base does not hold (only logged, as Coda does)' }]);
      expect(r.stderr).toBe('');
      expect(await smallOrder(`${dir}/m.dump`)).toEqual(['2.11=n', '2.9=b', '2.5=A']);
    } finally {
      cleanup();
    }
  });

  it('several incrementals in one run give the bytes of merging them one after the other', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/f.dump`, fullDump());
      writeFileSync(`${dir}/i1.dump`, craftDump([], [{ vnode: 2, unique: 11, data: 'n' }], { incremental: 1, oldest: 1, latest: 2, lists: { small: 3 } }));
      writeFileSync(`${dir}/i2.dump`, craftDump([], [{ vnode: 2, unique: 9, data: 'B' }, { vnode: 2, unique: 13, data: 'm' }], { incremental: 1, oldest: 2, latest: 3, lists: { small: 4 } }));
      const one = await mergeDumps(`${dir}/f.dump`, [`${dir}/i1.dump`, `${dir}/i2.dump`], `${dir}/m12.dump`);
      expect(one.warnings).toEqual([]);
      await mergeDumps(`${dir}/f.dump`, [`${dir}/i1.dump`], `${dir}/m1.dump`);
      await mergeDumps(`${dir}/m1.dump`, [`${dir}/i2.dump`], `${dir}/m2.dump`);
      expect(readFileSync(`${dir}/m12.dump`).equals(readFileSync(`${dir}/m2.dump`))).toBe(true);
      expect(await smallOrder(`${dir}/m1.dump`)).toEqual(['2.11=n', '2.9=b', '2.5=a', '4.6=c']);
      // Reading m1 back reverses slot 0; 2.13 goes on top, 2.9 is replaced in place.
      expect(await smallOrder(`${dir}/m12.dump`)).toEqual(['2.13=m', '2.5=a', '2.9=B', '2.11=n', '4.6=c']);
      expect(one.header).toMatchObject({ oldest: 1, latest: 3, incremental: 0 });
    } finally {
      cleanup();
    }
  });
});

describe('merge: refusals (exit 2, no output)', () => {
  const cases: [string, (dir: string) => { args: string[]; message: string }][] = [
    ['onto an incremental', () => ({ args: [INC, INC], message: `codadump: error: ${INC}: trying to merge onto an incremental dump: ${INC} is incremental (level 1); the first dump must be a full dump\n` })],
    ['from a full dump', () => ({ args: [FULL, MERGED], message: `codadump: error: ${MERGED}: trying to merge from a full dump: ${MERGED} is a full dump, not an incremental\n` })],
    ['across parent volume ids', (dir) => {
      writeFileSync(`${dir}/f.dump`, fullDump());
      writeFileSync(`${dir}/i.dump`, craftDump([], [], { incremental: 1, parentId: 0x01000009, lists: { small: 3 } }));
      return {
        args: [`${dir}/f.dump`, `${dir}/i.dump`],
        message: `codadump: error: ${dir}/i.dump: volume ids or names don't match: ${dir}/f.dump has parent volume 0x01000001 name "crafted.backup", ${dir}/i.dump has parent volume 0x01000009 name "crafted.backup"\n`,
      };
    }],
    ['across volume names', (dir) => {
      writeFileSync(`${dir}/f.dump`, fullDump());
      writeFileSync(`${dir}/i.dump`, craftDump([], [], { incremental: 1, name: 'other.backup', lists: { small: 3 } }));
      return {
        args: [`${dir}/f.dump`, `${dir}/i.dump`],
        message: `codadump: error: ${dir}/i.dump: volume ids or names don't match: ${dir}/f.dump has parent volume 0x01000001 name "crafted.backup", ${dir}/i.dump has parent volume 0x01000001 name "other.backup"\n`,
      };
    }],
    ['an incremental with fewer lists than its base', (dir) => {
      writeFileSync(`${dir}/f.dump`, fullDump());
      writeFileSync(`${dir}/i.dump`, craftDump([], [], { incremental: 1, lists: { small: 2 } }));
      return {
        args: [`${dir}/f.dump`, `${dir}/i.dump`],
        message: `codadump: error: ${dir}/i.dump: the full dump has more vnode slots than the incremental: 3 small lists in the base, 2 in ${dir}/i.dump\n`,
      };
    }],
    ['a BADINODE file', (dir) => {
      writeFileSync(`${dir}/f.dump`, craftDump([ROOT], [{ vnode: 2, unique: 5, badinode: true }]));
      writeFileSync(`${dir}/i.dump`, craftDump([], [], { incremental: 1 }));
      return {
        args: [`${dir}/f.dump`, `${dir}/i.dump`],
        message: `codadump: error: ${dir}/f.dump: vnode 2.5 has BADINODE (the server could not read its data): Coda's merge aborts on it, so no merged dump is written\n`,
      };
    }],
  ];
  it.each(cases)('%s', (_name, make) => {
    const { dir, cleanup } = tempDir();
    try {
      const { args, message } = make(dir);
      const r = run(['merge', ...args, '-o', `${dir}/out.dump`]);
      expect(r.stderr).toBe(message);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(existsSync(`${dir}/out.dump`)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('the library throws DumpError MERGE_REFUSED', async () => {
    await expect(planMerge(INC, [INC])).rejects.toMatchObject({ name: 'DumpError', code: 'MERGE_REFUSED' });
    await expect(planMerge(FULL, [MERGED])).rejects.toMatchObject({ code: 'MERGE_REFUSED' });
    await expect(planMerge(FULL, [INC, INC])).rejects.toMatchObject({ code: 'USAGE', message: 'named twice among the inputs', file: INC });
  });
});

describe('merge: warnings (merged anyway, exit 0)', () => {
  it('an incremental not taken against this base (ordering uniquifiers)', () => {
    const { dir, cleanup } = tempDir();
    try {
      // merge-incremental with its oldest ordering uniquifier changed from 1 to 7.
      const inc = Buffer.from(readFileSync(INC));
      const at = inc.indexOf(Buffer.from([0x49, 0, 0, 0, 1, 0, 0, 0, 2]));
      inc.writeUInt32BE(7, at + 1);
      writeFileSync(`${dir}/i.dump`, inc);
      const r = run(['merge', FULL, `${dir}/i.dump`, '-o', `${dir}/out.dump`]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`codadump: warning: ${dir}/i.dump: at byte 0: was not taken against this base: its oldest ordering uniquifier is 7, the base's latest is 1 (merged anyway, as Coda does)\n`);
      // Coda's merge takes only the incremental's latest: the same bytes as the real pair.
      expect(readFileSync(`${dir}/out.dump`).equals(readFileSync(MERGED))).toBe(true);
      const j = JSON.parse(run(['merge', FULL, `${dir}/i.dump`, '-o', `${dir}/out2.dump`, '--json']).stdout);
      expect(j.warnings.map((w: { code: string }) => w.code)).toEqual(['NOT_AGAINST_BASE']);
    } finally {
      cleanup();
    }
  });

  it('an incremental without its end marker', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const inc = readFileSync(INC);
      writeFileSync(`${dir}/i.dump`, inc.subarray(0, inc.length - 5));
      const res = await mergeDumps(FULL, [`${dir}/i.dump`], `${dir}/out.dump`);
      expect(res.warnings.map((w) => w.code)).toEqual(['NO_END_MARKER']);
      expect(readFileSync(`${dir}/out.dump`).equals(readFileSync(MERGED))).toBe(true);
      // A full dump without one is an error.
      const full = readFileSync(FULL);
      writeFileSync(`${dir}/f.dump`, full.subarray(0, full.length - 5));
      await expect(mergeDumps(`${dir}/f.dump`, [INC], `${dir}/out2.dump`)).rejects.toMatchObject({ code: 'TRUNCATED' });
      expect(existsSync(`${dir}/out2.dump`)).toBe(false);
    } finally {
      cleanup();
    }
  });
});

describe('merge: re-encoding as Coda does', () => {
  it('strings are cut as C buffers keep them, week use is exactly 7 values', () => {
    expect(cString('abc\0def')).toBe('abc');
    expect(cString('x'.repeat(40), 32)).toBe('x'.repeat(31));
    expect(cString('short', 32)).toBe('short');
    const v = codaVolume({
      kind: 'volume', offset: 0, size: 0, id: 1, stampVersion: 1, name: 'n'.repeat(40), partition: '/vicepa/' + 'p'.repeat(40), inService: 1,
      blessed: 1, nextUniquifier: 2, type: 2, parentId: 3, groupId: 0, cloneId: 0, backupId: 0, maxQuota: 0, minQuota: 0, maxFiles: 0,
      diskUsed: 0, fileCount: 0, linkCount: 0, accountNumber: 0, owner: 0, creationDate: 0, accessDate: 0, updateDate: 0,
      expirationDate: 0, backupDate: 0, offlineMessage: 'o'.repeat(200), motd: 'm\0hidden', weekUse: [1, 2, 3, 4, 5, 6, 7, 8, 9],
      dayUseDate: 0, dayUse: 0, vv: emptyVV(),
    } satisfies VolumeData);
    expect(v.name).toBe('n'.repeat(31));
    expect(v.partition).toHaveLength(31);
    expect(v.offlineMessage).toBe('o'.repeat(127));
    expect(v.motd).toBe('m');
    expect(v.weekUse).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(codaVolume({ ...({} as VolumeData), name: '', partition: '', offlineMessage: '', motd: '', weekUse: [5] }).weekUse).toEqual([5, 0, 0, 0, 0, 0, 0]);
  });
});
