#!/usr/bin/env node
/**
 * Speed and memory against the C tools, cp and dd (issue #17). Run after a build:
 *
 *   node bench/speed.mjs [--pairs N] [--only ROW,...] [--no-rss] [--rss-only] [--out DIR] [--cli PATH]
 *
 * Generates its dumps once into bench/out/ (gitignored; reused by later runs):
 *   merge-full.dump + merge-inc.dump  260 MB full dump of 37,000 small files + a 13 MB incremental (1,850 changed)
 *   wrapped.dump                      4.3 GB dump damaged by the 4 GiB wraparound (model A1, `simulate --receiver A`
 *                                     of a 4.31 GB dump: 4,000 small files, four of 1.06 GB, 4,000 small files)
 *   small-300k.dump                   2.2 GB, 300,000 files of 1 .. 13 KiB in 3,031 directories
 *   sparse-1m.dump                    277 MB, 1,000,000 files of 0 .. 255 zero bytes, vnode numbers spread
 *                                     over 4,000,000 slots
 *
 * Rows (each: N interleaved pairs, codadump then its reference, on the same files; medians of wall time):
 *   merge     codadump merge FULL INC -o OUT      vs  codamergedump OUT FULL INC; sync OUT   (absent: cp FULL OUT; sync OUT),
 *                                                 and vs dd if=FULL of=OUT bs=4M oflag=direct conv=fsync (the disk alone; no target)
 *   repair    codadump repair wrapped.dump -o OUT vs  cp wrapped.dump OUT, vs cp + sync (flushed),
 *                                                 and vs dd ... oflag=direct conv=fsync (the disk alone; no target)
 *   diagnose  codadump diagnose wrapped.dump      vs  dd if=wrapped.dump of=/dev/null bs=1M
 *   extract   codadump extract --tar - small-300k vs  codadump2tar (absent: only peak RSS, target 150 MB)
 *   verify    codadump verify small-300k          vs  dd if=small-300k.dump of=/dev/null bs=1M (warm)
 *   start     codadump --version                  vs  node -e 0  (target 0.10 s where node -e 0 takes 0.06 s: <= 1.67x)
 *             codadump merge MISSING MISSING -o X vs  node -e 0  (a command's start: yargs and merge's modules; no target)
 * then the peak RSS of every command on small-300k.dump and sparse-1m.dump (target: 150 MB each); merge's row
 * merges the dump with an incremental taken against it (every 20th file changed; generated into --scratch).
 * The page cache is warm (every file is read once with dd first). Peak RSS: /usr/bin/time -f %M.
 *
 *   --pairs N     interleaved pairs per row (default 5; the median is printed)
 *   --only LIST   rows to run, comma-separated (merge,repair,diagnose,extract,verify,start)
 *   --no-rss      skip the peak-RSS table;  --rss-only: only it
 *   --out DIR     where the dumps are kept (default bench/out)
 *   --rss-dumps L peak-RSS table on these dumps only (small,sparse)
 *   --rss-skip L  leave these commands out of it (e.g. "extract -C,pack": 1M files on disk take long)
 *   --keep-trees DIR  the `extract -C` rows extract into DIR/tree-small and DIR/tree-sparse (replacing them) and
 *                 leave them there; with "extract -C" in --rss-skip, the `pack` rows pack the trees kept by an
 *                 earlier run (a million files take minutes to extract and to delete; pack alone takes less than a minute)
 *   --scratch DIR where the measured commands write their outputs (default: a directory of this run's own under --out;
 *                 give one when --out is a shared, read-only set of dumps)
 *   --cli PATH    the codadump to measure (default bin/codadump here; e.g. another checkout's, for before/after)
 *
 * Exit status: 0 when every target is met, 1 when one is missed, 2 on error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBigDump, writeIncrementalOf, writeMergeDumps, writeSmallDump, writeSparseDump } from './lib/gen-dumps.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let CLI = join(ROOT, 'bin', 'codadump');
const RSS_LIMIT_MB = 150;
const ROWS = ['merge', 'repair', 'diagnose', 'extract', 'verify', 'start'];

function parseArgs(argv) {
  const o = { pairs: 5, only: ROWS, rss: true, timing: true, out: join(ROOT, 'bench', 'out'), rssDumps: ['small', 'sparse'], rssSkip: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--pairs') o.pairs = Number(value());
    else if (a === '--only') o.only = value().split(',');
    else if (a === '--no-rss') o.rss = false;
    else if (a === '--rss-only') o.timing = false;
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--cli') CLI = resolve(value());
    else if (a === '--rss-dumps') o.rssDumps = value().split(',');
    else if (a === '--rss-skip') o.rssSkip = value().split(',');
    else if (a === '--scratch') o.scratch = resolve(value());
    else if (a === '--keep-trees') o.keepTrees = resolve(value());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\*\n/, '').replace(/^ \* ?/gm, ''));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.pairs) || o.pairs < 1) throw new Error('--pairs must be a whole number >= 1');
  for (const r of o.only) if (!ROWS.includes(r)) throw new Error(`unknown row ${r} (rows: ${ROWS.join(', ')})`);
  return o;
}

const MB = 1e6;
const log = (s) => process.stderr.write(`${s}\n`);

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Run a command under /usr/bin/time: wall seconds, CPU seconds, peak RSS (MB), status. */
function timed(cmd, args, { stdout = 'ignore', scratch }) {
  const tf = join(scratch, '.time.out');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', tf, cmd, ...args], { stdio: ['ignore', stdout, 'pipe'], maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) throw r.error;
  const [u, s, kb] = readFileSync(tf, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  unlinkSync(tf);
  return { seconds, cpu: u + s, rssMB: (kb * 1024) / MB, status: r.status, stderr: r.stderr.toString() };
}

function codadump(args, o) {
  return timed(process.execPath, [CLI, ...args], o);
}

function check(r, ok, what) {
  if (!ok.includes(r.status)) throw new Error(`${what} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  return r;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The dumps, generated when missing. */
function ensureData(dir) {
  mkdirSync(dir, { recursive: true });
  const p = (n) => join(dir, n);
  const gen = (name, f) => {
    const t0 = Date.now();
    log(`generating ${name} ...`);
    f();
    log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  };
  if (!existsSync(p('merge-full.dump')) || !existsSync(p('merge-inc.dump'))) gen('merge-full.dump + merge-inc.dump', () => writeMergeDumps(p('merge-full.dump'), p('merge-inc.dump')));
  if (!existsSync(p('small-300k.dump'))) gen('small-300k.dump', () => writeSmallDump(p('small-300k.dump')));
  if (!existsSync(p('sparse-1m.dump'))) gen('sparse-1m.dump', () => writeSparseDump(p('sparse-1m.dump')));
  if (!existsSync(p('wrapped.dump'))) {
    gen('wrapped.dump (a 4.6 GB dump, then simulate --receiver A)', () => {
      // L = 4,309 MB, W + 14 MB: the seam [s, e) ends among the first small files and the stream's tail
      // that overwrote it is small files too; few enough files that the directories fit before s.
      writeBigDump(p('big.dump'), { count: 4, fileSize: 1_063_491_824, small: 4_000, tail: 4_000 });
      const r = spawnSync(process.execPath, [CLI, 'simulate', '--receiver', 'A', p('big.dump'), '-o', p('wrapped.dump')], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error('simulate failed');
      unlinkSync(p('big.dump'));
    });
  }
  return {
    full: p('merge-full.dump'), inc: p('merge-inc.dump'), wrapped: p('wrapped.dump'), small: p('small-300k.dump'), sparse: p('sparse-1m.dump'),
  };
}

function warm(files) {
  for (const f of files) spawnSync('dd', [`if=${f}`, 'of=/dev/null', 'bs=1M'], { stdio: 'ignore' });
}

/** N interleaved pairs of (ours, reference); `after` cleans up after each run. */
function pairs(n, ours, ref, after = () => {}) {
  const a = [];
  const b = [];
  for (let i = 0; i < n; i++) {
    a.push(ours());
    after();
    if (ref) {
      b.push(ref());
      after();
    }
  }
  const sum = (xs) => (xs.length ? { seconds: median(xs.map((x) => x.seconds)), cpu: median(xs.map((x) => x.cpu)), rssMB: Math.max(...xs.map((x) => x.rssMB)) } : null);
  return { ours: sum(a), ref: sum(b) };
}

function timingRows(o, d, scratch) {
  const out = join(scratch, 'speed-out.dump');
  const rm = () => rmSync(out, { force: true });
  const opt = { scratch };
  const rows = [];
  const mergeTool = which('codamergedump');
  const tarTool = which('codadump2tar');
  if (o.only.includes('merge')) {
    log('merge ...');
    warm([d.full, d.inc]);
    const ref = mergeTool
      ? () => timed('sh', ['-c', `"${mergeTool}" "${out}" "${d.full}" "${d.inc}" && sync "${out}"`], opt)
      : () => timed('sh', ['-c', `cp "${d.full}" "${out}" && sync "${out}"`], opt);
    const r = pairs(o.pairs, () => check(codadump(['merge', d.full, d.inc, '-o', out], opt), [0], 'merge'), ref, rm);
    rows.push({ row: 'merge 260 MB + 13 MB', ours: r.ours, refName: mergeTool ? 'codamergedump + sync' : 'cp + sync (no codamergedump)', ref: r.ref, target: 1.0 });
    // What the disk alone takes for the full dump's bytes (direct writes of 4 MiB, flushed): the floor of any
    // merge that puts its output on disk. Printed for reference (no target).
    const disk = pairs(o.pairs, () => check(codadump(['merge', d.full, d.inc, '-o', out], opt), [0], 'merge'), () => timed('dd', [`if=${d.full}`, `of=${out}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none'], opt), rm);
    rows.push({ row: 'merge 260 MB + 13 MB', ours: disk.ours, refName: 'dd oflag=direct conv=fsync of the full dump (the disk alone)', ref: disk.ref });
  }
  if (o.only.includes('repair')) {
    log('repair ...');
    warm([d.wrapped]);
    const r = pairs(o.pairs, () => check(codadump(['repair', d.wrapped, '-o', out], opt), [0, 1], 'repair'), () => timed('cp', [d.wrapped, out], opt), rm);
    rows.push({ row: 'repair 4.3 GB wrapped', ours: r.ours, refName: 'cp', ref: r.ref, target: 1.3 });
    // cp's copy is still in the page cache when it is removed; repair fsyncs its output (the house rule):
    // the like-for-like reference is a copy that reaches the disk too.
    const f = pairs(o.pairs, () => check(codadump(['repair', d.wrapped, '-o', out], opt), [0, 1], 'repair'), () => timed('sh', ['-c', `cp "${d.wrapped}" "${out}" && sync "${out}"`], opt), rm);
    rows.push({ row: 'repair 4.3 GB wrapped', ours: f.ours, refName: 'cp + sync (flushed, as repair is)', ref: f.ref, target: 1.3 });
    const disk = pairs(o.pairs, () => check(codadump(['repair', d.wrapped, '-o', out], opt), [0, 1], 'repair'), () => timed('dd', [`if=${d.wrapped}`, `of=${out}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none'], opt), rm);
    rows.push({ row: 'repair 4.3 GB wrapped', ours: disk.ours, refName: 'dd oflag=direct conv=fsync (the disk alone)', ref: disk.ref });
  }
  if (o.only.includes('diagnose')) {
    log('diagnose ...');
    warm([d.wrapped]);
    const r = pairs(o.pairs, () => check(codadump(['diagnose', d.wrapped], opt), [1], 'diagnose'), () => timed('dd', [`if=${d.wrapped}`, 'of=/dev/null', 'bs=1M'], opt));
    rows.push({ row: 'diagnose 4.3 GB wrapped', ours: r.ours, refName: 'dd bs=1M', ref: r.ref, target: 1.0 });
  }
  if (o.only.includes('extract')) {
    log('extract --tar ...');
    warm([d.small]);
    const ref = tarTool ? () => timed('sh', ['-c', `"${tarTool}" < "${d.small}" > /dev/null`], opt) : null;
    const r = pairs(ref ? o.pairs : 1, () => check(codadump(['extract', d.small, '--tar', '-'], opt), [0], 'extract --tar'), ref);
    rows.push({ row: 'extract --tar 300k files', ours: r.ours, refName: tarTool ? 'codadump2tar' : '(no codadump2tar)', ref: r.ref, rssTarget: RSS_LIMIT_MB });
  }
  if (o.only.includes('verify')) {
    log('verify ...');
    warm([d.small]);
    const r = pairs(o.pairs, () => check(codadump(['verify', d.small], opt), [0], 'verify'), () => timed('dd', [`if=${d.small}`, 'of=/dev/null', 'bs=1M'], opt));
    rows.push({ row: 'verify 2.2 GB / 300k files', ours: r.ours, refName: 'dd bs=1M (warm)', ref: r.ref, target: 3.0 });
  }
  if (o.only.includes('start')) {
    log('start ...');
    const r = pairs(Math.max(o.pairs, 9), () => check(codadump(['--version'], opt), [0], '--version'), () => timed(process.execPath, ['-e', '0'], opt));
    // The issue's target, 0.10 s where `node -e 0` takes 0.06 s, as a ratio to node's own start on this machine.
    rows.push({ row: 'CLI start --version', ours: r.ours, refName: 'node -e 0', ref: r.ref, target: 0.1 / 0.06 });
    // --version alone loads neither yargs nor a command: the start every other run pays is a command's, here
    // merge's up to its first open (of a file that is not there: exit 2). Printed for reference (no target).
    const missing = join(scratch, 'no-such.dump');
    const c = pairs(Math.max(o.pairs, 9), () => check(codadump(['merge', missing, missing, '-o', join(scratch, 'no-such-out.dump')], opt), [2], 'merge of a missing file'), () => timed(process.execPath, ['-e', '0'], opt));
    rows.push({ row: 'CLI start of a command (merge of a missing file, exit 2)', ours: c.ours, refName: 'node -e 0', ref: c.ref });
  }
  return rows;
}

async function rssRows(d, scratch, o) {
  const opt = { scratch };
  const out = join(scratch, 'speed-out.dump');
  const rows = [];
  if (o.keepTrees) mkdirSync(o.keepTrees, { recursive: true });
  for (const [name, dump, key] of [['300k files', d.small, 'small'], ['1M sparse vnodes', d.sparse, 'sparse']].filter((x) => o.rssDumps.includes(x[2]))) {
    // merge's second input: an incremental taken against this dump (every 20th file changed), made in the scratch directory.
    const inc = join(scratch, `${key}-inc.dump`);
    if (!o.rssSkip.includes('merge') && !existsSync(inc)) {
      log(`generating ${inc} (an incremental of ${dump}) ...`);
      await writeIncrementalOf(dump, inc);
    }
    // The tree `extract -C` makes and `pack` packs: this run's own, or kept (--keep-trees) with a mark once complete.
    const tree = o.keepTrees ? join(o.keepTrees, `tree-${key}`) : join(scratch, 'speed-tree');
    const done = `${tree}.complete`;
    const cmds = [
      ['inspect', ['inspect', dump], [0]],
      ['ls', ['ls', dump], [0]],
      ['verify', ['verify', dump], [0]],
      ['verify --deep', ['verify', '--deep', dump], [0]],
      ['diagnose', ['diagnose', dump], [0]],
      ['repair', ['repair', dump, '-o', out], [0]],
      ['simulate A', ['simulate', '--receiver', 'A', '--wrap-bits', '28', dump, '-o', out], [0]],
      ['merge', ['merge', dump, inc, '-o', out], [0]],
      ['redump', null, [0]], // from standard input (below)
      ['extract --tar', ['extract', dump, '--tar', '-'], [0]],
      ['extract -C', ['extract', dump, '-C', tree], [0]],
      ['pack', ['pack', tree, '-o', out], [0]],
    ];
    for (const [label, args, ok] of cmds.filter((c) => !o.rssSkip.includes(c[0]))) {
      if (label === 'extract -C') {
        if (existsSync(tree)) removeTree(tree);
        rmSync(done, { force: true });
      }
      if (label === 'pack' && o.keepTrees && !existsSync(done)) {
        log(`peak RSS: pack ${name}: no complete tree at ${tree} (run the extract -C row with --keep-trees first): left out`);
        continue;
      }
      log(`peak RSS: ${label} ${name} ...`);
      const r = args ? codadump(args, opt) : timed('sh', ['-c', `exec "${process.execPath}" "${CLI}" redump --no-direct -o "${out}" - < "${dump}"`], opt);
      rows.push({ dump: name, cmd: label, rssMB: r.rssMB, seconds: r.seconds, cpu: r.cpu, status: r.status, ok: ok.includes(r.status), err: r.stderr.split('\n')[0] });
      log(`  ${r.rssMB.toFixed(0)} MB, ${r.seconds.toFixed(1)} s (${r.cpu.toFixed(1)} s CPU), exit ${r.status}`);
      if (label === 'extract -C' && r.status === 0 && o.keepTrees) writeFileSync(done, `${dump}\n`);
      if (label !== 'extract -C') rmSync(out, { force: true });
    }
    if (!o.keepTrees && existsSync(tree)) removeTree(tree);
    rmSync(inc, { force: true });
  }
  return rows;
}

/** Delete an extracted tree (files may have been made read-only), saying how long a big one took. */
function removeTree(tree) {
  const t0 = Date.now();
  try {
    rmSync(tree, { recursive: true, force: true });
  } catch {
    spawnSync('chmod', ['-R', 'u+rwx', tree], { stdio: 'ignore' });
    rmSync(tree, { recursive: true, force: true });
  }
  const s = (Date.now() - t0) / 1000;
  if (s >= 5) log(`  (deleting ${tree} took ${s.toFixed(0)} s)`);
}

const f2 = (x) => (x === null || x === undefined ? '-' : x.toFixed(2));

function printTiming(rows) {
  const lines = [];
  lines.push('| work | codadump s (cpu s) | reference | ref s (cpu s) | ratio | target | peak RSS | result |');
  lines.push('|---|---|---|---|---|---|---|---|');
  let missed = 0;
  for (const r of rows) {
    let ratio = null;
    let target = '';
    let pass = true;
    if (r.ref) ratio = r.ours.seconds / r.ref.seconds;
    if (r.target !== undefined) {
      target = `<= ${r.target.toFixed(2)}x`;
      pass = ratio !== null && ratio <= r.target;
    } else if (r.absTarget !== undefined) {
      target = `<= ${r.absTarget.toFixed(2)} s`;
      pass = r.ours.seconds <= r.absTarget;
    } else if (r.rssTarget !== undefined) {
      target = `<= ${r.rssTarget} MB`;
      pass = r.ours.rssMB <= r.rssTarget;
    }
    if (!pass) missed++;
    const result = target === '' ? '-' : pass ? 'PASS' : 'MISS';
    lines.push(`| ${r.row} | ${f2(r.ours.seconds)} (${f2(r.ours.cpu)}) | ${r.refName} | ${r.ref ? `${f2(r.ref.seconds)} (${f2(r.ref.cpu)})` : '-'} | ${ratio === null ? '-' : ratio.toFixed(2)} | ${target} | ${r.ours.rssMB.toFixed(0)} MB | ${result} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
  return missed;
}

function printRss(rows) {
  const lines = ['| dump | command | peak RSS | seconds (cpu s) | exit | result |', '|---|---|---|---|---|---|'];
  let missed = 0;
  for (const r of rows) {
    const pass = r.ok && r.rssMB <= RSS_LIMIT_MB;
    if (!pass) missed++;
    lines.push(`| ${r.dump} | ${r.cmd} | ${r.rssMB.toFixed(0)} MB | ${r.seconds.toFixed(1)} (${r.cpu.toFixed(1)}) | ${r.status}${r.ok ? '' : ` (${r.err})`} | ${pass ? 'PASS' : 'MISS'} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
  return missed;
}

async function mainBench() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: build first (npm run build)');
  if (!existsSync('/usr/bin/time')) throw new Error('needs GNU time (/usr/bin/time) for CPU time and peak RSS');
  const d = ensureData(o.out);
  // Outputs of the measured commands go to a directory of this run's own (two runs may share bench/out).
  const scratch = join(o.scratch ?? o.out, `scratch-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  let missed = 0;
  const tools = ['codamergedump', 'codadump2tar'].map((t) => `${t}: ${which(t) ?? 'absent'}`).join(', ');
  process.stdout.write(`codadump speed benchmark (issue #17): node ${process.version}, ${(await import('node:os')).cpus().length} CPUs, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  process.stdout.write(`measuring ${CLI}\nC tools: ${tools}; warm page cache; medians of ${o.pairs} interleaved pairs; wall seconds (user+sys CPU seconds); MB = 10^6 bytes\n\n`);
  if (o.timing) missed += printTiming(timingRows(o, d, scratch));
  if (o.rss) missed += printRss(await rssRows(d, scratch, o));
  process.stdout.write(missed ? `${missed} target(s) MISSED\n` : 'all targets PASS\n');
  rmSync(scratch, { recursive: true, force: true });
  return missed ? 1 : 0;
}

mainBench().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`bench/speed: ${e instanceof Error ? e.message : e}\n`);
    process.exitCode = 2;
  },
);
