#!/usr/bin/env node
/**
 * The archive page at scale (issue #16). Run after a build:
 *
 *   node bench/html.mjs [--volumes N] [--days D] [--keep]
 *
 * Writes a synthetic archive of N volumes × D run dates (default 338 × 30 =
 * 10,140 files, a few of them damaged, about 1% missing: over 10,000 dumps; scripts/lib/pages.mjs) in
 * os.tmpdir(), then measures:
 *   - in process: verifyArchive, then archiveHtml on its result and the
 *     atomic write of the page (the cost of --html over the verify);
 *   - as child processes: `codadump verify DIR` and `codadump verify DIR --html F`.
 * Prints the numbers; no targets are asserted (the target: the page costs
 * under 2 s over the verify itself).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyArchive } from '../dist/check/archive.js';
import { archiveHtml } from '../dist/report/html.js';
import { AtomicOutput } from '../dist/io/atomic-output.js';
import { makeArchive } from '../scripts/lib/pages.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const volumes = arg('--volumes', 338);
const days = arg('--days', 30);
const keep = process.argv.includes('--keep');
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

const tmp = mkdtempSync(join(tmpdir(), 'codadump-bench-html-'));
try {
  let t0 = process.hrtime.bigint();
  const dir = await makeArchive(tmp, volumes, days);
  console.log(`archive: ${volumes} volumes × ${days} run dates in ${dir} (${ms(t0).toFixed(0)} ms to write)`);

  t0 = process.hrtime.bigint();
  const report = await verifyArchive([dir], { jobs: 2 });
  const tVerify = ms(t0);
  // The render, three times: wall clock and CPU time (the CPU time says more on a loaded machine).
  let html = '';
  const renders = [];
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    html = archiveHtml(report, { subtitle: dir, generated: new Date().toISOString() });
    const wall = ms(t0);
    const c = process.cpuUsage(c0);
    renders.push(`${wall.toFixed(0)} ms (cpu ${((c.user + c.system) / 1000).toFixed(0)} ms)`);
  }
  const tRender = renders.join(', ');
  t0 = process.hrtime.bigint();
  const page = join(tmp, 'page.html');
  const out = new AtomicOutput(page);
  out.write(Buffer.from(html));
  out.commit();
  const tWrite = ms(t0);
  console.log(`in process: verify ${report.summary.dumps} dumps ${tVerify.toFixed(0)} ms; archiveHtml ${tRender}; atomic write ${tWrite.toFixed(0)} ms; page ${(statSync(page).size / 1048576).toFixed(2)} MiB`);
  console.log(`verdicts: ${JSON.stringify(report.summary.byVerdict)}`);

  const cli = (args) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'codadump'), ...args], { stdio: 'ignore' });
    if (r.status !== 0 && r.status !== 1) throw new Error(`codadump ${args.join(' ')}: exit ${r.status}`);
    return ms(t);
  };
  const plain = cli(['verify', '--jobs', '2', dir]);
  const withPage = cli(['verify', '--jobs', '2', dir, '--html', join(tmp, 'cli.html')]);
  console.log(`codadump verify: ${plain.toFixed(0)} ms; with --html: ${withPage.toFixed(0)} ms (difference ${(withPage - plain).toFixed(0)} ms)`);
} finally {
  if (keep) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
