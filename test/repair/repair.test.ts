/**
 * repair: salvage into a dump that verify calls ok. Expected survivors and
 * losses come from the original dump's record offsets and the wrap
 * arithmetic; file contents are compared by digest with the original dump.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SAMPLE_FILES, run, sample, tempDir } from '../helpers.js';
import { openDump } from '../../src/format/open.js';
import { creationOrder, encodeDirectory } from '../../src/dir/pages.js';
import type { Vnode } from '../../src/format/types.js';
import { W20, buildWrapFixtures, fileDigests, layoutOf, noise, packDir, pathsOf, sha256File, type WrapFixtures } from '../diagnose/fixtures.js';
import { byId, expectedA1Lost, expectedTailLost, strip } from '../diagnose/expect.js';
import { simulateFile } from '../../src/simulate/simulate.js';

let t: { dir: string; cleanup: () => void };
let fx: WrapFixtures;
const inputs = new Map<string, string>();

beforeAll(async () => {
  t = tempDir('codadump-repair-');
  fx = await buildWrapFixtures(t.dir);
  for (const f of [fx.a1, fx.b, fx.bWrapped, fx.a2]) inputs.set(f.damaged, sha256File(f.damaged));
});
afterAll(() => {
  for (const [f, h] of inputs) expect(sha256File(f)).toBe(h); // never touches its input
  expect(fs.readdirSync(t.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  t.cleanup();
});

function repair(args: string[]) {
  const r = run(['repair', '--json', ...args]);
  expect(r.stderr).toBe('');
  return { code: r.code, out: JSON.parse(r.stdout) };
}

function verifyOk(file: string): void {
  const r = run(['verify', '--json', file]);
  const d = JSON.parse(r.stdout).dumps[0];
  expect(d.problems.filter((p: { severity: string }) => p.severity === 'error')).toEqual([]);
  expect(d.verdict).toBe('ok');
  expect(r.code).toBe(0);
}

/** Every vnode record of a dump, decoded. */
async function vnodesOf(file: string): Promise<Vnode[]> {
  const out: Vnode[] = [];
  for await (const r of (await openDump(file)).records()) if (r.kind === 'vnode') out.push(r);
  return out;
}

