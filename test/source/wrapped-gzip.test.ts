/**
 * A wrapped dump (model A1, W = 2^20) kept as gzip: diagnose and repair
 * decode it into a temporary file (--tmpdir) and find the same seam, the
 * same true length and the same lost vnodes as on the raw file; repair
 * writes gzip when the output name ends in .gz, byte for byte the raw
 * repair's output once decoded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tempDir } from '../helpers.js';
import { W20, layoutOf, makeTree, packDir, wrapTreeSpec } from '../diagnose/fixtures.js';
import { expectedA1Lost, strip } from '../diagnose/expect.js';
import { simulateFile } from '../../src/simulate/simulate.js';
import { diagnoseFile } from '../../src/diagnose/diagnose.js';
import { diagnosisJson } from '../../src/diagnose/report.js';
import { repairFile } from '../../src/repair/repair.js';
import { verifyArchive } from '../../src/check/archive.js';
import { verifyFile } from '../../src/check/verify.js';
import { wraparoundAnalyzer } from '../../src/diagnose/verify-hook.js';

const t = tempDir('codadump-wrapgz-');
let orig: string;
let damaged: string;
let gz: string;
let L: number;
let F: number;
const scratch = path.join(t.dir, 'scratch');

beforeAll(async () => {
  makeTree(path.join(t.dir, 'tree'), wrapTreeSpec(1.1));
  orig = path.join(t.dir, 'orig.dump');
  L = await packDir(path.join(t.dir, 'tree'), orig);
  damaged = path.join(t.dir, 'wrapped.dump');
  const sim = await simulateFile(orig, damaged, { receiver: 'A', wrapBits: 20 });
  expect(sim.outcome).toBe('A1');
  F = sim.fileSize;
  gz = path.join(t.dir, 'wrapped.dump.gz');
  fs.writeFileSync(gz, gzipSync(fs.readFileSync(damaged)));
  fs.mkdirSync(scratch);
});
afterAll(() => t.cleanup());

describe('a gzip of a wrapped dump', () => {
  it('diagnose: the same seam, true length and lost vnodes as the raw file; the temporary copy is removed', async () => {
    const s = F - W20;
    const e = L - W20;
    const want = expectedA1Lost((await layoutOf(orig, false)).records, s, e);
    const a = diagnosisJson(await diagnoseFile(damaged, { wrapBits: 20 }));
    const b = diagnosisJson(await diagnoseFile(gz, { wrapBits: 20, tmpdir: scratch }));
    expect(b.wraparound).toMatchObject({ model: 'A1', seamStart: s, seamEnd: e, streamLength: L });
    expect(b.wraparound).toEqual(a.wraparound);
    expect(strip(b.lost.vnodes)).toEqual(want);
    expect(b.lost).toEqual(a.lost);
    expect(b.size).toBe(F);
    expect(b.container).toMatchObject({ compression: 'gzip', compressedSize: fs.statSync(gz).size });
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it('verify: the wraparound is diagnosed through the gzip too', async () => {
    const r = await verifyArchive([damaged, gz], { analyze: wraparoundAnalyzer({ wrapBits: 20, tmpdir: scratch }) });
    expect(r.dumps.map((d) => d.verdict)).toEqual(['wraparound', 'wraparound']);
    const w = (d: (typeof r.dumps)[0]) => d.problems.find((p) => p.code === 'WRAPAROUND');
    expect(w(r.dumps[1])).toEqual(w(r.dumps[0]));
  });

  it('repair: the same output as from the raw file, written as gzip for a .gz name, and verified', async () => {
    const outRaw = path.join(t.dir, 'fixed.dump');
    const outGz = path.join(t.dir, 'fixed.dump.gz');
    const a = await repairFile(damaged, outRaw, { wrapBits: 20 });
    const b = await repairFile(gz, outGz, { wrapBits: 20, tmpdir: scratch });
    expect(a.verify.verdict).toBe('ok');
    expect(b.verify.verdict).toBe('ok');
    expect(b.dropped).toEqual(a.dropped);
    expect(b.bytesWritten).toBe(a.bytesWritten);
    const bytes = fs.readFileSync(outGz);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(gunzipSync(bytes).equals(fs.readFileSync(outRaw))).toBe(true);
    const v = await verifyFile(outGz);
    expect(v.verdict).toBe('ok');
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it('a --tmpdir that cannot be used is one clear error', async () => {
    await expect(diagnoseFile(gz, { wrapBits: 20, tmpdir: path.join(t.dir, 'no', 'such') })).rejects.toMatchObject({ code: 'IO' });
  });
});
