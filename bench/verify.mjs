#!/usr/bin/env node
/**
 * Verify throughput benchmark (issue #3). Run after a build:
 *
 *   node bench/verify.mjs [--dir D] [--keep] [--reuse] [--warm] [--repeat N] [--scale F] [--only big|small]
 *
 * Generates two dumps in os.tmpdir() (or D):
 *   big:   ~4 GiB, four files of ~1 GiB (each a repeated 1 MiB pseudo-random block)
 *   small: ~2 GiB, 300,000 files of ~7 KiB in ~3,000 directories
 * and for each one measures, as child processes:
 *   codadump verify --jobs 1 FILE         against  dd if=FILE of=/dev/null bs=1M
 *   codadump verify --deep --jobs 1 FILE  against  sha256sum FILE
 * with the peak RSS of every codadump run. The page cache is dropped before
 * every measurement when possible (root), otherwise every run is warm.
 *
 *   --dir D    where to write the dumps (default: a new directory in os.tmpdir())
 *   --keep     leave the dumps in place (the path is printed)
 *   --reuse    use bench-big.dump / bench-small.dump already in --dir instead of generating
 *   --warm     do not drop the page cache; warm it with dd and measure warm
 *   --repeat N run every measurement N times and keep the fastest (default 3: cold
 *              reads on a shared machine vary twofold); peak RSS is the highest of the N
 *   --scale F  multiply the dump sizes by F (quick trial runs; targets still apply)
 *   --only X   run only the big or only the small dump
 *
 * Exit status: 0 when every target is met, 1 when one is missed, 2 on error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBigDump, writeSmallDump } from './lib/gen-dumps.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'codadump');
const RSS_LIMIT_MB = 150;

function parseArgs(argv) {
  const o = { dir: undefined, keep: false, reuse: false, warm: false, repeat: 3, scale: 1, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--dir') o.dir = value();
    else if (a === '--keep') o.keep = true;
    else if (a === '--reuse') o.reuse = true;
    else if (a === '--warm') o.warm = true;
    else if (a === '--scale') o.scale = Number(value());
    else if (a === '--repeat') o.repeat = Number(value());
    else if (a === '--only') o.only = value();
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\*\n/, '').replace(/^ \* ?/gm, ''));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.scale > 0)) throw new Error('--scale must be a positive number');
  if (!Number.isInteger(o.repeat) || o.repeat < 1) throw new Error('--repeat must be a whole number >= 1');
  if (o.only !== undefined && o.only !== 'big' && o.only !== 'small') throw new Error('--only takes big or small');
  if (o.reuse && !o.dir) throw new Error('--reuse needs --dir');
  return o;
}

const MB = 1e6;
const fmtMB = (bytes) => `${(bytes / MB).toFixed(0)} MB`;
const fmtRate = (r) => (r >= 100 ? r.toFixed(0) : r.toFixed(1));

/** True when this process may drop the page cache. */
function canDropCaches() {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

function dropCaches() {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/** How peak RSS is measured: GNU time if it works, else an in-process wrapper around main(). */
function rssMethod() {
  if (existsSync('/usr/bin/time')) {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' });
    if (r.status === 0 && /^\d+\s*$/m.test(r.stderr)) return 'time';
  }
  return 'wrapper';
}

/** Run a command, returning wall seconds, exit status, output. */
function run(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) throw r.error;
  return { seconds, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run codadump with `args`; adds its peak RSS in MB (10^6 bytes). */
function runCodadump(args, method, scratch) {
  if (method === 'time') {
    const out = join(scratch, 'time.out');
    const r = run('/usr/bin/time', ['-f', '%M', '-o', out, process.execPath, CLI, ...args]);
    const kb = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
    unlinkSync(out);
    return { ...r, rssMB: (kb * 1024) / MB };
  }
  const code =
    `import { main } from ${JSON.stringify(join(ROOT, 'dist', 'cli', 'main.js'))};` +
    `const c = await main(${JSON.stringify(args)});` +
    `process.stderr.write('\\nmaxrss ' + process.resourceUsage().maxRSS + '\\n'); process.exitCode = c;`;
  const r = run(process.execPath, ['--input-type=module', '-e', code]);
  const m = /maxrss (\d+)\s*$/.exec(r.stderr);
  return { ...r, stderr: r.stderr.replace(/\nmaxrss \d+\s*$/, ''), rssMB: m ? (Number(m[1]) * 1024) / MB : NaN };
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

/** The fastest of `times` runs of `once` (each after `prepare`); rssMB is the highest seen. */
function best(times, prepare, once) {
  let out;
  for (let i = 0; i < times; i++) {
    prepare();
    const r = once();
    if (!out || r.seconds < out.seconds) out = { ...r, rssMB: Math.max(r.rssMB ?? 0, out?.rssMB ?? 0) };
    else out.rssMB = Math.max(out.rssMB ?? 0, r.rssMB ?? 0);
  }
  return out;
}

function measure(name, path, o, env) {
  const size = statSync(path).size;
  const prepare = () => (env.cold ? dropCaches() : undefined);
  const rows = [];

  const dd = best(o.repeat, prepare, () => {
    const r = run('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M']);
    check(r.status === 0, `dd failed: ${r.stderr}`);
    return r;
  });

  const v = best(o.repeat, prepare, () => {
    const r = runCodadump(['verify', '--jobs', '1', path], env.rss, env.scratch);
    check(r.status === 0 && /^ok\b/m.test(r.stdout), `verify of ${name} did not say ok (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    return r;
  });

  const sum = best(o.repeat, prepare, () => {
    const r = run('sha256sum', [path]);
    check(r.status === 0, `sha256sum failed: ${r.stderr}`);
    return r;
  });
  const want = sum.stdout.split(/\s+/)[0];

  const d = best(o.repeat, prepare, () => {
    const r = runCodadump(['verify', '--deep', '--jobs', '1', path], env.rss, env.scratch);
    check(r.status === 0 && /^ok\b/m.test(r.stdout), `verify --deep of ${name} did not say ok (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    const got = /sha256 ([0-9a-f]{64})/.exec(r.stdout)?.[1];
    check(got === want, `verify --deep of ${name} printed sha256 ${got}, sha256sum says ${want}`);
    return r;
  });

  const rate = (s) => size / MB / s;
  const verifyTarget = name === 'big' ? 1 : 0.5;
  rows.push({
    dump: name, size, what: 'verify', secs: v.seconds, rate: rate(v.seconds), ref: 'dd bs=1M', refSecs: dd.seconds,
    refRate: rate(dd.seconds), target: verifyTarget, rssMB: v.rssMB,
  });
  rows.push({
    dump: name, size, what: 'verify --deep', secs: d.seconds, rate: rate(d.seconds), ref: 'sha256sum', refSecs: sum.seconds,
    refRate: rate(sum.seconds), target: 0.8, rssMB: d.rssMB,
  });
  return rows;
}

function pad(s, n, right = false) {
  s = String(s);
  return right ? s.padStart(n) : s.padEnd(n);
}

function printTable(rows, env) {
  const head = ['dump', 'size', 'codadump', 'secs', 'MB/s', 'reference', 'secs', 'MB/s', 'ratio', 'target', 'speed', 'peak RSS', 'RSS'];
  const w = [6, 8, 14, 7, 7, 10, 7, 7, 6, 7, 5, 9, 4];
  const right = [false, true, false, true, true, false, true, true, true, true, false, true, false];
  const line = (cells) => cells.map((c, i) => pad(c, w[i], right[i])).join('  ');
  const out = [];
  out.push(`codadump verify benchmark: ${env.cold ? 'cold cache (page cache dropped before every run)' : 'warm cache (files read once with dd before measuring)'}`);
  out.push(`node ${process.version}, peak RSS via ${env.rss === 'time' ? '/usr/bin/time -f %M' : 'process.resourceUsage().maxRSS'}, MB = 10^6 bytes` +
    (env.repeat > 1 ? `; fastest of ${env.repeat} runs each (RSS: highest of them)` : ''));
  out.push('');
  out.push(line(head));
  out.push(line(w.map((n) => '-'.repeat(n))));
  let missed = 0;
  for (const r of rows) {
    const ratio = r.rate / r.refRate;
    const speedOk = ratio >= r.target;
    const rssOk = r.rssMB < RSS_LIMIT_MB;
    if (!speedOk) missed++;
    if (!rssOk) missed++;
    out.push(line([
      r.dump, fmtMB(r.size), r.what, r.secs.toFixed(2), fmtRate(r.rate), r.ref, r.refSecs.toFixed(2), fmtRate(r.refRate),
      ratio.toFixed(2), `>=${r.target}`, speedOk ? 'PASS' : 'MISS', `${r.rssMB.toFixed(0)} MB`, rssOk ? 'PASS' : 'MISS',
    ]));
  }
  out.push('');
  out.push(`targets: big verify >= 1x dd; small verify >= 0.5x dd; verify --deep >= 0.8x sha256sum; peak RSS < ${RSS_LIMIT_MB} MB`);
  out.push(missed ? `${missed} target(s) MISSED` : 'all targets PASS');
  process.stdout.write(`${out.join('\n')}\n`);
  return missed;
}

async function mainBench() {
  const o = parseArgs(process.argv.slice(2));
  check(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/ is missing: build first (npx tsc -p tsconfig.build.json)');
  const made = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'codadump-bench-'));
  const created = [];
  const env = { cold: !o.warm && canDropCaches(), rss: rssMethod(), scratch: dir, repeat: o.repeat };
  const dumps = [
    ['big', join(dir, 'bench-big.dump'), (p) => writeBigDump(p, { count: 4, fileSize: Math.round((1 << 30) * o.scale) })],
    ['small', join(dir, 'bench-small.dump'), (p) => writeSmallDump(p, { files: Math.max(1, Math.round(300_000 * o.scale)) })],
  ].filter(([n]) => !o.only || o.only === n);
  let missed = 0;
  try {
    for (const [name, path, gen] of dumps) {
      if (o.reuse && existsSync(path)) {
        process.stderr.write(`using existing ${path} (${fmtMB(statSync(path).size)})\n`);
        continue;
      }
      const t0 = Date.now();
      process.stderr.write(`generating ${name} dump ${path} ... `);
      created.push(path);
      const bytes = gen(path);
      process.stderr.write(`${fmtMB(bytes)} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    if (!env.cold) {
      process.stderr.write('cannot drop the page cache: measuring warm (warming with dd)\n');
      for (const [, path] of dumps) run('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M']);
    }
    const rows = [];
    for (const [name, path] of dumps) {
      process.stderr.write(`measuring ${name} ...\n`);
      rows.push(...measure(name, path, o, env));
    }
    missed = printTable(rows, env);
  } finally {
    if (o.keep) {
      process.stderr.write(`kept: ${dumps.map(([, p]) => p).join(' ')}\n`);
    } else {
      for (const p of created) rmSync(p, { force: true });
      if (made) {
        try {
          rmdirSync(dir);
        } catch {
          /* not empty: leave it */
        }
      }
    }
  }
  return missed ? 1 : 0;
}

mainBench().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`bench/verify: ${e instanceof Error ? e.message : e}\n`);
    process.exitCode = 2;
  },
);
