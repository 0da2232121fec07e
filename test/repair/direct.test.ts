/**
 * repair's and merge's outputs with direct I/O (the default where the file
 * system takes O_DIRECT) against `--no-direct` (ordinary writes): the same
 * bytes, exit codes and messages, on inputs larger than the output's slots
 * (so that slots are written on libuv's threads, here, and cut at holes),
 * and no temporary file left.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtomicOutput, DIRECT_SLOT } from '../../src/io/atomic-output.js';
import { repairFile } from '../../src/repair/repair.js';
import { mergeDumps } from '../../src/merge/merge.js';
import { streamCounts } from '../../src/merge/stream.js';
import { run, takesDirect, tempDir } from '../helpers.js';
import { makeTree, marksFor, packDir, writeSparse } from '../diagnose/fixtures.js';
import { buildTree, incrementalBytes, packBytes, type Spec } from '../extract/trees.js';
import { noise } from '../tree.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir('codadump-direct-');
});
afterEach(() => {
  vi.restoreAllMocks();
  t.cleanup();
});

/** Each committed AtomicOutput's directIo, in order. */
function watchCommits(): boolean[] {
  const seen: boolean[] = [];
  const commit = AtomicOutput.prototype.commit;
  vi.spyOn(AtomicOutput.prototype, 'commit').mockImplementation(function (this: AtomicOutput) {
    seen.push(this.directIo);
    return commit.call(this);
  });
  return seen;
}

