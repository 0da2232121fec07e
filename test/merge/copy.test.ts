/**
 * merge's write pass with file data of 1 MiB and more (copied range by
 * range, in the kernel where it can): the same bytes with koffi, without it
 * (the CLI with koffi made unloadable) and through mergedItems (plain reads),
 * and the merged tree is the new tree. (Build first: runs the CLI from dist/.)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractDump } from '../../src/extract/extract.js';
import { openDump } from '../../src/format/open.js';
import { writeDumpFile } from '../../src/io/write-dump.js';
import { mergedItems, planMerge } from '../../src/merge/merge.js';
import { BIN, run, tempDir } from '../helpers.js';
import { noise } from '../tree.js';
import { buildTree, snapshot, sorted, type Spec } from '../extract/trees.js';

const MiB = 1 << 20;

const V1: Spec[] = [
  { path: 'd', dir: true, mtime: 1_450_000_001 },
  { path: 'd/big-kept', content: noise(3 * MiB + 5, 1), mtime: 1_400_000_001 },
  { path: 'd/big-changed', content: noise(MiB, 2), mtime: 1_400_000_002 },
  { path: 'small', content: 'small', mtime: 1_400_000_003 },
  { path: 'almost', content: noise(MiB - 1, 3), mtime: 1_400_000_004 },
];
const V2: Spec[] = [
  { path: 'd', dir: true, mtime: 1_450_000_001 },
  { path: 'd/big-kept', content: noise(3 * MiB + 5, 1), mtime: 1_400_000_001 },
  { path: 'd/big-changed', content: noise(2 * MiB + 3, 4), mtime: 1_400_000_102 },
  { path: 'small', content: 'small', mtime: 1_400_000_003 },
  { path: 'almost', content: noise(MiB - 1, 3), mtime: 1_400_000_004 },
  { path: 'big-new', content: noise(MiB, 5), mtime: 1_400_000_105 },
];

const NO_KOFFI = `const M = require('node:module');
const resolve = M._resolveFilename;
M._resolveFilename = function (request, ...rest) {
  if (request === 'koffi' || request.endsWith('koffi.node')) { const e = new Error("Cannot find module 'koffi'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
  return resolve.call(this, request, ...rest);
};
`;

describe('merge with file data of 1 MiB and more', () => {
  it('the same bytes in the kernel, without koffi, and through mergedItems; the merged tree is v2', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/v1`, V1, 1_450_000_000);
      buildTree(`${dir}/v2`, V2, 1_450_000_100);
      expect(run(['pack', `${dir}/v1`, '-o', `${dir}/full.dump`, '--backup-date', '1000']).code).toBe(0);
      expect(run(['pack', `${dir}/v2`, '--incremental-from', `${dir}/full.dump`, '-o', `${dir}/inc.dump`, '--backup-date', '2000']).code).toBe(0);

      const m = run(['merge', `${dir}/full.dump`, `${dir}/inc.dump`, '-o', `${dir}/kernel.dump`]);
      expect(m.stderr).toBe('');
      expect(m.code).toBe(0);

      writeFileSync(join(dir, 'no-koffi.cjs'), NO_KOFFI);
      const plain = spawnSync(process.execPath, ['--require', join(dir, 'no-koffi.cjs'), BIN, 'merge', `${dir}/full.dump`, `${dir}/inc.dump`, '-o', `${dir}/plain.dump`]);
      expect(plain.stderr.toString()).toBe('');
      expect(plain.status).toBe(0);

      await writeDumpFile(`${dir}/items.dump`, mergedItems(await planMerge(`${dir}/full.dump`, [`${dir}/inc.dump`])));

      const kernel = readFileSync(`${dir}/kernel.dump`);
      expect(readFileSync(`${dir}/plain.dump`).equals(kernel)).toBe(true);
      expect(readFileSync(`${dir}/items.dump`).equals(kernel)).toBe(true);

      const res = await extractDump(await openDump(`${dir}/kernel.dump`), { directory: `${dir}/out` });
      expect(res.problems).toEqual([]);
      expect(sorted(snapshot(`${dir}/out`))).toEqual(sorted(snapshot(`${dir}/v2`)));
    } finally {
      cleanup();
    }
  });
});