describe('A1 (W = 2^20)', () => {
  it('keeps exactly the survivors, byte-identical, in their places; drops and unlinks the lost', async () => {
    const { a1 } = fx;
    const F = fs.statSync(a1.damaged).size;
    const s = F - W20;
    const e = a1.L - W20;
    const orig = await layoutOf(a1.orig);
    const lost = expectedA1Lost(orig.records, s, e);
    const lostKeys = new Set(lost.map((l) => `${l.vnode}.${l.unique}`));
    const out = path.join(t.dir, 'a1-fixed.dump');
    const { code, out: rep } = repair(['--wrap-bits', '20', a1.damaged, '-o', out]);
    expect(code).toBe(0);
    expect(rep.verify.verdict).toBe('ok');
    verifyOk(out);
    expect(rep.model).toBe('A1');
    expect(rep.dropped.map((d: { vnode: number; unique: number; path: string }) => ({ vnode: d.vnode, unique: d.unique, path: d.path })))
      .toEqual(lost.map(({ vnode, unique, path }) => ({ vnode, unique, path })));
    expect(rep.synthesized).toEqual([]);
    expect(rep.rehomed).toEqual([]);

    const fixed = await layoutOf(out);
    const origVnodes = orig.records.filter((r) => r.kind === 'vnode');
    const want = origVnodes.filter((r) => !lostKeys.has(`${r.vnode}.${r.unique}`)).map((r) => `${r.vnode}.${r.unique}`);
    expect(fixed.records.filter((r) => r.kind === 'vnode').map((r) => `${r.vnode}.${r.unique}`)).toEqual(want);
    // Same content, same paths.
    const od = new Map(origVnodes.filter((r) => r.sha).map((r) => [`${r.vnode}.${r.unique}`, r.sha]));
    for (const r of fixed.records.filter((x) => x.sha)) expect(r.sha).toBe(od.get(`${r.vnode}.${r.unique}`));
    const op = pathsOf(orig.records);
    const fp = pathsOf(fixed.records);
    for (const k of want) expect(fp.get(k)).toBe(op.get(k));

    // Where each survivor came from: identity mapping before s and in [e, F), the tail shifted by W.
    const joined = origVnodes.find((r) => r.offset < F && r.end > F)!;
    expect(lostKeys.has(`${joined.vnode}.${joined.unique}`)).toBe(false);
    for (const v of rep.vnodes) {
      const o = origVnodes.find((r) => r.vnode === v.vnode && r.unique === v.unique)!;
      const expectFrom = o === joined
        ? [{ start: o.offset, end: F }, { start: s, end: s + (o.end - F) }]
        : o.offset >= F ? [{ start: o.offset - W20, end: o.end - W20 }] : [{ start: o.offset, end: o.end }];
      expect(v.from).toEqual(expectFrom);
    }

    // Directories: the lost entries removed, the others kept in their creation order.
    const ov = await vnodesOf(a1.orig);
    const fv = await vnodesOf(out);
    let rebuilt = 0;
    for (const d of ov.filter((v) => v.type === 2)) {
      const pages = (d.data as { pages: Buffer }).pages;
      const order = creationOrder(pages)!;
      const keep = order.filter((x) => !lostKeys.has(`${x.vnode}.${x.unique}`)).map(({ name, vnode, unique }) => ({ name, vnode, unique }));
      const got = fv.find((v) => v.vnode === d.vnode)!;
      expect((got.data as { pages: Buffer }).pages.equals(encodeDirectory(keep))).toBe(true);
      if (keep.length < order.length) rebuilt++;
    }
    expect(rebuilt).toBeGreaterThan(0);
    expect(rep.removedEntries).toHaveLength(lost.length);
  });

  it('--keep-partial keeps the cut file truncated to the bytes before the seam', async () => {
    const { a1 } = fx;
    const F = fs.statSync(a1.damaged).size;
    const s = F - W20;
    const orig = await vnodesOf(a1.orig);
    const cut = orig.find((v) => v.data.kind === 'filedata' && v.offset < s && v.data.start + v.data.length > s)!;
    const start = (cut.data as { start: number }).start;
    const out = path.join(t.dir, 'a1-partial.dump');
    const { code, out: rep } = repair(['--wrap-bits', '20', '--keep-partial', a1.damaged, '-o', out]);
    expect(code).toBe(0);
    verifyOk(out);
    expect(rep.keptPartial).toEqual([{ vnode: cut.vnode, unique: cut.unique, path: 'big.bin', kept: s - start, of: cut.length }]);
    // Not in its directory any more (it is not the file it was): in lost+found, under its vnode number.
    expect(rep.vnodes.find((v: { vnode: number }) => v.vnode === cut.vnode).path).toBe(`lost+found/#${cut.vnode}.${cut.unique}`);
    expect(rep.removedEntries).toContainEqual({ dir: '1.1', name: 'big.bin', vnode: cut.vnode, unique: cut.unique });
    const reader = await openDump(out);
    let content: Buffer | null = null;
    for await (const r of reader.records()) {
      if (r.kind === 'vnode' && r.vnode === cut.vnode) {
        expect(r.length).toBe(s - start);
        content = await reader.readFileData();
      }
    }
    expect(content!.equals(fs.readFileSync(a1.orig).subarray(start, s))).toBe(true);
  });

  it('the declared size gives the same result', () => {
    const a = path.join(t.dir, 'a1-d1.dump');
    const b = path.join(t.dir, 'a1-d2.dump');
    expect(repair(['--wrap-bits', '20', fx.a1.damaged, '-o', a]).code).toBe(0);
    expect(repair(['--wrap-bits', '20', '--declared', String(fx.a1.L - 2 ** 32), fx.a1.damaged, '-o', b]).code).toBe(0);
    expect(sha256File(a)).toBe(sha256File(b));
  });
});

