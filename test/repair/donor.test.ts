/**
 * repair --donor (#14). A volume evolves as Coda's does (identities kept:
 * a full dump, then incrementals merged onto it), its latest full dump is
 * wrapped with model A (W = 2^20), and repair takes what was lost from
 * older dumps. Expected losses come from the record offsets (expect.ts),
 * expected bytes from the dumps' own digests, expected outcomes from the
 * rules: exact only where the donor provably holds the lost version.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir } from '../helpers.js';
import { W20, layoutOf, makeTree, noise, packDir, pathsOf, wrapTreeSpec, type RecInfo } from '../diagnose/fixtures.js';
import { expectedA1Lost, type Lost } from '../diagnose/expect.js';
import { incrementalBytes, snapshot } from '../extract/trees.js';
import { mergeDumps } from '../../src/merge/merge.js';
import { simulateFile } from '../../src/simulate/simulate.js';
import { openDump } from '../../src/format/open.js';
import { encodeRecord } from '../../src/format/reencode.js';

let t: { dir: string; cleanup: () => void };
const f = (n: string) => path.join(t.dir, n);
const D1 = 1_700_000_000; // the first full dump (packDir's date)
const D2 = 1_700_600_000; // a week later: an incremental
const D3 = 1_701_200_000; // another week: the dump that wrapped

type Layout = { records: RecInfo[]; length: number };
let v1: Layout; // donor full
let v2: Layout; // donor full + incremental
let v3: Layout; // the truth
let lost: Lost[];

/** Change some files (new bytes and times) and add one: what happens to a volume in a week. */
function change(dir: string, names: string[], seed: number, added: string): void {
  for (const n of names) {
    const p = path.join(dir, n);
    fs.writeFileSync(p, noise(fs.statSync(p).size + 100, seed++));
    fs.utimesSync(p, 1_650_000_000 + seed, 1_650_000_000 + seed);
  }
  fs.writeFileSync(path.join(dir, added), noise(5000, seed));
}

/** The same dump as another replica's: other volume and parent ids, both in volume group `group`. */
async function asReplica(src: string, out: string, ids: { volumeId: number; parentId: number; group: number }): Promise<void> {
  const reader = await openDump(src);
  const parts: Buffer[] = [];
  for await (const r of reader.records()) {
    if (r.kind === 'header') parts.push(encodeRecord({ ...r, volumeId: ids.volumeId, parentId: ids.parentId }));
    else if (r.kind === 'volume') parts.push(encodeRecord({ ...r, id: ids.volumeId, parentId: ids.parentId, backupId: ids.volumeId, groupId: ids.group }));
    else {
      parts.push(encodeRecord(r));
      if (r.kind === 'vnode' && r.data.kind === 'filedata') parts.push(Buffer.from(await reader.readFileData()));
    }
  }
  fs.writeFileSync(out, Buffer.concat(parts));
}

beforeAll(async () => {
  t = tempDir('codadump-donor-');
  const tree = f('tree');
  makeTree(tree, wrapTreeSpec(1.1));
  await packDir(tree, f('full.dump'));
  // Week 1: three reports change, one is added. Week 2: two more change (one of them again), another is added.
  change(tree, ['docs/report-00.txt', 'docs/report-03.txt', 'src/main.c'], 11, 'docs/new-1.txt');
  fs.writeFileSync(f('inc1.dump'), await incrementalBytes(tree, f('full.dump'), { backupDate: D2 }));
  await mergeDumps(f('full.dump'), [f('inc1.dump')], f('v2.dump'));
  change(tree, ['docs/report-00.txt', 'docs/report-01.txt'], 77, 'docs/new-2.txt');
  fs.writeFileSync(f('inc2.dump'), await incrementalBytes(tree, f('v2.dump'), { backupDate: D3 }));
  await mergeDumps(f('v2.dump'), [f('inc2.dump')], f('v3.dump'));
  await simulateFile(f('v3.dump'), f('wrapped.dump'), { receiver: 'A', wrapBits: 20 });
  v1 = await layoutOf(f('full.dump'));
  v2 = await layoutOf(f('v2.dump'));
  v3 = await layoutOf(f('v3.dump'));
  const F = fs.statSync(f('wrapped.dump')).size;
  lost = expectedA1Lost(v3.records, F - W20, v3.length - W20);
});
afterAll(() => t.cleanup());

