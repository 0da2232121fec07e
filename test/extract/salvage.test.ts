/**
 * extract from damaged dumps (#14): truncated, corrupt and wrapped, to a
 * directory and to a tar archive. Exit 1, the report, and exactly what
 * survives: the expected files come from the original dump's record
 * offsets (a record survives when it ends before the cut, or is not the
 * one overwritten), their bytes from its digests.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, sample, sha256File, tempDir } from '../helpers.js';
import { W20, buildWrapFixtures, layoutOf, pathsOf, type RecInfo, type WrapFixtures } from '../diagnose/fixtures.js';
import { snapshot, sorted } from './trees.js';
import { analyzeSource } from '../../src/diagnose/diagnose.js';
import { FileSource } from '../../src/io/source.js';
import { planRepair, repairedBytes } from '../../src/repair/repair.js';

let t: { dir: string; cleanup: () => void };
let fx: WrapFixtures;
let records: RecInfo[];
let paths: Map<string, string>;
const SAMPLE = sample('server-sample-full.dump');
const bytes = fs.readFileSync(SAMPLE);

beforeAll(async () => {
  t = tempDir('codadump-salvage-extract-');
  fx = await buildWrapFixtures(join(t.dir, 'wrap'));
  records = (await layoutOf(SAMPLE)).records;
  paths = pathsOf(records);
});
afterAll(() => t.cleanup());

const fid = (r: RecInfo) => `${r.vnode}.${r.unique}`;
const files = () => records.filter((r) => r.kind === 'vnode' && r.sha !== undefined);
const rec = (vnode: number) => records.find((r) => r.vnode === vnode)!;

/** path -> sha256 of what a directory holds (files: data, symbolic links: target), directories left out. */
function held(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [p, s] of snapshot(dir, false)) {
    if (s.type === 'dir') continue;
    out.set(p, s.type === 'symlink' ? createHash('sha256').update(Buffer.from(s.target!, 'latin1')).digest('hex') : s.sha!);
  }
  return out;
}

function expectedFrom(keep: (r: RecInfo) => boolean): Map<string, string> {
  return new Map(files().filter(keep).map((r) => [paths.get(fid(r))!, r.sha!]));
}

/** Names in a tar archive (GNU tar lists them), directories left out. */
function tarNames(file: string): string[] {
  const r = spawnSync('tar', ['-tf', file]);
  expect(r.status).toBe(0);
  return r.stdout.toString().split('\n').filter((l) => l !== '' && !l.endsWith('/')).sort();
}

function write(name: string, b: Buffer): string {
  const f = join(t.dir, name);
  fs.writeFileSync(f, b);
  return f;
}

describe('a truncated dump', () => {
  // Cut 100 bytes into the data of vnode 32.20 (a 70,000-byte file).
  const cutVnode = 32;
  const cutAt = () => rec(cutVnode).end - 70_000 + 100;

  it('-C DIR: exit 1, the report, every file before the cut and nothing else', () => {
    const dump = write('trunc.dump', bytes.subarray(0, cutAt()));
    const out = join(t.dir, 'trunc-dir');
    const r = run(['extract', '-C', out, dump]);
    expect(r.code).toBe(1);
    const err = r.stderr.split('\n');
    expect(err[0]).toBe(`codadump: TRUNCATED: at byte ${rec(cutVnode).offset}: vnode 32.20: 100 of 70000 bytes of file data survive`);
    expect(err[1]).toBe(`codadump: ${paths.get('32.20')}: partial (its data was cut); not extracted (vnode 32.20)`);
    const lost = files().filter((x) => x.offset >= rec(cutVnode).offset);
    expect(err.filter((l) => l.endsWith('lost (its record is gone); not extracted' + l.slice(l.lastIndexOf(' (vnode'))))).toHaveLength(lost.length - 1);
    expect(r.stdout).toContain('the dump is damaged: extracted what survives');
    expect(held(out)).toEqual(expectedFrom((x) => x.end <= cutAt()));
    // With paths named, only what is below them is reported skipped.
    const some = run(['extract', '-C', join(t.dir, 'trunc-docs'), dump, 'docs']);
    expect(some.code).toBe(1);
    const skipped = some.stderr.split('\n').filter((l) => l.includes('; not extracted'));
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.filter((l) => !l.startsWith('codadump: docs/'))).toEqual([]);
    expect([...held(join(t.dir, 'trunc-docs')).keys()].sort()).toEqual([...expectedFrom((x) => x.end <= cutAt()).keys()].filter((p) => p.startsWith('docs/')).sort());
  });

  it('--tar FILE: exit 1, no stack trace, the archive lists exactly the files before the cut', () => {
    const dump = join(t.dir, 'trunc.dump');
    const tar = join(t.dir, 'trunc.tar');
    const r = run(['extract', '--tar', tar, dump]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.split('\n')[0]).toMatch(/^codadump: TRUNCATED: at byte /);
    expect(tarNames(tar)).toEqual([...expectedFrom((x) => x.end <= cutAt()).keys()].sort());
    // The tar of the damaged dump is the tar of its repair.
    const repaired = join(t.dir, 'trunc-repaired.dump');
    expect(run(['repair', '-o', repaired, dump]).code).toBe(0);
    const tar2 = join(t.dir, 'trunc-repaired.tar');
    expect(run(['extract', '--tar', tar2, repaired]).code).toBe(0);
    expect(sha256File(tar)).toBe(sha256File(tar2));
  });

  it('from standard input: up to the damage, the cut file reported and not extracted, exit 1', () => {
    const out = join(t.dir, 'trunc-stdin');
    const r = run(['extract', '-C', out, '-'], { input: bytes.subarray(0, cutAt()) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `codadump: ${paths.get('32.20')}: its data was cut by the damage: 100 of 70000 bytes arrived; not extracted (vnode 32.20)\n` +
        `codadump: TRUNCATED: at byte ${cutAt()}: input ends inside the file data of vnode 32.20 (69900 of 70000 bytes missing); nothing after it could be read\n`,
    );
    expect(held(out)).toEqual(expectedFrom((x) => x.end <= cutAt()));
  });

  it('--tar - from standard input: a complete archive, the cut file zero-filled and reported, exit 1', () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'codadump'), 'extract', '--tar', '-', '-'], { input: bytes.subarray(0, cutAt()) });
    expect(r.status).toBe(1);
    const err = r.stderr.toString();
    expect(err).toContain(`codadump: ${paths.get('32.20')}: its data was cut by the damage: 100 of 70000 bytes arrived; the archive entry is filled with zeros after them\n`);
    expect(err).not.toMatch(/\n\s+at /);
    const tar = write('stdin.tar', r.stdout);
    expect(tarNames(tar)).toEqual([...expectedFrom((x) => x.end <= cutAt()).keys(), paths.get('32.20')!].sort());
  });
});

