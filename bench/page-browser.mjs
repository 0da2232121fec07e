#!/usr/bin/env node
/**
 * The archive page with many volumes in headless Chromium (issue #16). Run
 * after a build; needs /usr/bin/chromium (or $CHROMIUM):
 *
 *   node bench/page-browser.mjs [--volumes N] [--days D]
 *
 * Makes verify's result for N volumes × D run dates in memory (default
 * 1,000 × 30; full dumps weekly, incrementals between, one dump in 37
 * truncated), renders the page, and times in the browser: loading it,
 * filtering (type, Enter), sorting, clearing the filter and clicking a cell.
 * Prints the numbers; asserts nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { archiveHtml } from '../dist/report/html.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const volumes = arg('--volumes', 1000);
const days = arg('--days', 30);

const dumps = [];
for (let v = 0; v < volumes; v++) {
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.UTC(2025, 10, 1 + d)).toISOString().slice(0, 10);
    const bad = (v * 31 + d * 7) % 37 === 0;
    const id = 0x7f000101 + v * 256;
    dumps.push({
      path: `/backup/${day}/${id.toString(16)}.u.vol${v}`, verdict: bad ? 'truncated' : 'ok', size: 6000, streamLength: bad ? null : 6000, bytesChecked: 6000,
      problems: bad ? [{ code: 'TRUNCATED', severity: 'error', offset: 5800, message: 'input ends inside the file data of vnode 6.8' }] : [], suppressed: {},
      header: { volumeId: id + 1, parentId: id, name: `u.vol${v}.backup`, incremental: d % 7 ? 1 : 0, backupDate: 1764000000 + d * 86400 },
      counts: { directories: 2, files: 2, removed: 0 },
    });
  }
}
const view = { dumps, missing: [], summary: { dumps: dumps.length, ok: 0, damaged: 0, byVerdict: {}, skippedFiles: 0, missing: 0, bytesChecked: 0, seconds: 0 } };
const ms = (t) => `${(performance.now() - t).toFixed(0)} ms`;
let t = performance.now();
const html = archiveHtml(view);
console.log(`render ${dumps.length} dumps (${volumes} volumes × ${days} days): ${ms(t)}, ${(html.length / 1048576).toFixed(1)} MiB`);
const dir = mkdtempSync(join(tmpdir(), 'codadump-bench-page-'));
try {
  const file = join(dir, 'page.html');
  writeFileSync(file, html);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    t = performance.now();
    await page.goto(pathToFileURL(file).href);
    console.log(`load: ${ms(t)}`);
    t = performance.now();
    await page.fill('#filter', 'vol99');
    await page.press('#filter', 'Enter');
    console.log(`filter to ${await page.locator('#shown').textContent()}: ${ms(t)}`);
    t = performance.now();
    await page.selectOption('#sort', 'damaged');
    console.log(`sort: ${ms(t)}`);
    t = performance.now();
    await page.fill('#filter', '');
    await page.press('#filter', 'Enter');
    console.log(`clear the filter: ${ms(t)}`);
    t = performance.now();
    await page.click('#grid tbody tr:nth-child(1) td.c');
    await page.locator('#detail h2').waitFor();
    console.log(`click a cell: ${ms(t)}`);
  } finally {
    await browser.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