describe('A1 that loses directories', () => {
  it('the files of lost directories go to lost+found; verify ok; contents identical', async () => {
    // Eight directories of 300 files with 195-byte names: the directory pages
    // alone are ~560 KB, so the seam (s ~ 480 KB at W = 2^20) falls among them.
    const d = path.join(t.dir, 'dirs');
    for (let k = 0; k < 8; k++) {
      const dir = path.join(d, 'tree', `dir-${k}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}-${'n'.repeat(190)}`), noise(300 + ((i * 53) % 500), k * 1000 + i + 1));
    }
    const orig = path.join(d, 'orig.dump');
    const L = await packDir(path.join(d, 'tree'), orig);
    const damaged = path.join(d, 'wrapped.dump');
    const sim = await simulateFile(orig, damaged, { receiver: 'A', wrapBits: 20 });
    expect(sim.outcome).toBe('A1');
    const s = sim.fileSize - W20;
    const e = L - W20;
    const { records } = await layoutOf(orig);
    const lost = expectedA1Lost(records, s, e);
    const lostDirs = lost.filter((l) => l.vnode % 2 === 1);
    expect(lostDirs.map((l) => [l.path, l.partial])).toEqual([['dir-6', true], ['dir-7', false]]);

    const diag = JSON.parse(run(['diagnose', '--json', '--wrap-bits', '20', damaged]).stdout);
    expect(diag.wraparound).toMatchObject({ model: 'A1', seamStart: s, seamEnd: e, streamLength: L });
    expect(strip(diag.lost.vnodes)).toEqual(lost);

    const out = path.join(d, 'fixed.dump');
    const { code, out: rep } = repair(['--wrap-bits', '20', damaged, '-o', out]);
    expect(code).toBe(0);
    verifyOk(out);
    const lostKeys = new Set(lost.map((l) => `${l.vnode}.${l.unique}`));
    const survivors = records.filter((r) => r.kind === 'vnode' && !lostKeys.has(`${r.vnode}.${r.unique}`));
    const orphans = survivors.filter((r) => lostDirs.some((l) => l.vnode === r.parent && l.unique === r.parentUnique));
    expect(orphans.length).toBeGreaterThan(100);
    // lost+found: the odd number after the last directory, the volume's next uniquifier.
    const ov = await vnodesOf(orig);
    let nextUnique = 0;
    for await (const r of (await openDump(orig)).records()) if (r.kind === 'volume') nextUnique = r.nextUniquifier;
    const lf = { vnode: 19, unique: nextUnique };
    expect(Math.max(...ov.filter((v) => v.type === 2).map((v) => v.vnode))).toBe(17);
    const fixed = await layoutOf(out);
    const lfRec = fixed.records.find((r) => r.vnode === lf.vnode)!;
    expect(lfRec.unique).toBe(lf.unique);
    expect(lfRec.entries!.map((x) => x.name)).toEqual(['.', '..', ...orphans.map((r) => `#${r.vnode}.${r.unique}`)]);
    for (const o of orphans) {
      const got = fixed.records.find((r) => r.vnode === o.vnode)!;
      expect([got.parent, got.parentUnique]).toEqual([lf.vnode, lf.unique]);
    }
    const root = fixed.records.find((r) => r.vnode === 1)!;
    expect(root.entries!.map((x) => x.name)).toEqual(['.', '..', 'dir-0', 'dir-1', 'dir-2', 'dir-3', 'dir-4', 'dir-5', 'lost+found']);
    expect(rep.rehomed).toHaveLength(orphans.length);
    expect(rep.synthesized).toEqual([`directory lost+found (vnode 19.${lf.unique}) for ${orphans.length} vnodes whose directory was lost`]);
    for await (const r of (await openDump(out)).records()) if (r.kind === 'volume') expect(r.nextUniquifier).toBe(lf.unique + 1);
    const od = new Map(records.filter((r) => r.sha).map((r) => [`${r.vnode}.${r.unique}`, r.sha]));
    const got = fixed.records.filter((r) => r.sha);
    expect(got.map((r) => `${r.vnode}.${r.unique}`)).toEqual(survivors.filter((r) => r.type !== 2).map((r) => `${r.vnode}.${r.unique}`));
    for (const r of got) expect(r.sha).toBe(od.get(`${r.vnode}.${r.unique}`));
  });
});

