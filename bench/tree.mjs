#!/usr/bin/env node
/**
 * The volume tree part of verify (issue #11): the time the checker takes for
 * the whole-dump checks (root, dangling entries, parents, reachability: the
 * walk from the root over every vnode) on one dump. Run after a build:
 *
 *   node bench/tree.mjs [--repeat N] [--files N] [--dist DIR] [DUMP]
 *
 * Reads DUMP once into a StructureChecker (or generates a small-files dump
 * of N files, default 300,000, in os.tmpdir() like bench/verify.mjs does,
 * and removes it afterwards), then times checker.finish() N times (default
 * 7) and prints the fastest and the median CPU time (user + system: wall
 * time is mostly waiting on a loaded machine). A sound dump gives no findings,
 * so every finish() does the same work. --dist runs another build (e.g. one
 * of main, to compare).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeSmallDump } from './lib/gen-dumps.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const args = process.argv.slice(2);
let repeat = 7;
let files = 300_000;
let dist = join(ROOT, 'dist');
let dump;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--repeat') repeat = Number(args[++i]);
  else if (a === '--files') files = Number(args[++i]);
  else if (a === '--dist') dist = resolve(args[++i]);
  else if (a.startsWith('--')) {
    process.stderr.write(`unknown argument ${a}\n`);
    process.exit(2);
  } else dump = a;
}
if (!Number.isInteger(repeat) || repeat < 1 || !Number.isInteger(files) || files < 1) {
  process.stderr.write('--repeat and --files take whole numbers >= 1\n');
  process.exit(2);
}

const { openDump } = await import(pathToFileURL(join(dist, 'format/open.js')).href);
const { StructureChecker } = await import(pathToFileURL(join(dist, 'check/checker.js')).href);

let tmp;
if (!dump) {
  tmp = mkdtempSync(join(tmpdir(), 'codadump-tree-bench-'));
  dump = join(tmp, 'small.dump');
  process.stdout.write(`generating ${files} files ... `);
  await writeSmallDump(dump, { files });
  process.stdout.write('done\n');
}
try {
  const reader = await openDump(dump);
  const checker = new StructureChecker();
  const t0 = process.hrtime.bigint();
  for (;;) {
    const r = reader.nextBuffered() ?? (await reader.next());
    if (!r) break;
    checker.record(r);
  }
  await reader.close();
  const readMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const { directories, files: nfiles } = checker.countVnodes();
  const times = [];
  for (let k = 0; k < repeat; k++) {
    const t = process.cpuUsage();
    checker.finish(true);
    const d = process.cpuUsage(t);
    times.push((d.user + d.system) / 1e3);
  }
  times.sort((a, b) => a - b);
  console.log(`build: ${dist}`);
  console.log(`dump: ${dump} (${directories} directories, ${nfiles} files)`);
  console.log(`read + record(): ${readMs.toFixed(0)} ms`);
  console.log(`finish() (tree checks), CPU time of ${repeat} runs: fastest ${times[0].toFixed(1)} ms, median ${times[times.length >> 1].toFixed(1)} ms`);
  console.log(`findings: ${checker.problems.length} (${[...new Set(checker.problems.map((p) => p.code))].join(', ') || 'none'})`);
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
