#!/usr/bin/env node
/**
 * verify of an archive of many small dumps laid out as Coda's backup program
 * leaves it (dated run directories with links, a dump partition), against
 * verifying the same dumps listed explicitly on the command line. Prints wall
 * time and peak RSS of each; the target is the tree within 1.5x of the list.
 *
 *   node bench/archive.mjs [--dumps N] [--runs R] [--repeat K]   (after npm run build)
 *
 * Each dump is a copy of fixtures/samples/server-empty-full.dump (2,548 bytes,
 * a real server dump) with its parent id changed, so that the archive holds
 * N / R volumes dumped on R days. Timings are the best of K runs (page cache
 * warm: this measures the walk and the bookkeeping, not the disk).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'codadump');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('--dumps', 10000);
const RUNS = arg('--runs', 20);
const REPEAT = arg('--repeat', 3);
const MB = 1e6;

const scratch = mkdtempSync(join(tmpdir(), 'codadump-bench-archive-'));
const timeOut = join(tmpdir(), `codadump-bench-time-${process.pid}`);
try {
  const proto = readFileSync(join(ROOT, 'fixtures', 'samples', 'server-empty-full.dump'));
  const perRun = Math.ceil(N / RUNS);
  const files = [];
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    const run = `${String(1 + (i % RUNS)).padStart(2, '0')}Nov2026`;
    const vol = 0x01000000 + Math.floor(i / RUNS);
    const b = Buffer.from(proto);
    b.writeUInt32BE(vol, 15); // header 'p' (tag at byte 14)
    const name = `srv1-${vol.toString(16).padStart(8, '0')}`;
    const file = join(scratch, 'part', run, name);
    if (i < RUNS) {
      mkdirSync(dirname(file), { recursive: true });
      mkdirSync(join(scratch, run, 'srv1'), { recursive: true });
    }
    writeFileSync(file, b);
    symlinkSync(`/backup/part/${run}/${name}`, join(scratch, run, 'srv1', vol.toString(16).padStart(8, '0')));
    files.push(file);
  }
  console.log(`archive: ${N} dumps of ${proto.length} bytes in ${RUNS} run directories (${perRun} a run), ${N} links; made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const timeOk = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;
  function once(args) {
    const out = timeOut;
    const t = process.hrtime.bigint();
    const r = timeOk
      ? spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, process.execPath, CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 })
      : spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    let rss = NaN;
    if (timeOk) {
      rss = (Number(readFileSync(out, 'utf8').trim().split('\n').pop()) * 1024) / MB;
      unlinkSync(out);
    }
    if (r.status !== 0) throw new Error(`codadump ${args.slice(0, 4).join(' ')} ... exited ${r.status}: ${r.stderr.slice(0, 300)}`);
    return { seconds, rss, stdout: r.stdout };
  }
  function best(args) {
    let b = null;
    for (let k = 0; k < REPEAT; k++) {
      const r = once(args);
      if (!b || r.seconds < b.seconds) b = { ...r, rss: Math.max(r.rss, b?.rss ?? 0) };
      else b.rss = Math.max(b.rss, r.rss);
    }
    return b;
  }
  const tree = best(['verify', '--relocate', `/backup=${scratch}`, scratch]);
  const listed = best(['verify', ...files]);
  const summary = (s) => s.split('\n').find((l) => / dumps: /.test(l));
  console.log(`tree   (walk, ${N} aliases, chains): ${tree.seconds.toFixed(2)} s, peak RSS ${tree.rss.toFixed(0)} MB   ${summary(tree.stdout)}`);
  console.log(`listed (${N} paths on the command line): ${listed.seconds.toFixed(2)} s, peak RSS ${listed.rss.toFixed(0)} MB   ${summary(listed.stdout)}`);
  const ratio = tree.seconds / listed.seconds;
  console.log(`tree / listed: ${ratio.toFixed(2)}x (target <= 1.5x): ${ratio <= 1.5 ? 'PASS' : 'FAIL'}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
