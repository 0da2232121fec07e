/**
 * simulate: the server's chunking (one item per field, file data in 4,096
 * pieces, 512,000-byte buffer) replayed through receiver models A, B and
 * append. The damaged files are checked byte by byte against the original
 * dump with the WRAPAROUND.md arithmetic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SAMPLE_FILES, run, sample, tempDir } from '../helpers.js';
import { openDump } from '../../src/format/open.js';
import { PositionalReader } from '../../src/format/positional.js';
import { recordItems } from '../../src/simulate/items.js';
import { encodeRecord } from '../../src/format/reencode.js';
import { W20, makeTree, packDir, sha256File, wrapTreeSpec } from '../diagnose/fixtures.js';

let t: { dir: string; cleanup: () => void };
let a1orig: string;
let okorig: string;

beforeAll(async () => {
  t = tempDir('codadump-sim-');
  makeTree(path.join(t.dir, 'tree-a1'), wrapTreeSpec(1.1));
  makeTree(path.join(t.dir, 'tree-ok'), wrapTreeSpec(0.55));
  a1orig = path.join(t.dir, 'a1.dump');
  okorig = path.join(t.dir, 'ok.dump');
  await packDir(path.join(t.dir, 'tree-a1'), a1orig);
  await packDir(path.join(t.dir, 'tree-ok'), okorig);
});
afterAll(() => t.cleanup());

describe('recordItems: one item per field, as the server reserves them', () => {
  it.each(SAMPLE_FILES)('%s: items concatenate to each record, cut at field boundaries', async (name) => {
    const pos = await PositionalReader.open(sample(name));
    const reader = await openDump(sample(name));
    try {
      for await (const rec of reader.records()) {
        const raw = await pos.bytesAt(rec.offset, rec.size);
        const items = recordItems(rec, raw);
        expect(Buffer.concat(items).equals(raw)).toBe(true);
        if (rec.kind === 'vnode') {
          expect(items[0].length).toBe(9); // VNODE vnode uniquifier (DumpDouble)
          expect(items[1]).toEqual(Buffer.from([0x74, rec.type])); // 't' byte
          const v = items.findIndex((b) => b.length === 1 && b[0] === 0x56); // 'V' then eleven longs then ENDVV
          expect(items.slice(v + 1, v + 12).every((b) => b.length === 5)).toBe(true);
          expect(items[v + 12]).toEqual(Buffer.from([7]));
          if (rec.data.kind === 'dirpages') {
            expect(items.slice(-rec.data.count).every((b) => b.length === 2049 && b[0] === 0x50)).toBe(true);
          }
          // The server's field order gives the same bytes as the encoder.
          expect(Buffer.concat(items).equals(encodeRecord(rec))).toBe(true);
        }
        if (rec.kind === 'header') expect(items[0].length).toBe(9);
      }
    } finally {
      await pos.close();
    }
  });
});

describe('simulate CLI', () => {
  it('append: byte-identical copy; chunks at most 512,000 bytes', () => {
    const out = path.join(t.dir, 'append.dump');
    const r = run(['simulate', '--receiver', 'append', a1orig, '-o', out, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(sha256File(out)).toBe(sha256File(a1orig));
    const L = fs.statSync(a1orig).size;
    expect(j).toMatchObject({ receiver: 'append', streamLength: L, fileSize: L, outcome: 'intact', wrapBits: 32 });
    // ceil(L / 512000) chunks at the very least, each as full as the items allow.
    expect(j.chunks).toBeGreaterThanOrEqual(Math.ceil(L / 512000));
    expect(j.chunks).toBeLessThanOrEqual(Math.ceil(L / (512000 - 4096)));
  });

  it('A with W = 2^20: the A1 layout, byte for byte', () => {
    const out = path.join(t.dir, 'a1-A.dump');
    const r = run(['simulate', '--receiver', 'A', '--wrap-bits', '20', a1orig, '-o', out, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const orig = fs.readFileSync(a1orig);
    const dmg = fs.readFileSync(out);
    const L = orig.length;
    const F = dmg.length;
    const s = F - W20;
    const e = L - W20;
    expect(j).toMatchObject({ outcome: 'A1', streamLength: L, fileSize: F, s, e, wrapSize: W20 });
    // F is the end of the chunk that straddles W.
    expect(j.straddler.offset).toBeLessThan(W20);
    expect(j.straddler.offset + j.straddler.length).toBe(F);
    expect(F).toBeLessThan(L);
    expect(dmg.subarray(0, s).equals(orig.subarray(0, s))).toBe(true); // intact head
    expect(dmg.subarray(s, e).equals(orig.subarray(F, L))).toBe(true); // the tail, written over the head
    expect(dmg.subarray(e, F).equals(orig.subarray(e, F))).toBe(true); // intact middle
    expect(dmg.subarray(e - 5, e).equals(Buffer.from([8, 0x3a, 0x21, 0x4b, 0x6e]))).toBe(true);
    expect(j.segments).toEqual([
      { fileStart: 0, streamStart: 0, length: s },
      { fileStart: s, streamStart: F, length: e - s },
      { fileStart: e, streamStart: e, length: F - e },
    ]);
  });

  it('text output reports chunks and F, s, e', () => {
    const out = path.join(t.dir, 'a1-A-text.dump');
    const r = run(['simulate', '--receiver', 'A', '--wrap-bits', '20', a1orig, '-o', out]);
    expect(r.code).toBe(0);
    const F = fs.statSync(out).size;
    const L = fs.statSync(a1orig).size;
    expect(r.stdout).toContain(`F = ${F} bytes`);
    expect(r.stdout).toContain(`A1: s = ${F - W20}, e = ${L - W20}`);
    expect(r.stdout).toMatch(/chunks +\d+ \(at most 512000 bytes each\)/);
  });

  it('A on a dump that ends inside the straddling chunk: intact (F = L)', () => {
    const out = path.join(t.dir, 'ok-A.dump');
    const r = run(['simulate', '--receiver', 'A', '--wrap-bits', '20', okorig, '-o', out, '--json']);
    const j = JSON.parse(r.stdout);
    expect(j.outcome).toBe('intact');
    expect(fs.statSync(okorig).size).toBeGreaterThan(W20);
    expect(sha256File(out)).toBe(sha256File(okorig));
  });

  it('B: chunks at offsets in [W/2, W) truncate and land at 0', () => {
    const out = path.join(t.dir, 'ok-B.dump');
    const r = run(['simulate', '--receiver', 'B', '--wrap-bits', '20', okorig, '-o', out, '--json']);
    const j = JSON.parse(r.stdout);
    expect(j.outcome).toBe('B');
    const orig = fs.readFileSync(okorig);
    // The last chunk with a 20-bit offset in [2^19, 2^20) truncated the file; nothing came after it.
    const [last] = j.segments;
    expect(j.segments).toHaveLength(1);
    expect(last.streamStart).toBeGreaterThanOrEqual(W20 / 2);
    expect(last.streamStart + last.length).toBe(orig.length);
    expect(fs.readFileSync(out).equals(orig.subarray(last.streamStart))).toBe(true);
  });

  it('refuses to overwrite without --force, never writes over its input, replaces with --force', () => {
    const out = path.join(t.dir, 'exists.dump');
    fs.writeFileSync(out, 'precious');
    let r = run(['simulate', '--receiver', 'A', '--wrap-bits', '20', a1orig, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exists\.dump already exists \(use --force to replace it\)/);
    expect(fs.readFileSync(out, 'utf8')).toBe('precious');
    const before = sha256File(a1orig);
    r = run(['simulate', '--receiver', 'A', '--wrap-bits', '20', a1orig, '-o', a1orig, '--force']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the output is the input file/);
    expect(sha256File(a1orig)).toBe(before);
    r = run(['simulate', '--receiver', 'append', a1orig, '-o', out, '--force']);
    expect(r.code).toBe(0);
    expect(sha256File(out)).toBe(before);
    expect(fs.readdirSync(t.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('a damaged input: one-line error, exit 2, no output left behind', () => {
    const bad = path.join(t.dir, 'trunc.dump');
    fs.writeFileSync(bad, fs.readFileSync(okorig).subarray(0, 700000));
    const out = path.join(t.dir, 'never.dump');
    const r = run(['simulate', '--receiver', 'A', bad, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/trunc\.dump: at byte \d+: input ends/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(t.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('usage errors exit 2', () => {
    expect(run(['simulate', '--receiver', 'C', a1orig, '-o', 'x']).code).toBe(2);
    expect(run(['simulate', '--receiver', 'A', '--wrap-bits', '49', a1orig, '-o', path.join(t.dir, 'y')]).code).toBe(2);
  });
});
