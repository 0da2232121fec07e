/**
 * The page renderers as pure functions: the dump map model of a wrapped
 * (W = 2^20, model A1), a truncated, a trailing-data and a sound dump, and
 * the HTML's safety (escaping, no loads). Positions are derived from the
 * fixtures' own arithmetic (s = F - W, e = L - W; the page fixtures'
 * dumps as fixtures/pages/README.txt says they were cut), not from diagnose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { diagnoseFile } from '../../src/diagnose/diagnose.js';
import type { DumpReport } from '../../src/check/archive.js';
import { archiveHtml, diagnoseHtml } from '../../src/report/html.js';
import { diagnoseMap, diagnoseSvg, type MapBand } from '../../src/report/svg.js';
import { scriptJson } from '../../src/report/common.js';
import { ROOT, tempDir } from '../helpers.js';
import { W20, WRAP_BITS, buildWrapFixtures, layoutOf, type WrapFixtures } from '../diagnose/fixtures.js';

const A = (day: string, name: string) => join(ROOT, 'fixtures', 'pages', 'archive', day, name);

let t: { dir: string; cleanup: () => void };
let fx: WrapFixtures;
beforeAll(async () => {
  t = tempDir('codadump-pages-');
  fx = await buildWrapFixtures(t.dir);
});
afterAll(() => t.cleanup());

/** Regions must tile [0, length) in order. */
function expectTiled(b: MapBand): void {
  let pos = 0;
  for (const r of b.regions) {
    expect(r.start).toBe(pos);
    expect(r.end).toBeGreaterThan(r.start);
    pos = r.end;
  }
  expect(pos).toBe(b.length);
}

describe('diagnoseMap', () => {
  it('model A1: the moved tail at the seam, the overwritten stream range, the links', async () => {
    const F = fs.statSync(fx.a1.damaged).size;
    const s = F - W20;
    const e = fx.a1.L - W20;
    const m = diagnoseMap(await diagnoseFile(fx.a1.damaged, { wrapBits: WRAP_BITS }));
    expect(m.scale).toBe(fx.a1.L);
    expectTiled(m.file);
    expect(m.file.regions.filter((r) => r.kind === 'moved').map((r) => [r.start, r.end])).toEqual([[s, e]]);
    expect(m.file.regions[0]).toMatchObject({ start: 0, end: s, kind: 'survive' });
    expect(m.file.marks).toEqual([{ at: s, kind: 'seam', label: expect.any(String) }]);
    expect(m.stream!.length).toBe(fx.a1.L);
    expect(m.stream!.regions.map((r) => [r.kind, r.start, r.end])).toEqual([
      ['survive', 0, s], ['lost', s, e], ['survive', e, F], ['moved', F, fx.a1.L],
    ]);
    expect(m.stream!.marks.map((k) => [k.kind, k.at])).toEqual([['seam', F]]);
    expect(m.links).toEqual([
      { fileStart: 0, fileEnd: s, streamStart: 0, streamEnd: s, kind: 'survive' },
      { fileStart: e, fileEnd: F, streamStart: e, streamEnd: F, kind: 'survive' },
      { fileStart: s, fileEnd: e, streamStart: F, streamEnd: fx.a1.L, kind: 'moved' },
    ]);
    expectTiled(m.layout);
  });

  it('a truncated dump: the cut record damaged up to the end of the file, the band open past it', async () => {
    // make-archive.mjs cuts u.alice 3000 bytes into vnode 6.8's file data.
    const whole = await layoutOf(A('2025-11-24', '7f000101.u.alice'), false);
    const inbox = whole.records.find((r) => r.vnode === 6)!;
    const file = A('2025-11-25', '7f000101.u.alice');
    const F = fs.statSync(file).size;
    const m = diagnoseMap(await diagnoseFile(file));
    expect(m.stream).toBe(null);
    expect(m.file.open).toBe(true);
    expect(m.file.marks).toEqual([{ at: F, kind: 'truncation', label: expect.any(String) }]);
    expect(m.file.regions.map((r) => [r.kind, r.start, r.end])).toEqual([['survive', 0, inbox.offset], ['damage', inbox.offset, F]]);
  });

  it('trailing data after the end marker', async () => {
    const sound = fs.statSync(A('2025-11-24', '7f000201.p.venus')).size;
    const file = A('2025-11-25', '7f000201.p.venus');
    const m = diagnoseMap(await diagnoseFile(file));
    expect(m.file.regions.map((r) => [r.kind, r.start, r.end])).toEqual([['survive', 0, sound], ['trailing', sound, sound + 4096]]);
    expect(m.file.marks).toEqual([{ at: sound, kind: 'end', label: expect.any(String) }]);
  });

  it('a sound dump: the layout by index (headers, directories, files, end marker) and by directory', async () => {
    const file = A('2025-11-24', '7f000101.u.alice');
    const { records, length } = await layoutOf(file, false);
    const m = diagnoseMap(await diagnoseFile(file));
    expectTiled(m.layout);
    const dirs = records.filter((r) => r.kind === 'vnode' && r.type === 2);
    const files = records.filter((r) => r.kind === 'vnode' && r.type !== 2);
    const large = m.layout.regions.find((r) => r.kind === 'large')!;
    const small = m.layout.regions.find((r) => r.kind === 'small')!;
    // Each index region runs from its index header to its last vnode's end.
    expect(large.end).toBe(Math.max(...dirs.map((r) => r.end)));
    expect(small.end).toBe(Math.max(...files.map((r) => r.end)));
    expect(m.layout.regions.map((r) => r.kind)).toEqual(['header', 'volume', 'large', 'small', 'end']);
    expect(m.layout.regions.at(-1)).toMatchObject({ kind: 'end', end: length });
    // Directory table: every vnode once, grouped by the directory holding it.
    expect(m.directories.reduce((n, d) => n + d.vnodes, 0)).toBe(dirs.length + files.length);
    expect(m.directories[0].path).toBe('.');
  });
});