describe('direct I/O: repair', () => {
  it('a cut dump larger than the slots (big files, a sparse one, small ones): the same bytes and report as --no-direct', async () => {
    const tree = path.join(t.dir, 'tree');
    makeTree(tree, { 'a/small-1': 3000, 'a/small-2': 70_000, 'big-1': 3 * DIRECT_SLOT + 4321, 'b/small-3': 100, 'big-2': 2 * DIRECT_SLOT + 17 });
    // Zeros with marks: holes in the packed (sparse) dump, skipped by the copy.
    writeSparse(path.join(tree, 'holes'), 5 * DIRECT_SLOT, marksFor('holes', 5 * DIRECT_SLOT));
    makeTree(path.join(tree, 'z'), { 'after-1': 5000, 'after-2': 9000 });
    const dump = path.join(t.dir, 'full.dump');
    const size = await packDir(tree, dump, true);
    const cut = path.join(t.dir, 'cut.dump');
    fs.copyFileSync(dump, cut);
    fs.truncateSync(cut, size - 7000); // into z/after-2's data
    const seen = watchCommits();
    const a = await repairFile(cut, path.join(t.dir, 'direct.dump'));
    const b = await repairFile(cut, path.join(t.dir, 'plain.dump'), { direct: false });
    expect(seen).toEqual([takesDirect(t.dir), false]);
    const strip = (r: typeof a) => ({ ...r, output: undefined });
    expect(strip(a)).toEqual(strip(b));
    expect(a.verify.verdict).toBe('ok');
    const da = fs.readFileSync(path.join(t.dir, 'direct.dump'));
    expect(da.equals(fs.readFileSync(path.join(t.dir, 'plain.dump')))).toBe(true);
    expect(da.length).toBeGreaterThan(10 * DIRECT_SLOT);
    // The holes stayed holes: far less allocated than the size.
    expect(fs.statSync(path.join(t.dir, 'direct.dump')).blocks * 512).toBeLessThan(da.length - 4 * DIRECT_SLOT);
    expect(fs.readdirSync(t.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('a dump of small files, sound or cut, is written through the page cache (verify reads it back whole)', async () => {
    const tree = path.join(t.dir, 'tree');
    const spec: Record<string, number> = {};
    for (let i = 0; i < 300; i++) spec[`d${i % 7}/f${i}`] = 20_000 + 37 * i; // 6 MB in all: more than a slot, 20 KB a vnode
    makeTree(tree, spec);
    const dump = path.join(t.dir, 'full.dump');
    const size = await packDir(tree, dump);
    const cut = path.join(t.dir, 'cut.dump');
    fs.copyFileSync(dump, cut);
    fs.truncateSync(cut, size - 30_000);
    const seen = watchCommits();
    const sound = await repairFile(dump, path.join(t.dir, 'sound.dump'));
    const repaired = await repairFile(cut, path.join(t.dir, 'cut-repaired.dump'));
    expect([sound.verify.verdict, repaired.verify.verdict]).toEqual(['ok', 'ok']);
    expect(seen).toEqual([false, false]);
    expect(fs.readFileSync(path.join(t.dir, 'sound.dump')).equals(fs.readFileSync(dump))).toBe(true);
  });

  it('the command line: --no-direct and the default print the same and exit the same (0: the output verifies)', async () => {
    const tree = path.join(t.dir, 'tree');
    makeTree(tree, { 'one': 2 * DIRECT_SLOT + 5, 'two': 4000 });
    const dump = path.join(t.dir, 'full.dump');
    const size = await packDir(tree, dump);
    fs.truncateSync(dump, size - 100);
    const a = run(['repair', dump, '-o', path.join(t.dir, 'a.dump')]);
    const b = run(['repair', dump, '-o', path.join(t.dir, 'b.dump'), '--no-direct']);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const same = (s: string) => s.split(path.join(t.dir, 'a.dump')).join('OUT').split(path.join(t.dir, 'b.dump')).join('OUT');
    expect(same(a.stdout)).toBe(same(b.stdout));
    expect(same(a.stderr)).toBe(same(b.stderr));
    expect(fs.readFileSync(path.join(t.dir, 'a.dump')).equals(fs.readFileSync(path.join(t.dir, 'b.dump')))).toBe(true);
  });
});

describe('direct I/O: merge', () => {
  it('a streamed merge larger than the slots: the same bytes as --no-direct and as the write pass', async () => {
    const v1: Spec[] = [{ path: 'd', dir: true, mtime: 1_450_000_001 }];
    const v2: Spec[] = [{ path: 'd', dir: true, mtime: 1_450_000_001 }];
    for (let i = 0; i < 40; i++) {
      const b = noise(300_000 + 1013 * i, 100 + i);
      v1.push({ path: `d/f${i}`, content: b, mtime: 1_400_000_000 + i });
      // Every 7th file changed in the incremental.
      v2.push({ path: `d/f${i}`, content: i % 7 === 0 ? noise(200_000 + i, 500 + i) : b, mtime: 1_400_000_000 + i + (i % 7 === 0 ? 50 : 0) });
    }
    v2.push({ path: 'd/big', content: noise(DIRECT_SLOT + 99, 9), mtime: 1_400_000_999 });
    buildTree(`${t.dir}/v1`, v1, 1_450_000_000);
    buildTree(`${t.dir}/v2`, v2, 1_450_000_100);
    fs.writeFileSync(`${t.dir}/full.dump`, await packBytes(`${t.dir}/v1`, { backupDate: 1000 }));
    fs.writeFileSync(`${t.dir}/inc.dump`, await incrementalBytes(`${t.dir}/v2`, `${t.dir}/full.dump`, { backupDate: 2000 }));
    const seen = watchCommits();
    const before = streamCounts.streamed;
    const a = await mergeDumps(`${t.dir}/full.dump`, [`${t.dir}/inc.dump`], `${t.dir}/a.dump`);
    const b = await mergeDumps(`${t.dir}/full.dump`, [`${t.dir}/inc.dump`], `${t.dir}/b.dump`, { direct: false });
    const c = await mergeDumps(`${t.dir}/full.dump`, [`${t.dir}/inc.dump`], `${t.dir}/c.dump`, { stream: false });
    expect(streamCounts.streamed - before).toBe(2);
    expect(seen).toEqual([takesDirect(t.dir), false, false]);
    const bytes = fs.readFileSync(`${t.dir}/a.dump`);
    expect(bytes.length).toBeGreaterThan(3 * DIRECT_SLOT);
    expect(bytes.equals(fs.readFileSync(`${t.dir}/b.dump`))).toBe(true);
    expect(bytes.equals(fs.readFileSync(`${t.dir}/c.dump`))).toBe(true);
    expect({ ...a, output: '' }).toEqual({ ...b, output: '' });
    expect({ ...a, output: '' }).toEqual({ ...c, output: '' });
    expect(fs.readdirSync(t.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });
});
