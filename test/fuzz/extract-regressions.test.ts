/**
 * extract under the CLI fuzz, kept apart: `extract --tar` on a truncated or
 * damaged dump crashed with an uncaught stream error (issue 15), which the
 * extract work (issue 14) fixes. These tests assert the correct behaviour
 * (exit 0/1/2, one line on error, no stack trace, input unchanged) and are
 * expected to fail until that fix is merged.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bases, judge, runCase, runCli, type Base } from './engine.mjs';
import { ROOT, sample, tempDir } from '../helpers.js';
import { hostileInputs, peaks, RSS_LIMIT_KIB, SUITE_CASES, SUITE_SEED } from './hostile.js';

const t = tempDir('codadump-fuzz-x-');
let baseList: Base[] = [];
beforeAll(async () => {
  baseList = await bases(t.dir);
}, 120_000);
afterAll(() => t.cleanup());

describe(`extract under the CLI fuzz (seed ${SUITE_SEED})`, () => {
  for (let i = 0; i < SUITE_CASES; i++) {
    it(`case ${i}: extract -C, --tar FILE and --tar - exit 0/1/2 without a trace`, async () => {
      const r = await runCase({ seed: SUITE_SEED, index: i, bases: baseList, work: join(t.dir, `case-${i}`), keep: join(ROOT, 'fuzz-failures'), only: ['extract'] });
      expect(r.commands).toBe(3);
      expect(r.failures, `seed ${SUITE_SEED} case ${i} (${r.base}, [${r.mutations.join('; ')}])`).toEqual([]);
    }, 300_000);
  }
});

describe('extract --tar on truncated dumps (the crash the issue reports)', () => {
  // Cuts of a real dump: inside the header, inside a directory's pages, inside file data.
  for (const cut of [3, 200, 4000, 200_000]) {
    for (const target of ['FILE', '-']) {
      it(`merge-full.dump cut to ${cut} bytes, --tar ${target}: exit 1 or 2, one clear line, no output file`, async () => {
        const input = join(t.dir, `cut-${cut}-${target === '-' ? 'stdout' : 'file'}.dump`);
        writeFileSync(input, readFileSync(sample('merge-full.dump')).subarray(0, cut));
        const before = readFileSync(input);
        const tar = join(t.dir, `cut-${cut}.tar`);
        const r = await runCli(['extract', '--tar', target === '-' ? '-' : tar, input]);
        expect(judge(r)).toEqual([]);
        expect([1, 2]).toContain(r.code);
        expect(r.stderr).toMatch(/^codadump: /);
        expect(readFileSync(input).equals(before)).toBe(true);
        if (target === 'FILE' && r.code === 2) {
          // Nothing usable came out: no archive under the final name.
          expect(() => copyFileSync(tar, tar + '.copy')).toThrow();
        }
      }, 120_000);
    }
  }
});

describe('extract on records declaring huge lengths and counts: no trace, peak RSS under 150 MB', () => {
  for (const kind of ['extract -C', 'extract --tar', 'extract --tar -']) {
    it(`${kind}: every hostile input`, async () => {
      const p = await peaks(kind, await hostileInputs(), join(t.dir, 'hostile'));
      for (const [name, kib] of Object.entries(p)) expect(kib, `${kind} on ${name}: peak RSS ${kib} KiB`).toBeLessThan(RSS_LIMIT_KIB);
    }, 240_000);
  }
});
