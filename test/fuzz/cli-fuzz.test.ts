/**
 * The CLI-level fuzz, bounded for the suite: a few seeded cases, each one
 * mutated dump run through every command that reads a dump as a child
 * process (see engine.mjs for the mutations and what each run must do).
 * Longer runs: `npm run fuzz -- --runs N --seed S`. The extract commands
 * run on the same cases in extract-regressions.test.ts (extract's damaged-
 * dump behaviour is another issue's; see that file).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bases, runCase, type Base } from './engine.mjs';
import { ROOT, tempDir } from '../helpers.js';
import { SUITE_CASES, SUITE_SEED } from './hostile.js';


const t = tempDir('codadump-fuzz-');
let baseList: Base[] = [];
beforeAll(async () => {
  baseList = await bases(t.dir);
}, 120_000);
afterAll(() => t.cleanup());

describe(`CLI fuzz (seed ${SUITE_SEED})`, () => {
  for (let i = 0; i < SUITE_CASES; i++) {
    it(`case ${i}: every command but extract exits 0/1/2, one line on error, no trace, input unchanged`, async () => {
      const r = await runCase({ seed: SUITE_SEED, index: i, bases: baseList, work: join(t.dir, `case-${i}`), keep: join(ROOT, 'fuzz-failures'), except: ['extract'] });
      expect(r.commands).toBe(13);
      const where = `seed ${SUITE_SEED} case ${i} (${r.base}, [${r.mutations.join('; ')}]; input kept in fuzz-failures/, rerun: npm run fuzz -- --seed ${SUITE_SEED} --case ${i})`;
      expect(r.failures, where).toEqual([]);
    }, 300_000);
  }
});
