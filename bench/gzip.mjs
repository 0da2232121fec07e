#!/usr/bin/env node
/**
 * gzip'd dump verify benchmark (issue #13). Run after a build:
 *
 *   node bench/gzip.mjs [--dir D] [--keep] [--reuse] [--scale F] [--repeat N]
 *
 * Generates a ~2 GB dump of ~300,000 small files (bench/lib/gen-dumps.mjs,
 * `writeSmallDump`; --scale F multiplies the file count), compresses it with
 * `gzip -1` (file data there is pseudo-random: gzip stores most of it; the
 * records compress), and measures in the same run, warm:
 *
 *   gzip -dc FILE.gz > /dev/null               the reference: inflate alone
 *   codadump verify --jobs 1 FILE.gz           inflate (zlib on the thread pool) + CRC-32 + parse
 *
 * with codadump's peak RSS (GNU time when it works). Targets: verify at
 * least 1x gzip -dc, peak RSS under 150 MB. Exit status 0 when both are
 * met, 1 when one is missed, 2 on error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSmallDump } from './lib/gen-dumps.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'codadump');
const MB = 1e6;
const RSS_LIMIT_MB = 150;

const o = { dir: undefined, keep: false, reuse: false, scale: 1, repeat: 2 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--dir') o.dir = argv[++i];
  else if (a === '--keep') o.keep = true;
  else if (a === '--reuse') o.reuse = o.keep = true;
  else if (a === '--scale') o.scale = Number(argv[++i]);
  else if (a === '--repeat') o.repeat = Math.max(1, Number(argv[++i]));
  else {
    process.stderr.write(`bench/gzip.mjs: unknown argument ${a}\n`);
    process.exit(2);
  }
}

function run(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) throw r.error;
  return { seconds, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const useTime = existsSync('/usr/bin/time') && run('/usr/bin/time', ['-f', '%M', 'true']).status === 0;

function codadump(args, scratch) {
  if (useTime) {
    const out = join(scratch, 'time.out');
    const r = run('/usr/bin/time', ['-f', '%M', '-o', out, process.execPath, CLI, ...args]);
    const kb = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
    unlinkSync(out);
    return { ...r, rssMB: (kb * 1024) / MB };
  }
  const code = `import { main } from ${JSON.stringify(join(ROOT, 'dist', 'cli', 'main.js'))};` +
    `const c = await main(${JSON.stringify(args)}); process.stderr.write('\\nmaxrss ' + process.resourceUsage().maxRSS + '\\n'); process.exitCode = c;`;
  const r = run(process.execPath, ['--input-type=module', '-e', code]);
  const m = /maxrss (\d+)\s*$/.exec(r.stderr);
  return { ...r, rssMB: m ? (Number(m[1]) * 1024) / MB : NaN };
}

const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'codadump-bench-gzip-'));
const dump = join(dir, 'bench-gzip.dump');
const gz = dump + '.gz';
try {
  if (!(o.reuse && existsSync(gz))) {
    process.stderr.write(`generating ${dump} ...\n`);
    writeSmallDump(dump, { files: Math.round(300_000 * o.scale) });
    process.stderr.write(`gzip -1 ...\n`);
    const z = run('/bin/sh', ['-c', `gzip -1 -c '${dump}' > '${gz}'`]);
    if (z.status !== 0) throw new Error(`gzip failed: ${z.stderr}`);
    unlinkSync(dump);
  }
  const gzSize = statSync(gz).size;
  // Warm the page cache once.
  run('/bin/sh', ['-c', `cat '${gz}' > /dev/null`]);
  let ref, cd;
  for (let i = 0; i < o.repeat; i++) {
    const r = run('/bin/sh', ['-c', `gzip -dc '${gz}' > /dev/null`]);
    if (r.status !== 0) throw new Error(`gzip -dc failed: ${r.stderr}`);
    if (!ref || r.seconds < ref.seconds) ref = r;
    const c = codadump(['verify', '--jobs', '1', gz], dir);
    if (c.status !== 0) throw new Error(`codadump verify exit ${c.status}: ${c.stdout}${c.stderr}`);
    if (!cd || c.seconds < cd.seconds) cd = { ...c, rssMB: Math.max(c.rssMB, cd?.rssMB ?? 0) };
    else cd.rssMB = Math.max(cd.rssMB, c.rssMB);
  }
  const decoded = Number(/ (\d+) bytes \(gzip/.exec(cd.stdout)?.[1] ?? NaN);
  const ratio = ref.seconds / cd.seconds;
  const lines = [
    `node ${process.version}; ${(decoded / MB).toFixed(0)} MB dump, ${(gzSize / MB).toFixed(0)} MB gzip -1; warm cache; fastest of ${o.repeat}; MB = 10^6 bytes`,
    `gzip -dc > /dev/null          ${ref.seconds.toFixed(2)} s  ${(decoded / MB / ref.seconds).toFixed(0)} MB/s (decoded)`,
    `codadump verify --jobs 1      ${cd.seconds.toFixed(2)} s  ${(decoded / MB / cd.seconds).toFixed(0)} MB/s (decoded)  peak RSS ${cd.rssMB.toFixed(0)} MB`,
    `ratio ${ratio.toFixed(2)}x gzip -dc (target >= 1x): ${ratio >= 1 ? 'met' : 'MISSED'}; peak RSS < ${RSS_LIMIT_MB} MB: ${cd.rssMB < RSS_LIMIT_MB ? 'met' : 'MISSED'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.exitCode = ratio >= 1 && cd.rssMB < RSS_LIMIT_MB ? 0 : 1;
} catch (e) {
  process.stderr.write(`bench/gzip.mjs: ${e.message}\n`);
  process.exitCode = 2;
} finally {
  if (!o.keep) rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`kept ${dir}\n`);
}