const key = (r: { vnode?: number; unique?: number }) => `${r.vnode}.${r.unique}`;
const byKey = (l: Layout) => new Map(l.records.filter((r) => r.kind === 'vnode').map((r) => [key(r), r]));
/** What identifies one version of a vnode: its bytes (files) or its entries (directories). */
const content = (r: RecInfo) => r.sha ?? JSON.stringify(r.entries);

interface Row { vnode: number; unique: number; path: string | null; outcome: string; donor?: string; olderIn?: string }

function repair(args: string[]) {
  const r = run(['repair', '--json', '--wrap-bits', '20', f('wrapped.dump'), ...args]);
  expect(r.stderr).toBe('');
  return { code: r.code, out: JSON.parse(r.stdout) };
}

/** Expected outcome of each lost vnode with `donor` (the donor's state): exact only for a cut record whose surviving fields name the donor's version. */
function expectedOutcomes(donor: Layout, sameRun: boolean): Map<string, string> {
  const d = byKey(donor);
  const truth = byKey(v3);
  return new Map(lost.map((l) => {
    const k = key(l);
    const dv = d.get(k);
    if (!dv) return [k, 'lost'];
    if (sameRun) return [k, 'exact'];
    return [k, l.partial && content(dv) === content(truth.get(k)!) ? 'exact' : 'older'];
  }));
}

/** Extract `dump` and compare file by file with what the report says: survivors hold the truth, restored ones their donor's bytes. */
function checkExtract(dump: string, rows: Row[], donor: Layout, name: string): void {
  const out = f(`x-${name}`);
  const x = run(['extract', '-C', out, dump]);
  expect(x.code).toBe(0);
  const got = new Map([...snapshot(out, false)].filter(([, s]) => s.type === 'file').map(([p, s]) => [p, s.sha]));
  const truthPaths = pathsOf(v3.records);
  const lostKeys = new Set(lost.map(key));
  const want = new Map<string, string | undefined>();
  for (const r of v3.records) if (r.sha && r.type === 1 && !lostKeys.has(key(r))) want.set(truthPaths.get(key(r))!, r.sha);
  const d = byKey(donor);
  for (const row of rows) {
    if (row.outcome === 'lost') continue;
    const dv = d.get(key(row))!;
    if (dv.sha && dv.type === 1) want.set(row.path!, dv.sha);
  }
  expect(new Map([...got].sort())).toEqual(new Map([...want].sort()));
}

describe('repair --donor: last week\'s full dump of the same replica', () => {
  it('every lost vnode comes back with the donor\'s bytes; outcomes by the rules; verify ok; extract matches the report', () => {
    const out = f('r1.dump');
    const { code, out: rep } = repair(['-o', out, '--donor', f('full.dump')]);
    expect(code).toBe(0);
    expect(rep.verify.verdict).toBe('ok');
    expect(run(['verify', out]).code).toBe(0);
    const want = expectedOutcomes(v1, false);
    const rows: Row[] = rep.restored;
    expect(new Map(rows.map((r) => [key(r), r.outcome]))).toEqual(want);
    expect(rep.counts).toEqual({
      exact: [...want.values()].filter((o) => o === 'exact').length,
      older: [...want.values()].filter((o) => o === 'older').length,
      lost: [...want.values()].filter((o) => o === 'lost').length,
    });
    // The test is worth something: some lost files changed after the donor, some did not.
    const d = byKey(v1);
    const truth = byKey(v3);
    const changed = lost.filter((l) => d.has(key(l)) && content(d.get(key(l))!) !== content(truth.get(key(l))!));
    expect(changed.length).toBeGreaterThan(0);
    expect([...want.values()].filter((o) => o === 'older').length).toBeGreaterThan(changed.length);
    expect([...want.values()]).toContain('exact'); // the cut record at the seam: its own fields name the donor's version
    for (const r of rows) if (r.outcome !== 'lost') expect(r.donor).toBe(f('full.dump'));
    const codeOf = { exact: 'RESTORED_EXACT', older: 'RESTORED_OLDER', lost: 'VNODE_LOST' } as Record<string, string>;
    expect(rep.findings.map((x: { code: string; vnode: string }) => [x.vnode, x.code])).toEqual(rows.map((r) => [key(r), codeOf[r.outcome]]));
    expect(rep.dropped.map(key).sort()).toEqual(rows.filter((r) => r.outcome === 'lost').map(key).sort());
    // Output content: restored ones hold the donor's bytes (the unchanged: the truth).
    checkExtract(out, rows, v1, 'r1');
  });

  it('--exact-only: only what the donor provably holds comes back', () => {
    const out = f('r1x.dump');
    const { code, out: rep } = repair(['-o', out, '--donor', f('full.dump'), '--exact-only']);
    expect(code).toBe(0);
    expect(rep.verify.verdict).toBe('ok');
    const want = new Map([...expectedOutcomes(v1, false)].map(([k, o]) => [k, o === 'exact' ? 'exact' : 'lost']));
    const rows: Row[] = rep.restored;
    expect(new Map(rows.map((r) => [key(r), r.outcome]))).toEqual(want);
    for (const r of rows) if (r.outcome === 'lost' && byKey(v1).has(key(r))) expect(r.olderIn).toBe(f('full.dump'));
    checkExtract(out, rows, v1, 'r1x');
  });

  it('the text report names every lost vnode with its outcome, donor and date', () => {
    const r = run(['repair', '--wrap-bits', '20', f('wrapped.dump'), '-o', f('r1t.dump'), '--donor', f('full.dump')]);
    expect(r.code).toBe(0);
    const l = r.stdout.split('\n');
    expect(l).toContain(`  donor       ${f('full.dump')}: 2023-11-14, same-replica`);
    const rows = l.filter((x) => / (exact|older), from | lost \(no donor has it\)$/.test(x));
    expect(rows).toHaveLength(lost.length);
    expect(rows.filter((x) => x.includes(`, from ${f('full.dump')} as of 2023-11-14`)).length).toBe(lost.length - rows.filter((x) => x.endsWith('lost (no donor has it)')).length);
  });
});

