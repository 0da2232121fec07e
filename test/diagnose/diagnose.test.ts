/**
 * diagnose on small dumps wrapped with W = 2^20 (models A1, A2, B and a dump
 * that crosses W undamaged), and on non-wrap damage. Every expectation is
 * computed from the original dump's record offsets and the WRAPAROUND.md
 * arithmetic (s = F - W, e = L - W), never by calling diagnose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, sample, tempDir } from '../helpers.js';
import { END_MARKER } from '../../src/format/constants.js';
import { diagnoseFile } from '../../src/diagnose/diagnose.js';
import { W20, WRAP_BITS, buildWrapFixtures, layoutOf, noise, pathsOf, sha256File, type WrapFixtures } from './fixtures.js';
import { byId, expectedA1Lost, expectedTailLost, strip, type Lost } from './expect.js';

function json(args: string[]) {
  const r = run(args);
  expect(r.stderr).toBe('');
  return { code: r.code, out: JSON.parse(r.stdout) };
}

let t: { dir: string; cleanup: () => void };
let fx: WrapFixtures;
const before = new Map<string, string>();

beforeAll(async () => {
  t = tempDir('codadump-diag-');
  fx = await buildWrapFixtures(t.dir);
  for (const f of [fx.a1, fx.intact, fx.b, fx.bWrapped, fx.a2]) before.set(f.damaged, sha256File(f.damaged));
});
afterAll(() => {
  // diagnose only reads: every input is unchanged.
  for (const [f, h] of before) expect(sha256File(f)).toBe(h);
  t.cleanup();
});

describe('fixtures (sanity of the simulated damage)', () => {
  it('have the shapes WRAPAROUND.md describes', () => {
    const { a1, intact, b, a2 } = fx;
    expect(a1.sim.outcome).toBe('A1');
    expect(fs.statSync(a1.damaged).size).toBe(a1.sim.fileSize);
    expect(a1.sim.fileSize).toBeGreaterThan(W20);
    expect(a1.sim.fileSize).toBeLessThanOrEqual(W20 + 512000);
    expect(intact.sim.outcome).toBe('intact');
    expect(intact.L).toBeGreaterThan(W20);
    expect(fs.readFileSync(intact.damaged).equals(fs.readFileSync(intact.orig))).toBe(true);
    expect(b.sim.outcome).toBe('B');
    expect(a2.sim.outcome).toBe('A2');
    expect(a2.sim.spans.some((c) => c.offset + c.length === W20)).toBe(true);
  });
});

describe('model A1', () => {
  it('gives the exact seam, true length and lost vnodes (--json)', async () => {
    const { a1 } = fx;
    const F = fs.statSync(a1.damaged).size;
    const s = F - W20;
    const e = a1.L - W20;
    const { records } = await layoutOf(a1.orig, false);
    // All directories lie before s, so every lost vnode is named by a surviving directory.
    expect(records.filter((r) => r.type === 2).every((r) => r.end <= s)).toBe(true);
    const want = expectedA1Lost(records, s, e);
    expect(want.length).toBeGreaterThan(5);
    expect(want.filter((l) => l.partial)).toHaveLength(1);

    const { code, out } = json(['diagnose', '--json', '--wrap-bits', String(WRAP_BITS), a1.damaged]);
    expect(code).toBe(1);
    expect(out.verdict).toBe('wraparound');
    expect(out.size).toBe(F);
    expect(out.wraparound).toMatchObject({
      model: 'A1', seamStart: s, seamEnd: e, streamLength: a1.L, confirmed: true, seamEndFrom: 'search',
    });
    expect(out.wraparound.segments).toEqual([
      { fileStart: 0, fileEnd: s, streamStart: 0, streamEnd: s },
      { fileStart: e, fileEnd: F, streamStart: e, streamEnd: F },
      { fileStart: s, fileEnd: e, streamStart: F, streamEnd: a1.L },
    ]);
    expect(out.wraparound.lostStream).toEqual([{ start: s, end: e }]);
    expect(strip(out.lost.vnodes)).toEqual(want);
    expect(out.lost.count).toBe(want.length);
    expect(out.lost.exact).toBe(true);
    const small = records.filter((r) => r.kind === 'vnode' && r.vnode! % 2 === 0).length;
    expect(out.index.small).toEqual({ declared: small, lists: small, surviving: small - want.length, lost: want.length });
    // The partial one: its header is at its original offset.
    const p = want.find((l) => l.partial)!;
    const rec = records.find((r) => r.vnode === p.vnode)!;
    expect(out.lost.vnodes.find((l: Lost) => l.partial).offset).toBe(rec.offset);
    // The damage list names the overwritten range [s, e) of the file.
    expect(out.damage.filter((d: { code: string }) => d.code === 'OVERWRITTEN')).toEqual([
      expect.objectContaining({ code: 'OVERWRITTEN', severity: 'error', offset: s, fileRanges: [{ start: s, end: e }] }),
    ]);
  });

  it('text output names the seam; the record chain confirms it', () => {
    const { a1 } = fx;
    const F = fs.statSync(a1.damaged).size;
    const r = run(['diagnose', '--wrap-bits', '20', a1.damaged]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`wraparound (model A1), ${F} bytes`);
    expect(r.stdout).toContain(`seamStart ${F - W20}, seamEnd ${a1.L - W20}`);
    expect(r.stdout).toContain(`true length ${a1.L} bytes`);
    expect(r.stdout).toContain('confirmed: a record chain from a boundary in [e, F)');
  });

  it('--declared (also as a negative signed count) and --log pin the seam end', () => {
    const { a1 } = fx;
    const e = a1.L - W20;
    for (const args of [['--declared', String(a1.L)], [`--declared=${a1.L - 2 ** 32}`]]) {
      const { out } = json(['diagnose', '--json', '--wrap-bits', '20', ...args, a1.damaged]);
      expect(out.wraparound).toMatchObject({ model: 'A1', seamEnd: e, seamEndFrom: 'declared', confirmed: true });
      expect(out.declared).toBe(a1.L);
    }
    const log = path.join(t.dir, 'backup.log');
    fs.writeFileSync(log, `03:10:01 Dumping 7f000002.1000001 to ${a1.damaged} ...\n\t\tTransferred ${a1.L - 2 ** 32} bytes\n`);
    const { out } = json(['diagnose', '--json', '--wrap-bits', '20', '--log', log, a1.damaged]);
    expect(out.wraparound).toMatchObject({ seamStart: fs.statSync(a1.damaged).size - W20, seamEnd: e, seamEndFrom: 'declared' });
  });

  it('a declared size that does not fit is reported, and the seam is found anyway', () => {
    const { a1 } = fx;
    const { out } = json(['diagnose', '--json', '--wrap-bits', '20', '--declared', String(a1.L + 1), a1.damaged]);
    expect(out.wraparound).toMatchObject({ seamEnd: a1.L - W20, seamEndFrom: 'search', confirmed: true });
    expect(out.problems.some((p: { code: string }) => p.code === 'LOG_SIZE_MISMATCH')).toBe(true);
  });

  it('a lone end marker after s is not proof of a wraparound', async () => {
    // The A1 file with everything from s on replaced by noise, except one end marker.
    const { a1 } = fx;
    const F = fs.statSync(a1.damaged).size;
    const s = F - W20;
    const buf = fs.readFileSync(a1.damaged);
    noise(F - s, 777).copy(buf, s);
    const { records } = await layoutOf(a1.orig, false);
    const cut = records.find((r) => r.kind === 'vnode' && r.offset < s && r.end > s)!;
    const p = cut.end + 5000; // after the point where the head's chain breaks
    END_MARKER.copy(buf, p);
    const fake = path.join(t.dir, 'lone-marker.dump');
    fs.writeFileSync(fake, buf);
    const { code, out } = json(['diagnose', '--json', '--wrap-bits', '20', fake]);
    expect(code).toBe(1);
    expect(out.verdict).toBe('corrupt');
    expect(out.wraparound).toBe(null);
    expect(out.suspect).toMatchObject({ model: 'A1', seamStart: s, seamEnd: p + 5 });
    expect(out.problems.some((x: { code: string }) => x.code === 'WRAPAROUND_SUSPECT')).toBe(true);
    // With the declared size pointing there, the seam is taken from the log, unconfirmed.
    const d = json(['diagnose', '--json', '--wrap-bits', '20', '--declared', String(W20 + p + 5), fake]).out;
    expect(d.verdict).toBe('wraparound');
    expect(d.wraparound).toMatchObject({ model: 'A1', seamStart: s, seamEnd: p + 5, confirmed: false, confirmedBy: null, seamEndFrom: 'declared' });
  });
});

describe('a dump that crosses W without damage (F = L)', () => {
  it('is ok', () => {
    const { code, out } = json(['diagnose', '--json', '--wrap-bits', '20', fx.intact.damaged]);
    expect(code).toBe(0);
    expect(out).toMatchObject({ verdict: 'ok', size: fx.intact.L, wraparound: null, lost: { count: 0, vnodes: [] } });
  });
});

describe('model A2', () => {
  it('the file is stream [W, L): exact length and lost vnodes, with or without the declared size', async () => {
    const { a2 } = fx;
    const F = fs.statSync(a2.damaged).size;
    expect(F).toBe(a2.L - W20);
    expect(F).toBeGreaterThan(512000);
    const { records } = await layoutOf(a2.orig, false);
    const { survivors, lost } = expectedTailLost(records, W20);
    for (const extra of [[], ['--declared', String(a2.L)]]) {
      const { code, out } = json(['diagnose', '--json', '--wrap-bits', '20', ...extra, a2.damaged]);
      expect(code).toBe(1);
      expect(out.verdict).toBe('wraparound');
      expect(out.wraparound).toMatchObject({
        model: 'A2', seamStart: null, seamEnd: null, streamLength: a2.L, streamOffset: W20, confirmed: true,
        segments: [{ fileStart: 0, fileEnd: F, streamStart: W20, streamEnd: a2.L }], lostStream: [{ start: 0, end: W20 }],
      });
      expect(out.headerLost).toBe(true);
      expect(out.volumeLost).toBe(true);
      expect(out.survivors.count).toBe(survivors.length);
      expect(strip(out.lost.vnodes)).toEqual(lost);
      expect(out.lost.exact).toBe(false);
    }
  });
});

describe('model B', () => {
  it('only the last chunk is left: the stream tail; the length needs the declared size', async () => {
    const { b } = fx;
    const F = fs.statSync(b.damaged).size;
    const last = b.sim.spans[b.sim.spans.length - 1];
    expect(last.offset).toBeGreaterThanOrEqual(W20 / 2);
    expect(F).toBe(b.L - last.offset);
    const { records } = await layoutOf(b.orig, false);
    const { survivors, lost } = expectedTailLost(records, last.offset);
    let r = json(['diagnose', '--json', '--wrap-bits', '20', b.damaged]);
    expect(r.code).toBe(1);
    expect(r.out.wraparound).toMatchObject({ model: 'B', streamLength: null, streamOffset: null, confirmed: true });
    expect(r.out.survivors.count).toBe(survivors.length);
    expect(strip(r.out.lost.vnodes)).toEqual(lost);
    r = json(['diagnose', '--json', '--wrap-bits', '20', '--declared', String(b.L), b.damaged]);
    expect(r.out.wraparound).toMatchObject({
      model: 'B', streamLength: b.L, streamOffset: last.offset,
      segments: [{ fileStart: 0, fileEnd: F, streamStart: last.offset, streamEnd: b.L }],
    });
  });

  it('a B file with post-wrap chunks: what survives is listed', async () => {
    const { bWrapped } = fx;
    const { out } = json(['diagnose', '--json', '--wrap-bits', '20', bWrapped.damaged]);
    expect(out.verdict).toBe('wraparound');
    expect(out.wraparound.model).toBe('B');
    // Survivors: records wholly inside one of the two surviving stream ranges.
    const { records } = await layoutOf(bWrapped.orig, false);
    const segs = bWrapped.sim.segments;
    const inside = records.filter((r) => r.kind === 'vnode' && segs.some((g) => r.offset >= g.streamStart && r.end <= g.streamStart + g.length));
    expect(out.survivors.count).toBe(inside.length);
    // The record that runs across the seam is not trusted.
    const across = records.find((r) => r.kind === 'vnode' && r.offset >= segs[0].streamStart && r.offset < segs[0].streamStart + segs[0].length && r.end > segs[0].streamStart + segs[0].length)!;
    expect(out.lost.vnodes).toContainEqual(expect.objectContaining({ vnode: across.vnode, unique: across.unique, partial: true, damage: 'suspect' }));
    // With the declared size: the post-wrap chunks sit at file p = stream p - W, the file ends at e = L - W.
    const F = fs.statSync(bWrapped.damaged).size;
    expect(F).toBe(bWrapped.L - W20);
    const d = json(['diagnose', '--json', '--wrap-bits', '20', '--declared', String(bWrapped.L), bWrapped.damaged]).out;
    expect(d.wraparound).toMatchObject({ model: 'B', streamLength: bWrapped.L });
    const tail = d.wraparound.segments[d.wraparound.segments.length - 1];
    expect(tail.fileEnd).toBe(F);
    expect(tail.streamEnd).toBe(bWrapped.L);
    expect(tail.streamStart - tail.fileStart).toBe(W20);
    expect(tail.fileStart).toBeGreaterThanOrEqual(segs[1].fileStart); // the tail run starts inside the post-wrap chunks
  });
});

describe('verify reports the wraparound', () => {
  it('wraparound for A1, A2 and B; ok for the undamaged crossing', () => {
    const r = run(['verify', '--json', '--wrap-bits', '20', fx.a1.damaged, fx.a2.damaged, fx.b.damaged, fx.intact.damaged]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.dumps.map((d: { verdict: string }) => d.verdict)).toEqual(['wraparound', 'wraparound', 'wraparound', 'ok']);
    expect(out.dumps[0].diagnosis.wraparound).toMatchObject({ model: 'A1', seamStart: fx.a1.sim.fileSize - W20, seamEnd: fx.a1.L - W20 });
    expect(out.dumps[1].diagnosis.wraparound.model).toBe('A2');
    expect(out.dumps[2].diagnosis.wraparound.model).toBe('B');
  });

  it('uses the log\'s declared size', () => {
    const log = path.join(t.dir, 'verify.log');
    fs.writeFileSync(log, `01:00:00 Dumping 7f000002.1 to ${fx.a1.damaged} ...\n\t\tTransferred ${fx.a1.L} bytes\n`);
    const r = run(['verify', '--json', '--wrap-bits', '20', '--log', log, fx.a1.damaged]);
    const d = JSON.parse(r.stdout).dumps[0];
    expect(d.verdict).toBe('wraparound');
    expect(d.diagnosis.wraparound).toMatchObject({ seamEnd: fx.a1.L - W20, seamEndFrom: 'declared' });
    expect(d.problems.some((p: { code: string }) => p.code === 'LOG_SIZE_MISMATCH')).toBe(true);
  });

  it('text line', () => {
    const r = run(['verify', '--wrap-bits', '20', fx.a1.damaged]);
    expect(r.stdout).toMatch(/^wraparound +\S+ +\d+ bytes +WRAPAROUND at byte \d+: 4 GiB offset wraparound \(model A1\)/);
  });
});

describe('damage that is not a wraparound', () => {
  let dir: string;
  beforeAll(() => {
    dir = path.join(t.dir, 'plain');
    fs.mkdirSync(dir);
  });

  it('truncated: the cut record is partial, the rest are lost with their paths', async () => {
    const src = fs.readFileSync(sample('server-sample-full.dump'));
    const cutAt = 500000;
    const f = path.join(dir, 'trunc.dump');
    fs.writeFileSync(f, src.subarray(0, cutAt));
    const { records } = await layoutOf(sample('server-sample-full.dump'), false);
    const paths = pathsOf(records);
    const want = records
      .filter((r) => r.kind === 'vnode' && r.end > cutAt)
      .map((r) => ({ vnode: r.vnode!, unique: r.unique!, path: paths.get(`${r.vnode}.${r.unique}`)!, partial: r.offset + 9 <= cutAt }))
      .sort(byId);
    const { code, out } = json(['diagnose', '--json', f]);
    expect(code).toBe(1);
    expect(out.verdict).toBe('truncated');
    expect(out.wraparound).toBe(null);
    expect(strip(out.lost.vnodes)).toEqual(want);
    expect(out.lost).toMatchObject({ count: want.length, exact: true });
    const partial = records.find((r) => r.offset < cutAt && r.end > cutAt)!;
    expect(out.damage).toEqual([
      expect.objectContaining({ code: 'TRUNCATED', offset: partial.offset, fileRanges: [{ start: partial.offset, end: cutAt }] }),
    ]);
  });

  it('trailing data: nothing lost', () => {
    const f = path.join(dir, 'trail.dump');
    fs.writeFileSync(f, Buffer.concat([fs.readFileSync(sample('server-sample-full.dump')), Buffer.from('junk after the end')]));
    const { code, out } = json(['diagnose', '--json', f]);
    expect(code).toBe(1);
    expect(out).toMatchObject({ verdict: 'trailing-data', lost: { count: 0, vnodes: [] } });
  });

  it('corrupt mid-record: resynchronises at the next sound vnode record', async () => {
    const orig = sample('server-sample-full.dump');
    const { records } = await layoutOf(orig, false);
    const i = records.findIndex((r) => r.vnode === 5);
    const victim = records[i];
    const next = records[i + 1];
    const buf = fs.readFileSync(orig);
    buf[victim.offset + 9] = 0x99; // its first field tag
    const f = path.join(dir, 'corrupt.dump');
    fs.writeFileSync(f, buf);
    const { code, out } = json(['diagnose', '--json', f]);
    expect(code).toBe(1);
    expect(out.verdict).toBe('corrupt');
    expect(strip(out.lost.vnodes)).toEqual([{ vnode: 5, unique: victim.unique!, path: 'src', partial: true }]);
    expect(out.damage).toEqual([
      expect.objectContaining({ code: 'UNKNOWN_FIELD', offset: victim.offset, fileRanges: [{ start: victim.offset, end: next.offset }] }),
    ]);
    expect(out.index.large).toMatchObject({ declared: 4, surviving: 3, lost: 1 });
  });

  it('every sample dump is ok', async () => {
    for (const name of ['server-sample-full.dump', 'merge-incremental.dump', 'server-empty-full.dump']) {
      const a = await diagnoseFile(sample(name));
      expect(a.verdict).toBe('ok');
      expect(a.lost.vnodes).toEqual([]);
    }
  });
});

describe('unusable input and usage errors exit 2 with one line', () => {
  it.each([
    ['a missing file', (d: string) => [path.join(d, 'nope.dump')], /nope\.dump: cannot read: ENOENT/],
    ['an empty file', (d: string) => { fs.writeFileSync(path.join(d, 'empty'), ''); return [path.join(d, 'empty')]; }, /empty: at byte 0: empty file, not a dump/],
    ['random bytes', (d: string) => { fs.writeFileSync(path.join(d, 'rnd'), noise(100000, 5)); return [path.join(d, 'rnd')]; }, /rnd: at byte 0: not a Coda dump/],
    ['--log and --declared together', () => ['--log', 'x', '--declared', '1', sample('server-sample-full.dump')], /mutually exclusive|not both/],
    ['a bad --declared', () => ['--declared', '12abc', sample('server-sample-full.dump')], /--declared must be a whole number/],
    ['a log without the dump', (d: string) => { fs.writeFileSync(path.join(d, 'l.log'), '01:00:00 Dumping 1.2 to /elsewhere/x.dump ...\n'); return ['--log', path.join(d, 'l.log'), sample('server-sample-full.dump')]; }, /has no "Dumping \.\.\. to" line/],
    ['a bad --wrap-bits', () => ['--wrap-bits', '0', sample('server-sample-full.dump')], /wrap bits must be a whole number/],
  ])('%s', (_what, args, msg) => {
    const r = run(['diagnose', ...args(t.dir)]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
