/**
 * The one test on a real > 4 GiB dump (W = 2^32): a tree of sparse files
 * (zeros with distinctive marks) and small distinctive files, packed sparse,
 * damaged by receiver model A, then diagnosed (exact seam, exact lost
 * vnodes), repaired (verify ok), and every surviving file compared by digest
 * with the original content. Runs on tmpfs when there is one (holes read
 * fast there); set CODADUMP_BIG_TMP to choose the directory, or
 * CODADUMP_SKIP_BIG=1 to skip the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { run } from '../helpers.js';
import { TWO_32 } from '../../src/format/constants.js';
import { bigTempDir, layoutOf, marksFor, noise, packDir, pathsOf, sparseDigest, writeSparse } from '../diagnose/fixtures.js';
import { expectedA1Lost, strip } from '../diagnose/expect.js';

const W = TWO_32;
const skip = process.env.CODADUMP_SKIP_BIG === '1';

describe.skipIf(skip)('a real > 4 GiB dump wrapped by receiver A (W = 2^32)', () => {
  let dir: string;
  beforeAll(() => {
    dir = bigTempDir('codadump-bigrepair-');
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('diagnose: exact seam and lost vnodes; repair: verify ok, survivors byte-identical', async () => {
    // The tree: small distinctive files first (they survive in the head),
    // a 150 MB file cut by the seam, ten 10 MB files in the lost range (the
    // one across e loses its header), three 1.42 GB files (the last one runs
    // across 2^32), and small files in a subdirectory at the very end.
    const tree = path.join(dir, 'tree');
    const content = new Map<string, string>(); // path -> sha256 of the content
    for (let i = 0; i < 4; i++) {
      const b = noise(2000 + 1000 * i, 11 + i);
      fs.mkdirSync(tree, { recursive: true });
      fs.writeFileSync(path.join(tree, `a-small-${i}`), b);
      content.set(`a-small-${i}`, createHash('sha256').update(b).digest('hex'));
    }
    const sizes: Record<string, number> = { 'b-cut.bin': 150_000_000 };
    for (let i = 0; i < 10; i++) sizes[`c-${String(i).padStart(2, '0')}.bin`] = 10_000_000;
    for (let i = 0; i < 3; i++) sizes[`d-big-${i}.bin`] = 1_420_000_000;
    for (const [n, size] of Object.entries(sizes)) {
      const marks = marksFor(n, size);
      writeSparse(path.join(tree, n), size, marks);
      content.set(n, sparseDigest(size, marks));
    }
    fs.mkdirSync(path.join(tree, 'zz'));
    for (let i = 0; i < 4; i++) {
      const b = noise(3000 + 500 * i, 31 + i);
      fs.writeFileSync(path.join(tree, 'zz', `tail-${i}`), b);
      content.set(`zz/tail-${i}`, createHash('sha256').update(b).digest('hex'));
    }
    const orig = path.join(dir, 'orig.dump');
    const L = await packDir(tree, orig, true);
    expect(L).toBeGreaterThan(W);
    expect(L).toBeLessThan(W + 512000 + W / 2);

    // Damage it with the real 32-bit wrap.
    const damaged = path.join(dir, 'damaged.dump');
    let r = run(['simulate', '--receiver', 'A', orig, '-o', damaged, '--json']);
    expect(r.code).toBe(0);
    const sim = JSON.parse(r.stdout);
    const F = fs.statSync(damaged).size;
    const s = F - W;
    const e = L - W;
    expect(sim).toMatchObject({ outcome: 'A1', wrapBits: 32, streamLength: L, fileSize: F, s, e });
    expect(F).toBeGreaterThan(W);
    expect(F).toBeLessThanOrEqual(W + 512000);
    expect(sim.straddler.offset + sim.straddler.length).toBe(F);

    // Expected losses from the original's record offsets.
    const { records } = await layoutOf(orig, false);
    expect(records.filter((x) => x.type === 2).every((x) => x.end <= s)).toBe(true);
    const want = expectedA1Lost(records, s, e);
    const paths = pathsOf(records);
    expect(want.map((l) => l.path)).toEqual(['b-cut.bin', 'c-00.bin', 'c-01.bin', 'c-02.bin', 'c-03.bin', 'c-04.bin', 'c-05.bin', 'c-06.bin']);
    expect(want[0].partial).toBe(true);

    r = run(['diagnose', '--json', damaged]);
    expect(r.code).toBe(1);
    const d = JSON.parse(r.stdout);
    expect(d.verdict).toBe('wraparound');
    expect(d.wraparound).toMatchObject({ model: 'A1', seamStart: s, seamEnd: e, streamLength: L, confirmed: true, confirmedBy: 'resync', seamEndFrom: 'search' });
    expect(strip(d.lost.vnodes)).toEqual(want);
    expect(d.lost).toMatchObject({ count: want.length, exact: true });

    // The backup log's count pins the same seam.
    const log = path.join(dir, 'backup.log');
    fs.writeFileSync(log, `02:00:00 Dumping 7f000002.1 to ${damaged} ...\n\t\tTransferred ${L % W >= 2 ** 31 ? (L % W) - W : L % W} bytes\n`);
    r = run(['diagnose', '--json', '--log', log, damaged]);
    expect(JSON.parse(r.stdout).wraparound).toMatchObject({ seamStart: s, seamEnd: e, seamEndFrom: 'declared', confirmed: true });

    // verify: the original is ok, the damaged one a wraparound.
    r = run(['verify', '--json', orig, damaged]);
    expect(JSON.parse(r.stdout).dumps.map((x: { verdict: string }) => x.verdict)).toEqual(['ok', 'wraparound']);

    // Repair.
    const fixed = path.join(dir, 'fixed.dump');
    r = run(['repair', '--json', damaged, '-o', fixed]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.verify.verdict).toBe('ok');
    expect(rep.dropped.map((x: { path: string }) => x.path)).toEqual(want.map((l) => l.path));
    const joined = records.find((x) => x.kind === 'vnode' && x.offset < F && x.end > F)!;
    expect(paths.get(`${joined.vnode}.${joined.unique}`)).toBe('d-big-2.bin');
    expect(rep.vnodes.find((v: { vnode: number }) => v.vnode === joined.vnode).from).toEqual([
      { start: joined.offset, end: F },
      { start: s, end: s + (joined.end - F) },
    ]);
    r = run(['verify', '--json', fixed]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).dumps[0].verdict).toBe('ok');
    expect(fs.statSync(fixed).blocks * 512).toBeLessThan(64 * 2 ** 20); // written sparse

    // Every surviving file, byte-identical (digests of the repaired dump's data against the originals').
    const got = await layoutOf(fixed, true);
    const gotPaths = pathsOf(got.records);
    const lostPaths = new Set(want.map((l) => l.path));
    const survivors = [...content.keys()].filter((p) => !lostPaths.has(p)).sort();
    const files = got.records.filter((x) => x.sha !== undefined);
    expect(files.map((x) => gotPaths.get(`${x.vnode}.${x.unique}`)).sort()).toEqual(survivors);
    for (const x of files) expect(x.sha).toBe(content.get(gotPaths.get(`${x.vnode}.${x.unique}`)!));
  }, 180_000);
});