describe('pages are self-contained and escape what they show', () => {
  const hostile = '</script><img src=x onerror=alert(1)>';
  const r: DumpReport = {
    path: `/b/2025-11-24/7f000101.${hostile}`, verdict: 'corrupt', size: 10, streamLength: null, bytesChecked: 10,
    problems: [{ code: 'BAD_END_MAGIC', severity: 'error', offset: 4294967301, message: hostile }], suppressed: {},
    header: { volumeId: 0x7f000102, parentId: 0x7f000101, name: hostile, incremental: 0, backupDate: 1764000000, oldest: 0, latest: 0 },
    groupId: null,
    counts: { directories: 0, files: 0, removed: 0 },
  };
  const view = { dumps: [r], missing: [], summary: { dumps: 1, ok: 0, damaged: 1, byVerdict: { corrupt: 1 }, skippedFiles: 0, missing: 0, bytesChecked: 10, seconds: 0.5 } };

  it('archive page: no raw markup from the data, no loads, reproducible', () => {
    const html = archiveHtml(view);
    expect(html).toBe(archiveHtml(view));
    expect(html).not.toContain('<img');
    expect(html.match(/<\/script>/g)!.length).toBe(2); // the data block and the page script, nothing from the data
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:|\/\/)/);
    expect(html).toContain('&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  it('scriptJson cannot close its script element', () => {
    expect(scriptJson({ a: '</script><!--\u2028' })).toBe('{"a":"\\u003c/script\\u003e\\u003c!--\\u2028"}');
    expect(JSON.parse(scriptJson({ a: '</script>' }))).toEqual({ a: '</script>' });
  });

  it('diagnose page and SVG', async () => {
    const a = await diagnoseFile(fx.a1.damaged, { wrapBits: WRAP_BITS });
    const html = diagnoseHtml(a);
    expect(html).toBe(diagnoseHtml(a));
    expect(html).toContain(diagnoseSvg(a));
    expect(html).toContain("default-src 'none'");
    const svg = diagnoseSvg(a);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toMatch(/(href|src)=/);
  });
});