describe('a corrupt dump (a record overwritten)', () => {
  it('both sinks: everything but the overwritten vnode, exit 1, the damage and the loss reported', () => {
    const hit = rec(38); // 38.23
    const b = Buffer.from(bytes);
    b.fill(0xee, hit.offset, hit.offset + 20);
    const dump = write('corrupt.dump', b);
    const out = join(t.dir, 'corrupt-dir');
    const r = run(['extract', '-C', out, dump]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `codadump: UNEXPECTED_TAG: at byte ${hit.offset}: field tag 0xee where a record should start\n` +
        `codadump: ${paths.get('38.23')}: lost (its record is gone); not extracted (vnode 38.23)\n`,
    );
    const want = expectedFrom((x) => x !== hit);
    expect(held(out)).toEqual(want);
    const tar = join(t.dir, 'corrupt.tar');
    const rt = run(['extract', '--tar', tar, dump]);
    expect(rt.code).toBe(1);
    expect(rt.stderr).toBe(r.stderr);
    expect(tarNames(tar)).toEqual([...want.keys()].sort());
  });
});

describe('a wrapped dump (model A1, W = 2^20)', () => {
  it('extracts directly what repair then extract gives, both sinks; --json says damaged', async () => {
    const { a1 } = fx;
    const repaired = join(t.dir, 'a1-repaired.dump');
    expect(run(['repair', '--wrap-bits', '20', '-o', repaired, a1.damaged]).code).toBe(0);
    const viaRepair = join(t.dir, 'a1-via-repair');
    expect(run(['extract', '-C', viaRepair, repaired]).code).toBe(0);
    const direct = join(t.dir, 'a1-direct');
    const r = run(['extract', '--json', '--wrap-bits', '20', '-C', direct, a1.damaged]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.damaged).toBe(true);
    expect(j.problems[0].code).toBe('WRAPAROUND');
    expect(j.problems.filter((p: { code: string }) => p.code === 'SKIPPED').length).toBeGreaterThan(0);
    expect(sorted(snapshot(direct))).toEqual(sorted(snapshot(viaRepair)));
    // Every file that survives holds the original's bytes.
    const orig = await layoutOf(a1.orig);
    const origPaths = pathsOf(orig.records);
    const shaOf = new Map(orig.records.filter((x) => x.sha).map((x) => [origPaths.get(`${x.vnode}.${x.unique}`)!, x.sha!]));
    for (const [p, s] of held(direct)) if (!p.startsWith('lost+found/')) expect(s).toBe(shaOf.get(p));
    const tarA = join(t.dir, 'a1-direct.tar');
    const tarB = join(t.dir, 'a1-repaired.tar');
    expect(run(['extract', '--wrap-bits', '20', '--tar', tarA, a1.damaged]).code).toBe(1);
    expect(run(['extract', '--tar', tarB, repaired]).code).toBe(0);
    expect(sha256File(tarA)).toBe(sha256File(tarB));
    expect(fs.statSync(a1.damaged).size).toBeGreaterThan(W20);
  });

  it("repairedBytes streams exactly the bytes repair writes", async () => {
    const src = await FileSource.open(fx.a1.damaged);
    try {
      const plan = planRepair(await analyzeSource(src, { wrapBits: 20 }), {});
      const parts: Buffer[] = [];
      for await (const b of repairedBytes(plan, src)) parts.push(b);
      expect(Buffer.concat(parts).equals(fs.readFileSync(join(t.dir, 'a1-repaired.dump')))).toBe(true);
    } finally {
      await src.close();
    }
  });
});

describe('afterAnalysis (the command line frees the diagnosis of a sound dump there)', () => {
  it('is called once, before the extraction, for a sound dump; never for a damaged one', async () => {
    const { extractFile } = await import('../../src/extract/salvage.js');
    const tars = tempDir('codadump-after-analysis-');
    try {
      const calls: string[] = [];
      const sound = await extractFile(SAMPLE, { tar: join(tars.dir, 'a.tar'), afterAnalysis: () => calls.push(fs.existsSync(join(tars.dir, 'a.tar')) ? 'after' : 'before') });
      expect(calls).toEqual(['before']);
      expect(sound.damaged ?? false).toBe(false);
      const cut = join(tars.dir, 'cut.dump');
      fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
      const damaged = await extractFile(cut, { tar: join(tars.dir, 'b.tar'), afterAnalysis: () => calls.push('damaged') });
      expect(damaged.damaged).toBe(true);
      expect(calls).toEqual(['before']);
    } finally {
      tars.cleanup();
    }
  });
});
