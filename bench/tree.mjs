#!/usr/bin/env node
/**
 * The volume tree part of verify (issue #11): the time the checker takes for
 * the whole-dump checks (root, dangling entries, parents, reachability: the
 * walk from the root over every vnode) on one dump. Run after a build:
 *
 *   node bench/tree.mjs [--repeat N] [--files N] [--dist DIR] [--against DIR] [DUMP]
 *
 * Reads DUMP once into a StructureChecker (or generates a small-files dump
 * of N files, default 300,000, in os.tmpdir() like bench/verify.mjs does,
 * and removes it afterwards), then times checker.finish() N times (default
 * 15) and prints the fastest and the median CPU time (user + system: wall
 * time is mostly waiting on a loaded machine). A sound dump gives no
 * findings, so every finish() does the same work. --dist runs another build
 * than this checkout's dist/; --against DIR also loads the build in DIR (e.g.
 * one of main) into the same process and alternates the two, run by run, so
 * that both see the same load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeSmallDump } from './lib/gen-dumps.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const args = process.argv.slice(2);
let repeat = 15;
let files = 300_000;
const builds = [join(ROOT, 'dist')];
let dump;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--repeat') repeat = Number(args[++i]);
  else if (a === '--files') files = Number(args[++i]);
  else if (a === '--dist') builds[0] = resolve(args[++i]);
  else if (a === '--against') builds[1] = resolve(args[++i]);
  else if (a.startsWith('--')) {
    process.stderr.write(`unknown argument ${a}\n`);
    process.exit(2);
  } else dump = a;
}
if (!Number.isInteger(repeat) || repeat < 1 || !Number.isInteger(files) || files < 1) {
  process.stderr.write('--repeat and --files take whole numbers >= 1\n');
  process.exit(2);
}

/** Read the dump into a checker of the build in `dist`. */
async function load(dist) {
  const { openDump } = await import(pathToFileURL(join(dist, 'format/open.js')).href);
  const { StructureChecker } = await import(pathToFileURL(join(dist, 'check/checker.js')).href);
  const reader = await openDump(dump);
  const checker = new StructureChecker();
  const t0 = process.cpuUsage();
  for (;;) {
    const r = reader.nextBuffered() ?? (await reader.next());
    if (!r) break;
    checker.record(r);
  }
  await reader.close();
  const d = process.cpuUsage(t0);
  return { dist, checker, readMs: (d.user + d.system) / 1e3, times: [] };
}

let tmp;
if (!dump) {
  tmp = mkdtempSync(join(tmpdir(), 'codadump-tree-bench-'));
  dump = join(tmp, 'small.dump');
  process.stdout.write(`generating ${files} files ... `);
  await writeSmallDump(dump, { files });
  process.stdout.write('done\n');
}
try {
  const runs = [];
  for (const b of builds) runs.push(await load(b));
  for (let k = 0; k < repeat; k++) {
    for (const r of runs) {
      const t = process.cpuUsage();
      r.checker.finish(true);
      const d = process.cpuUsage(t);
      r.times.push((d.user + d.system) / 1e3);
    }
  }
  const { directories, files: nfiles } = runs[0].checker.countVnodes();
  console.log(`dump: ${dump} (${directories} directories, ${nfiles} files)`);
  for (const r of runs) {
    r.times.sort((a, b) => a - b);
    const codes = [...new Set(r.checker.problems.map((p) => p.code))].join(', ') || 'none';
    console.log(`${r.dist}: read + record() ${r.readMs.toFixed(0)} ms CPU; finish() (tree checks), ${repeat} runs: fastest ${r.times[0].toFixed(1)} ms, median ${r.times[r.times.length >> 1].toFixed(1)} ms CPU; findings: ${codes}`);
  }
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
