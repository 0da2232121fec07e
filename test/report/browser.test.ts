/**
 * The pages in a real browser (headless Chromium): verify --html of the
 * page tests' archive (fixtures/pages/archive, see its README), of the
 * bundled sample archive (fixtures/archive: the page agrees with --json),
 * and diagnose --html/--svg of a dump wrapped with W = 2^20 (model A1).
 * No console errors, no request other than the page, the grid's cells and
 * colours as the fixture's README describes it, a click shows the cell's
 * problems with their byte offsets, the map shows the seam where s = F - W
 * puts it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ROOT, run, tempDir } from '../helpers.js';
import { verifyArchive } from '../../src/check/archive.js';
import { archiveHtml } from '../../src/report/html.js';
import type { ArchiveView } from '../../src/report/grid.js';
import { W20, buildWrapFixtures, type WrapFixtures } from '../diagnose/fixtures.js';
import { launchBrowser, openFile } from './browser.js';

let browser: Browser;
let t: { dir: string; cleanup: () => void };
let fx: WrapFixtures;
let archivePage: string;

beforeAll(async () => {
  t = tempDir('codadump-browser-');
  [browser, fx] = await Promise.all([launchBrowser(), buildWrapFixtures(t.dir)]);
  archivePage = join(t.dir, 'archive.html');
  const r = run(['verify', '--log', 'fixtures/pages/archive/backup.log', 'fixtures/pages/archive', '--html', archivePage]);
  expect(r.code).toBe(1);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  t.cleanup();
});

// The cell colours, by verdict (what the legend shows).
const RGB = {
  ok: 'rgb(46, 157, 79)',
  'trailing-data': 'rgb(227, 176, 8)',
  truncated: 'rgb(232, 89, 12)',
  corrupt: 'rgb(201, 42, 42)',
  missing: 'rgb(255, 255, 255)',
  empty: 'rgb(255, 255, 255)',
} as const;

describe('verify --html in the browser', () => {
  it('renders with no console errors and no requests', async () => {
    const { page, errors, requests } = await openFile(browser, archivePage);
    expect(await page.title()).toBe('codadump: archive health');
    expect(await page.locator('#grid tbody tr').count()).toBe(3);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('has the right cells and colours for the sample archive', async () => {
    const { page } = await openFile(browser, archivePage);
    const rows = await page.$$eval('#grid tbody tr', (trs) =>
      trs.map((tr) => ({
        volume: tr.getAttribute('data-vol'),
        label: tr.querySelector('th')!.textContent,
        cells: Array.from(tr.querySelectorAll('td')).map((td) => [td.getAttribute('data-verdict') ?? 'empty', td.textContent, getComputedStyle(td).backgroundColor]),
      })),
    );
    const cell = (v: keyof typeof RGB, mark: string) => [v, mark, RGB[v]];
    const none = cell('empty', '');
    expect(rows).toEqual([
      { volume: '7f000301', label: '7f000301s.shared1✗', cells: [none, none, cell('missing', '-')] },
      { volume: '7f000201', label: '7f000201p.venus2✗', cells: [cell('ok', 'F'), cell('trailing-data', 'F'), cell('corrupt', 'F')] },
      { volume: '7f000101', label: '7f000101u.alice2✗', cells: [cell('ok', 'F'), cell('truncated', 'F'), cell('corrupt', 'F')] },
    ]);
    expect(await page.$$eval('#grid thead th.d', (ths) => ths.map((th) => th.textContent))).toEqual(['2025-11-24', '2025-11-25', '2025-11-26']);
    expect(await page.locator('#norest').textContent()).toContain('1 volume with no restorable point');
    expect(await page.locator('#t-dumps b').textContent()).toBe('6');
    await page.close();
  });

  it('clicking a cell shows its dumps, their problems with byte offsets, and the chain', async () => {
    const { page, errors } = await openFile(browser, archivePage);
    expect(await page.locator('#detail').isVisible()).toBe(false);
    await page.click('tr[data-vol="7f000101"] td[data-c="1"]');
    const detail = page.locator('#detail');
    expect(await detail.isVisible()).toBe(true);
    expect(await detail.locator('h2').textContent()).toBe('7f000101 u.alice · 2025-11-25');
    expect(await detail.locator('.path').textContent()).toBe('fixtures/pages/archive/2025-11-25/7f000101.u.alice');
    // make-archive.mjs cut this dump to 14,793 bytes; the log says 59,985.
    const problems = await detail.locator('table.problems tr').evaluateAll((trs) => trs.slice(1).map((tr) => Array.from(tr.querySelectorAll('td')).slice(0, 3).map((td) => td.textContent)));
    expect(problems).toEqual([
      ['error', 'TRUNCATED', '14\u2009793'],
      ['error', 'LOG_SIZE_MISMATCH', '14\u2009793'],
    ]);
    const chain = await detail.locator('table.chain tr').evaluateAll((trs) => trs.slice(1).map((tr) => tr.textContent));
    // The chain panel shows verify's restore points of the volume (#12): each day a full dump; this one, damaged, restores nothing.
    expect(chain).toEqual([
      '2025-11-24fullyes',
      '2025-11-25fullnoits full dump fixtures/pages/archive/2025-11-25/7f000101.u.alice is truncated',
      '2025-11-26fullnoits full dump fixtures/pages/archive/2025-11-26/7f000101.u.alice is corrupt',
    ]);
    // The missing dump's cell names the log line.
    await page.click('tr[data-vol="7f000301"] td[data-c="2"]');
    expect(await detail.textContent()).toContain('named by fixtures/pages/archive/backup.log:13');
    await page.click('#detail .close');
    expect(await detail.isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters and sorts', async () => {
    const { page } = await openFile(browser, archivePage);
    const visible = () => page.$$eval('#grid tbody tr', (trs) => trs.filter((tr) => !(tr as HTMLElement).hidden).map((tr) => tr.getAttribute('data-vol')));
    await page.fill('#filter', 'venus');
    await page.press('#filter', 'Enter'); // typing filters after a pause; Enter at once
    expect(await visible()).toEqual(['7f000201']);
    await page.fill('#filter', '7F000');
    await page.press('#filter', 'Enter'); // typing filters after a pause; Enter at once
    expect(await visible()).toEqual(['7f000301', '7f000201', '7f000101']);
    await page.fill('#filter', 'alice');
    await page.press('#filter', 'Enter'); // typing filters after a pause; Enter at once
    expect(await visible()).toEqual(['7f000101']);
    await page.fill('#filter', '');
    await page.press('#filter', 'Enter'); // typing filters after a pause; Enter at once
    await page.check('#onlybad');
    expect(await visible()).toEqual(['7f000301', '7f000201', '7f000101']);
    await page.uncheck('#onlybad');
    await page.selectOption('#sort', 'volume');
    expect(await visible()).toEqual(['7f000101', '7f000201', '7f000301']);
    await page.selectOption('#sort', 'damaged');
    expect(await visible()).toEqual(['7f000201', '7f000101', '7f000301']);
    await page.selectOption('#sort', 'name');
    expect(await visible()).toEqual(['7f000201', '7f000301', '7f000101']);
    expect(await page.locator('#shown').textContent()).toBe('3 of 3 volumes');
    // Typing alone filters once the typing pauses.
    await page.fill('#filter', 'venus');
    await page.waitForFunction(() => document.getElementById('shown')!.textContent === '1 of 3 volumes');
    expect(await visible()).toEqual(['7f000201']);
    await page.close();
  });
});

describe('restore chains from verify, and hostile names', () => {
  it('the chain panel shows each replica\'s points, the clicked day marked; names stay text', async () => {
    const view: ArchiveView = await verifyArchive([join(ROOT, 'fixtures', 'pages', 'archive')], { jobs: 2 });
    const hostile = '<img src=x onerror="document.title=1">';
    view.dumps[0].header!.name = hostile;
    view.volumes = [{
      volume: '7f000101', name: 'u.alice',
      replicas: [
        { replica: '01000102', server: 'srv1', points: [{ date: '2025-11-24', full: 'srv1-a', restorable: true }, { date: '2025-11-25', full: 'srv1-b', restorable: false, reason: 'TRUNCATED' }] },
        { replica: '01000103', server: 'srv2', points: [{ date: '2025-11-25', full: 'srv2-a', incremental: 'srv2-b', restorable: true }] },
      ],
    }];
    const file = join(t.dir, 'chains.html');
    fs.writeFileSync(file, archiveHtml(view));
    const { page, errors, requests } = await openFile(browser, file);
    await page.click('tr[data-vol="7f000101"] td[data-c="1"]');
    const rows = await page.locator('#detail table.chain tr').evaluateAll((trs) => trs.map((tr) => [tr.className, tr.textContent]));
    expect(rows).toEqual([
      ['', 'datekindrestorablereason'], ['', '2025-11-24fullyes'], ['cur', '2025-11-25fullnoTRUNCATED'],
      ['', 'datekindrestorablereason'], ['cur', '2025-11-25full + incrementalyes'],
    ]);
    await page.click('tr[data-vol="7f000101"] td[data-c="0"]');
    expect(await page.locator('#detail').textContent()).toContain(hostile);
    expect(await page.title()).toBe('codadump: archive health');
    expect(await page.locator('img').count()).toBe(0);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});

describe('verify --html of the bundled sample archive', () => {
  it('agrees with verify --json: every dump in one cell, each cell the worst of its dumps', async () => {
    const args = ['verify', '--relocate', '/backup=fixtures/archive', '--log', 'fixtures/archive/backuplogs', 'fixtures/archive'];
    const json = JSON.parse(run([...args, '--json']).stdout) as { dumps: { path: string; verdict: string }[]; missing: { path: string }[] };
    const file = join(t.dir, 'sample.html');
    run([...args, '--html', file]);
    const { page, errors, requests } = await openFile(browser, file);
    const cells = await page.$$eval('#grid td.c', (tds) => {
      const data = JSON.parse(document.getElementById('data')!.textContent!) as { dumps: { p: string }[]; missing: { p: string }[] };
      const ids = (s: string | null) => (s ? s.split(',').map(Number) : []);
      return tds.map((td) => ({
        verdict: td.getAttribute('data-verdict'),
        dumps: ids(td.getAttribute('data-d')).map((i) => data.dumps[i].p),
        missing: ids(td.getAttribute('data-m')).map((i) => data.missing[i].p),
      }));
    });
    const rank = ['ok', 'trailing-data', 'truncated', 'corrupt', 'wraparound', 'not-a-dump', 'missing'];
    const verdictOf = new Map(json.dumps.map((d) => [d.path, d.verdict]));
    expect(cells.flatMap((c) => c.dumps).sort()).toEqual(json.dumps.map((d) => d.path).sort());
    expect(cells.flatMap((c) => c.missing).sort()).toEqual(json.missing.map((m) => m.path).sort());
    for (const c of cells) {
      const worst = c.dumps.length ? c.dumps.map((p) => verdictOf.get(p)!).sort((a, b) => rank.indexOf(b) - rank.indexOf(a))[0] : 'missing';
      expect(c.verdict).toBe(worst);
    }
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});

describe('diagnose --html and --svg in the browser', () => {
  it('shows the seam of a --wrap-bits 20 wrapped dump, to scale', async () => {
    const html = join(t.dir, 'a1.html');
    const svg = join(t.dir, 'a1.svg');
    const r = run(['diagnose', '--wrap-bits', '20', fx.a1.damaged, '--html', html, '--svg', svg]);
    expect(r.code).toBe(1);
    const F = fs.statSync(fx.a1.damaged).size;
    const s = F - W20;
    const e = fx.a1.L - W20;
    for (const file of [html, svg]) {
      const { page, errors, requests } = await openFile(browser, file);
      const seam = await page.$$eval('#band-file g.mark[data-kind="seam"]', (gs) => gs.map((g) => Number(g.getAttribute('data-at'))));
      expect(seam).toEqual([s]);
      const moved = page.locator('#band-file rect[data-kind="moved"]');
      expect([await moved.getAttribute('data-start'), await moved.getAttribute('data-end')]).toEqual([String(s), String(e)]);
      const lost = page.locator('#band-stream rect[data-kind="lost"]');
      expect([await lost.getAttribute('data-start'), await lost.getAttribute('data-end')]).toEqual([String(s), String(e)]);
      // To scale: the file band and the stream band keep the ratio F : L on screen.
      const fileBox = (await page.locator('#band-file > rect').first().boundingBox())!;
      const streamBox = (await page.locator('#band-stream > rect').first().boundingBox())!;
      expect(fileBox.width / streamBox.width).toBeCloseTo(F / fx.a1.L, 2);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      if (file === html) {
        expect(await page.locator('#verdict').textContent()).toBe('wraparound');
        expect(await page.locator('#seam').textContent()).toBe(`file [${s.toLocaleString('en').replace(/,/g, '\u2009')}, ${e.toLocaleString('en').replace(/,/g, '\u2009')})`);
        expect(await page.locator('#lost tr').count()).toBeGreaterThan(1);
      }
      await page.close();
    }
  });
});
