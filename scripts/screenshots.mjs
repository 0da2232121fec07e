#!/usr/bin/env node
/**
 * Make the README's screenshots of the HTML pages (run `npm run build` first):
 *
 *   node scripts/screenshots.mjs [--out docs/img]
 *
 *   verify-archive.png   verify --html of the bundled sample archive (fixtures/archive),
 *                        a damaged cell clicked
 *   verify-50x30.png     a synthetic archive of 50 volumes × 30 run dates, 1280×800
 *   diagnose-a1.png      diagnose --html of a dump wrapped by receiver A with
 *                        --wrap-bits 20 (model A1)
 *   diagnose-a1.svg      the same map from diagnose --svg
 *
 * Uses the system's Chromium (/usr/bin/chromium, or $CHROMIUM) through
 * playwright-core, headless, with a fresh profile and no network.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { makeArchive, makeWrappedDump } from './lib/pages.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'codadump');
const argOut = process.argv.indexOf('--out');
const OUT = resolve(argOut > 0 ? process.argv[argOut + 1] : join(ROOT, 'docs', 'img'));

function cli(args, cwd = ROOT) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0 && r.status !== 1) throw new Error(`codadump ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
}

const tmp = mkdtempSync(join(tmpdir(), 'codadump-shots-'));
try {
  mkdirSync(OUT, { recursive: true });
  const archiveHtml = join(tmp, 'archive.html');
  cli(['verify', '--log', 'fixtures/archive/backup.log', 'fixtures/archive', '--html', archiveHtml]);
  // Relative paths, run where the files are: the pages show short names.
  await makeWrappedDump(tmp);
  const wrapHtml = join(tmp, 'wrapped.html');
  const wrapSvg = join(tmp, 'wrapped.svg');
  cli(['diagnose', '--wrap-bits', '20', 'wrapped-A1.dump', '--html', wrapHtml, '--svg', wrapSvg], tmp);
  await makeArchive(join(tmp, 'big'), 50, 30);
  const bigHtml = join(tmp, 'big.html');
  cli(['verify', 'backup', '--html', bigHtml], join(tmp, 'big'));

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const shot = async (file, name, prepare) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.on('pageerror', (e) => console.error(`${name}: ${e.message}`));
      await page.goto(pathToFileURL(file).href);
      if (prepare) await prepare(page);
      await page.screenshot({ path: join(OUT, name) });
      await page.close();
      console.log(join(OUT, name));
    };
    await shot(archiveHtml, 'verify-archive.png', (p) => p.click('td[data-verdict="truncated"]'));
    await shot(bigHtml, 'verify-50x30.png', (p) => p.click('tbody tr:nth-child(3) td[data-verdict="corrupt"]'));
    await shot(wrapHtml, 'diagnose-a1.png');
  } finally {
    await browser.close();
  }
  copyFileSync(wrapSvg, join(OUT, 'diagnose-a1.svg'));
  console.log(join(OUT, 'diagnose-a1.svg'));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
