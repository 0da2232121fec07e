#!/usr/bin/env node
/**
 * The long CLI fuzz: `npm run fuzz -- --runs N --seed S [--case K] [--jobs J]
 * [--only CMD] [--keep DIR]`. Builds nothing: run `npm run build` first (npm
 * run fuzz does). Each case runs every command that reads a dump on one
 * mutated input (see engine.mjs). A failure prints the seed and case number
 * (rerun one case with `--seed S --case K`) and keeps the input in DIR
 * (default fuzz-failures/). Exit 0 when every case behaved, 1 otherwise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bases, runCase, ROOT } from './engine.mjs';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    seed: { type: 'string' },
    case: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    only: { type: 'string', multiple: true },
    keep: { type: 'string', default: join(ROOT, 'fuzz-failures') },
    timeout: { type: 'string', default: '120' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() & 0x7fffffff) >>> 0;
const runs = Number(values.runs);
const jobs = Math.max(1, Number(values.jobs));
const first = values.case !== undefined ? Number(values.case) : 0;
const count = values.case !== undefined ? 1 : runs;

const scratch = mkdtempSync(join(tmpdir(), 'codadump-fuzz-'));
const baseList = await bases(scratch);
console.log(`fuzz: seed ${seed}, ${count} case(s) from case ${first}, ${baseList.length} base dumps, ${jobs} at once`);
const t0 = Date.now();
let failed = 0;
let runsDone = 0;
const byCommand = new Map();
let next = first;
async function worker(k) {
  while (next < first + count) {
    const i = next++;
    const r = await runCase({ seed, index: i, bases: baseList, work: join(scratch, `case-${k}`), keep: values.keep, concurrency: 1, timeoutMs: Number(values.timeout) * 1000, only: values.only });
    runsDone += r.commands;
    if (r.failures.length) {
      failed++;
      console.log(`FAIL seed ${seed} case ${i}: ${r.base}, ${r.size} bytes after [${r.mutations.join('; ')}]; input kept as ${join(values.keep, `seed-${seed}-case-${i}.dump`)}`);
      for (const f of r.failures) {
        byCommand.set(f.command, (byCommand.get(f.command) ?? 0) + 1);
        console.log(`  ${f.command}: ${f.problems.join('; ')} (exit ${f.code})`);
        console.log(`    codadump ${f.args.join(' ')}`);
        const first = f.stderr.split('\n').slice(0, 6).join('\n      ');
        if (first) console.log(`      ${first}`);
      }
    }
    const done = i - first + 1;
    if (done % 50 === 0) console.log(`  ... ${done}/${count} cases, ${failed} failing, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}
await Promise.all(Array.from({ length: jobs }, (_, k) => worker(k)));
rmSync(scratch, { recursive: true, force: true });
const secs = ((Date.now() - t0) / 1000).toFixed(0);
console.log(`fuzz: seed ${seed}: ${count} cases, ${runsDone} CLI runs, ${failed} failing case(s) in ${secs} s`);
for (const [c, n] of byCommand) console.log(`  ${c}: ${n} failing case(s)`);
process.exitCode = failed ? 1 : 0;
