#!/usr/bin/env node
/**
 * Throughput of `redump -` from a pipe against `cat > FILE` from the same pipe.
 *
 *   npx tsc -p tsconfig.build.json && node bench/redump.mjs [sizeMiB] [runs]
 *
 * Generates a valid full dump of about sizeMiB (default 2048) of
 * pseudo-random file data in os.tmpdir() (once per run of this script, with
 * the library's synthetic dump generator, so nothing is sparse), then times,
 * `runs` times each, interleaved (default 5; median and best reported):
 *
 *   redump     cat FILE | node bin/codadump redump -o OUT -
 *   cat|cat    cat FILE | cat > OUT2           the target's reference: cat > FILE, fed the same way
 *   cat        cat FILE > OUT2                 no pipe: GNU cat copies inside the kernel
 *   cat+sync   cat FILE | cat > OUT2 && sync OUT2   (redump fsyncs its output; cat does not)
 *
 * and SHA-256 alone (node:crypto, one thread, in memory), which bounds what
 * any redump can do: every byte must be hashed once. Prints one line per
 * measurement and a summary with the ratios (target: redump >= 0.8 of
 * cat|cat, on the medians; the best run of each is compared too). Everything it creates is removed at the end (also on failure or
 * Ctrl-C).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { syntheticDump } = await import(join(ROOT, 'dist', 'redump', 'synthetic.js'));

const sizeMiB = Number(process.argv[2] ?? 2048);
const runs = Number(process.argv[3] ?? 5);
if (!Number.isFinite(sizeMiB) || sizeMiB < 1 || !Number.isInteger(runs) || runs < 1) {
  console.error('usage: node bench/redump.mjs [sizeMiB >= 1] [runs >= 1]');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'codadump-bench-'));
const cleanup = () => rmSync(dir, { recursive: true, force: true });
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

const src = join(dir, 'source.dump');
const out = join(dir, 'out.dump');
const out2 = join(dir, 'out2.dump');

// Files of at most 256 MiB of noise adding up to sizeMiB.
const MiB = 1 << 20;
const files = [];
for (let left = sizeMiB * MiB, i = 0; left > 0; i++) {
  const size = Math.min(left, 256 * MiB);
  files.push({ name: `f${String(i).padStart(3, '0')}.bin`, size, content: 'noise' });
  left -= size;
}

const t0 = performance.now();
const srcHash = createHash('sha256');
{
  const fd = openSync(src, 'w');
  const buf = Buffer.allocUnsafe(4 * MiB);
  let used = 0;
  const flush = () => {
    let off = 0;
    while (off < used) off += writeSync(fd, buf, off, used - off);
    used = 0;
  };
  for await (const it of syntheticDump({ files })) {
    srcHash.update(it.data);
    if (used + it.data.length > buf.length) flush();
    if (it.data.length > buf.length) writeSync(fd, it.data);
    else {
      it.data.copy(buf, used);
      used += it.data.length;
    }
  }
  flush();
  closeSync(fd);
}
const size = statSync(src).size;
const sha = srcHash.digest('hex');
spawnSync('sync');
console.log(`generated ${src}: ${size} bytes (${files.length} files of noise) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const BIN = join(ROOT, 'bin', 'codadump');
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const cases = {
  redump: `cat ${q(src)} | ${q(process.execPath)} ${q(BIN)} redump --json -o ${q(out)} -`,
  'cat|cat': `cat ${q(src)} | cat > ${q(out2)}`,
  cat: `cat ${q(src)} > ${q(out2)}`,
  'cat+sync': `cat ${q(src)} | cat > ${q(out2)} && sync ${q(out2)}`,
};

const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 1; r <= runs; r++) {
  for (const [name, cmd] of Object.entries(cases)) {
    rmSync(out, { force: true });
    rmSync(out2, { force: true });
    spawnSync('sync'); // earlier runs' dirty pages are not this run's work
    const t = performance.now();
    const p = spawnSync('/bin/sh', ['-c', cmd], { maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
    const s = (performance.now() - t) / 1000;
    if (p.status !== 0) {
      console.error(`${name}: exit status ${p.status}\n${p.stdout}`);
      process.exit(1);
    }
    let note = '';
    if (name === 'redump') {
      const j = JSON.parse(p.stdout.toString());
      if (!j.ok || j.sha256 !== sha || j.bytes !== size) {
        console.error(`redump: wrong result ${JSON.stringify({ ok: j.ok, bytes: j.bytes, sha256: j.sha256 })}`);
        process.exit(1);
      }
      note = `  (verdict ${j.verdict}, sha256 matches, ${j.chunks.chunks} chunks, ${j.directIo ? 'direct I/O' : 'buffered'}, ${j.inputPipe ? `pipe ${j.inputPipe.before >> 10}->${j.inputPipe.after >> 10} KiB` : 'pipe not enlarged'}, own timing ${j.mbPerSecond} MB/s)`;
    } else if (statSync(out2).size !== size) {
      console.error(`${name}: wrong size`);
      process.exit(1);
    }
    const mbps = size / 1e6 / s;
    results[name].push(mbps);
    console.log(`run ${r} ${name.padEnd(8)} ${s.toFixed(3).padStart(7)} s ${mbps.toFixed(1).padStart(8)} MB/s${note}`);
  }
}

const median = (a) => {
  const b = [...a].sort((x, y) => x - y);
  return b.length % 2 ? b[(b.length - 1) / 2] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
};
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
const best = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.max(...v)]));
for (const k of Object.keys(cases)) {
  console.log(`median ${k.padEnd(8)} ${m[k].toFixed(1).padStart(8)} MB/s   best ${best[k].toFixed(1).padStart(8)} MB/s`);
}
// SHA-256 alone, in memory on one thread: the ceiling for anything that hashes every byte once.
const shaMBps = (() => {
  const block = Buffer.alloc(4 * MiB, 0x5a);
  const h = createHash('sha256');
  const n = Math.max(64, Math.min(512, sizeMiB / 4));
  const t = performance.now();
  for (let i = 0; i < n; i++) h.update(block);
  h.digest();
  return (n * 4 * MiB) / 1e6 / ((performance.now() - t) / 1000);
})();
console.log(`SHA-256 alone      ${shaMBps.toFixed(1).padStart(8)} MB/s (node:crypto, one thread, in memory)`);
const ratio = m.redump / m['cat|cat'];
console.log(
  `ratio redump / cat|cat ${ratio.toFixed(2)} (median; target >= 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'}; ` +
    `best against best ${(best.redump / best['cat|cat']).toFixed(2)}); ` +
    `redump / cat+sync ${(m.redump / m['cat+sync']).toFixed(2)}; redump / cat (no pipe) ${(m.redump / m.cat).toFixed(2)}, ` +
    `of which SHA-256 alone allows at most ${Math.min(1, shaMBps / m.cat).toFixed(2)}`,
);