describe('A2 and B: header, volume data and root re-created; survivors in lost+found', () => {
  it.each([
    ['A2', () => fx.a2, () => W20],
    ['B', () => fx.b, () => fx.b.sim.spans[fx.b.sim.spans.length - 1].offset],
  ] as const)('%s', async (model, getFx, getOffset) => {
    const f = getFx();
    const o = getOffset();
    const orig = await layoutOf(f.orig);
    const { survivors, lost } = expectedTailLost(orig.records, o);
    const out = path.join(t.dir, `${model}-fixed.dump`);
    const { code, out: rep } = repair(['--wrap-bits', '20', '--volume-id', '1000abc', '--volume-name', 'rescued', f.damaged, '-o', out]);
    expect(code).toBe(0);
    verifyOk(out);
    expect(rep.model).toBe(model);
    expect(rep.synthesized).toEqual([
      'root directory 1.1 (the original was lost)',
      expect.stringMatching(/^directory lost\+found \(vnode \d+\.\d+\) for \d+ vnodes whose directory was lost$/),
      expect.stringMatching(/^dump header \(the original was lost\): volume 0x01000abc "rescued", backup date \d+$/),
      'volume data (the original was lost), from the dump header and the surviving vnodes',
    ]);
    // lost+found: the first odd number past every directory known, a fresh uniquifier.
    const maxDir = Math.max(1, ...lost.filter((l) => l.vnode % 2 === 1).map((l) => l.vnode));
    const maxUnique = Math.max(...survivors.map((r) => r.unique!), ...lost.map((l) => l.unique));
    const lf = { vnode: maxDir + 2, unique: maxUnique + 1 };
    const fixed = await layoutOf(out);
    const vn = fixed.records.filter((r) => r.kind === 'vnode');
    expect(vn.map((r) => `${r.vnode}.${r.unique}`)).toEqual(['1.1', `${lf.vnode}.${lf.unique}`, ...survivors.map((r) => `${r.vnode}.${r.unique}`)]);
    const lfRec = vn[1];
    expect(lfRec.entries!.map((e) => e.name)).toEqual(['.', '..', ...survivors.map((r) => `#${r.vnode}.${r.unique}`)]);
    for (const r of vn.slice(2)) expect([r.parent, r.parentUnique]).toEqual([lf.vnode, lf.unique]);
    expect(vn[0].entries).toEqual([{ name: '.', vnode: 1, unique: 1 }, { name: '..', vnode: 1, unique: 1 }, { name: 'lost+found', ...lf }]);
    // Contents identical.
    const od = await fileDigests(f.orig);
    for (const r of vn.slice(2)) expect(r.sha).toBe(od.get(`${r.vnode}.${r.unique}`));
    // Header and volume data.
    const reader = await openDump(out);
    for await (const r of reader.records()) {
      if (r.kind === 'header') expect(r).toMatchObject({ volumeId: 0x01000abc, name: 'rescued', incremental: 0 });
      if (r.kind === 'volume') expect(r).toMatchObject({ id: 0x01000abc, name: 'rescued', nextUniquifier: lf.unique + 1, fileCount: survivors.length });
    }
  });

  it('B with post-wrap chunks: everything sound is salvaged into a valid dump', async () => {
    const out = path.join(t.dir, 'bw-fixed.dump');
    const { code, out: rep } = repair(['--wrap-bits', '20', fx.bWrapped.damaged, '-o', out]);
    expect(code).toBe(0);
    verifyOk(out);
    const { records } = await layoutOf(fx.bWrapped.orig);
    const segs = fx.bWrapped.sim.segments;
    const inside = records.filter((r) => r.kind === 'vnode' && segs.some((g) => r.offset >= g.streamStart && r.end <= g.streamStart + g.length));
    expect(rep.vnodes.filter((v: { origin: string }) => v.origin === 'survivor').map((v: { vnode: number }) => v.vnode)).toEqual(inside.map((r) => r.vnode));
    const od = await fileDigests(fx.bWrapped.orig);
    const fd = await fileDigests(out);
    for (const r of inside) expect(fd.get(`${r.vnode}.${r.unique}`)).toBe(od.get(`${r.vnode}.${r.unique}`));
  });
});