describe('repair --donor FULL --donor INC: merged on the fly', () => {
  it('the donor is the state after the incremental: its bytes, its date', () => {
    const out = f('r2.dump');
    const { code, out: rep } = repair(['-o', out, '--donor', f('full.dump'), '--donor', f('inc1.dump')]);
    expect(code).toBe(0);
    expect(rep.verify.verdict).toBe('ok');
    const rows: Row[] = rep.restored;
    expect(new Map(rows.map((r) => [key(r), r.outcome]))).toEqual(expectedOutcomes(v2, false));
    expect(rep.donors).toEqual([{ name: `${f('full.dump')} + ${f('inc1.dump')}`, date: D2, relation: 'same-replica', sameRun: false }]);
    checkExtract(out, rows, v2, 'r2');
    // The file added by the incremental is back; with the full dump alone it was lost.
    const added = byKey(v2);
    expect(rows.some((r) => r.outcome !== 'lost' && !byKey(v1).has(key(r)) && added.has(key(r)))).toBe(lost.some((l) => added.has(key(l)) && !byKey(v1).has(key(l))));
  });

  it('compressed donors (gzip of the full and of the incremental) restore the same vnodes, the same output bytes', () => {
    const raw = f('r2.dump');
    const gz = f('r2-gz.dump');
    for (const n of ['full.dump', 'inc1.dump']) fs.writeFileSync(f(`${n}.gz`), zlib.gzipSync(fs.readFileSync(f(n))));
    const a = repair(['-o', raw, '--force', '--donor', f('full.dump'), '--donor', f('inc1.dump')]);
    const b = repair(['-o', gz, '--donor', f('full.dump.gz'), '--donor', f('inc1.dump.gz')]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.out.restored).toEqual(a.out.restored.map((r: Row) => ({ ...r, ...(r.donor ? { donor: `${f('full.dump.gz')} + ${f('inc1.dump.gz')}` } : {}) })));
    expect(b.out.counts).toEqual(a.out.counts);
    expect(fs.readFileSync(gz).equals(fs.readFileSync(raw))).toBe(true);
  });

  it('an incremental without its full dump first is refused (exit 2)', () => {
    const r = run(['repair', '--wrap-bits', '20', f('wrapped.dump'), '-o', f('r2x.dump'), '--donor', f('inc1.dump')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: ${f('inc1.dump')}: the incremental dump ${f('inc1.dump')} needs its full dump as a --donor before it\n`);
  });
});

describe('repair --donor: another replica', () => {
  it("the same run's dump of another replica: every lost vnode exact, the true bytes", async () => {
    const group = 0x7f000100;
    await asReplica(f('v3.dump'), f('v3-g.dump'), { volumeId: 0x01000002, parentId: 0x01000001, group });
    await simulateFile(f('v3-g.dump'), f('wrapped-g.dump'), { receiver: 'A', wrapBits: 20 });
    await asReplica(f('v3.dump'), f('replica.dump'), { volumeId: 0x02000002, parentId: 0x02000001, group });
    const out = f('r3.dump');
    const r = run(['repair', '--json', '--wrap-bits', '20', f('wrapped-g.dump'), '-o', out, '--donor', f('replica.dump')]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.donors).toEqual([{ name: f('replica.dump'), date: D3, relation: 'other-replica', sameRun: true }]);
    const rows: Row[] = rep.restored;
    expect(new Map(rows.map((x) => [key(x), x.outcome]))).toEqual(expectedOutcomes(v3, true));
    expect(rep.counts).toEqual({ exact: lost.length, older: 0, lost: 0 });
    checkExtract(out, rows, v3, 'r3');
    // ... and so the repaired tree is the true tree.
    const a = f('x-r3');
    const b = f('x-truth');
    expect(run(['extract', '-C', b, f('v3.dump')]).code).toBe(0);
    expect(new Map([...snapshot(a)].sort())).toEqual(new Map([...snapshot(b)].sort()));
  });

  it('a dump of another volume is refused (DONOR_MISMATCH, exit 2), nothing written', async () => {
    await asReplica(f('full.dump'), f('other.dump'), { volumeId: 0x03000002, parentId: 0x03000001, group: 0 });
    const r = run(['repair', '--wrap-bits', '20', f('wrapped.dump'), '-o', f('r4.dump'), '--donor', f('other.dump')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `codadump: error: ${f('other.dump')}: volume 0x03000002 (parent 0x03000001, group 0x00000000) is not a dump of the damaged volume 0x01000002 (parent 0x01000001) or of a replica of it\n`,
    );
    expect(fs.existsSync(f('r4.dump'))).toBe(false);
    const j = run(['repair', '--json', '--wrap-bits', '20', f('wrapped.dump'), '-o', f('r4.dump'), '--donor', f('other.dump')]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'DONOR_MISMATCH', file: f('other.dump') });
    expect(fs.existsSync(f('r4.dump'))).toBe(false);
  });
});

describe('repair --donor: lost directories', () => {
  it('a directory no donor gives back (--exact-only) is rebuilt from parent links with the donor\'s names, in its place', async () => {
    // As in repair.test.ts: eight directories of 300 files with long names, so the seam falls among the directories.
    const d = f('dirs');
    for (let k = 0; k < 8; k++) {
      const dir = path.join(d, 'tree', `dir-${k}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}-${'n'.repeat(190)}`), noise(300 + ((i * 53) % 500), k * 1000 + i + 1));
    }
    const orig = path.join(d, 'orig.dump');
    await packDir(path.join(d, 'tree'), orig);
    const damaged = path.join(d, 'wrapped.dump');
    const sim = await simulateFile(orig, damaged, { receiver: 'A', wrapBits: 20 });
    const layout = await layoutOf(orig);
    const dirLost = expectedA1Lost(layout.records, sim.fileSize - W20, layout.length - W20);
    const lostDirs = dirLost.filter((l) => l.vnode % 2 === 1);
    expect(lostDirs.map((l) => [l.path, l.partial])).toEqual([['dir-6', true], ['dir-7', false]]);
    const out = path.join(d, 'fixed.dump');
    // The donor is the very same state, but it cannot prove it: the two lost directories' own fields are gone
    // (dir-6's record is cut inside its pages), so the donor's versions are only older and --exact-only refuses them.
    const r = run(['repair', '--json', '--wrap-bits', '20', damaged, '-o', out, '--donor', orig, '--exact-only']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.verify.verdict).toBe('ok');
    expect(rep.synthesized).toEqual(lostDirs.map((l) => `directory ${l.vnode}.${l.unique} rebuilt from the parent links of 300 vnodes, 300 names from ${orig}`));
    for (const l of lostDirs) expect(rep.restored.find((x: Row) => x.vnode === l.vnode)).toMatchObject({ outcome: 'lost', olderIn: orig });
    expect(rep.rehomed).toEqual([]); // nothing in lost+found: the root's entries put the rebuilt directories back
    // Every file that survives is back at its own path (no lost+found), with its bytes.
    const x = path.join(d, 'x');
    expect(run(['extract', '-C', x, out]).code).toBe(0);
    const lostKeys = new Set(dirLost.map(key));
    const truthPaths = pathsOf(layout.records);
    const want = new Map(layout.records.filter((q) => q.sha && !lostKeys.has(key(q))).map((q) => [truthPaths.get(key(q))!, q.sha]));
    const got = new Map([...snapshot(x, false)].filter(([, s]) => s.type === 'file').map(([p, s]) => [p, s.sha]));
    expect(new Map([...got].sort())).toEqual(new Map([...want].sort()));
  });
});