describe('damage that is not a wraparound', () => {
  it('a corrupt directory record: its subtree survives under lost+found', async () => {
    const orig = sample('server-sample-full.dump');
    const ov = await vnodesOf(orig);
    const victim = ov.find((v) => v.vnode === 5)!;
    const buf = fs.readFileSync(orig);
    buf[victim.offset + 9] = 0x99;
    const bad = path.join(t.dir, 'corrupt-dir.dump');
    fs.writeFileSync(bad, buf);
    const out = path.join(t.dir, 'corrupt-dir-fixed.dump');
    const { code, out: rep } = repair([bad, '-o', out]);
    expect(code).toBe(0);
    verifyOk(out);
    expect(rep.dropped).toEqual([{ vnode: 5, unique: victim.unique, path: 'src', reason: 'damaged record (it does not decode)' }]);
    const children = ov.filter((v) => v.parent === 5 && v.parentUnique === victim.unique).sort(byId);
    expect(rep.rehomed.map((h: { vnode: number }) => h.vnode)).toEqual(children.map((c) => c.vnode));
    const fixed = await layoutOf(out);
    const paths = pathsOf(fixed.records);
    const origPaths = pathsOf((await layoutOf(orig)).records);
    for (const c of children) expect(paths.get(`${c.vnode}.${c.unique}`)).toBe(`lost+found/#${c.vnode}.${c.unique}`);
    // The subdirectory keeps its own children: src/X/y becomes lost+found/#7.4/y.
    const sub = children.find((c) => c.type === 2)!;
    const grand = ov.filter((v) => v.parent === sub.vnode);
    expect(grand.length).toBeGreaterThan(0);
    for (const g of grand) {
      const name = origPaths.get(`${g.vnode}.${g.unique}`)!.split('/').pop();
      expect(paths.get(`${g.vnode}.${g.unique}`)).toBe(`lost+found/#${sub.vnode}.${sub.unique}/${name}`);
    }
    // Every file of the original except the lost directory, identical.
    const od = await fileDigests(orig);
    const fd = await fileDigests(out);
    expect([...fd.keys()].sort()).toEqual([...od.keys()].sort());
    for (const [k, h] of od) expect(fd.get(k)).toBe(h);
  });

  it('a truncated dump: the whole vnodes before the cut', async () => {
    const orig = sample('server-sample-full.dump');
    const bad = path.join(t.dir, 'trunc.dump');
    fs.writeFileSync(bad, fs.readFileSync(orig).subarray(0, 500000));
    const out = path.join(t.dir, 'trunc-fixed.dump');
    const { code, out: rep } = repair([bad, '-o', out]);
    expect(code).toBe(0);
    verifyOk(out);
    const whole = (await layoutOf(orig, false)).records.filter((r) => r.kind === 'vnode' && r.end <= 500000);
    expect(rep.written.large + rep.written.small).toBe(whole.length);
    expect(rep.verdictBefore).toBe('truncated');
  });

  it.each(SAMPLE_FILES)('a sound dump is reproduced byte for byte: %s', (name) => {
    const out = path.join(t.dir, `same-${name}`);
    const r = run(['repair', sample(name), '-o', out]);
    expect(r.code).toBe(0);
    expect(sha256File(out)).toBe(sha256File(sample(name)));
  });
});

describe('output safety', () => {
  it('refuses to overwrite without --force, and never writes over its input', () => {
    const out = path.join(t.dir, 'taken.dump');
    fs.writeFileSync(out, 'precious');
    let r = run(['repair', '--wrap-bits', '20', fx.a1.damaged, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/taken\.dump already exists \(use --force to replace it\)/);
    expect(fs.readFileSync(out, 'utf8')).toBe('precious');
    r = run(['repair', '--wrap-bits', '20', fx.a1.damaged, '-o', fx.a1.damaged, '--force']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the output is the input file/);
    r = run(['repair', '--wrap-bits', '20', fx.a1.damaged, '-o', out, '--force']);
    expect(r.code).toBe(0);
    verifyOk(out);
  });

  it('unusable input: exit 2, one line, no output', () => {
    const junk = path.join(t.dir, 'junk.bin');
    fs.writeFileSync(junk, Buffer.alloc(5000, 0x41));
    const out = path.join(t.dir, 'junk-fixed.dump');
    const r = run(['repair', junk, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/junk\.bin: at byte 0: not a Coda dump/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('text report', () => {
    const out = path.join(t.dir, 'text.dump');
    const r = run(['repair', '--wrap-bits', '20', fx.a1.damaged, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^repaired \S+ -> \S+: \d+ bytes; verify: ok\n {2}input {7}wraparound \(model A1\)/);
    expect(r.stdout).toContain('(joined across the seam)');
  });
});
