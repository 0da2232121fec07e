/**
 * Amanda pieces (issue 13, the gaps): SPLIT_FILE parts joined when they are
 * beside one another, a missing part reported by number; a continuation piece
 * (CONT_FILE, SPLIT_FILE part n>1) read alone is reported, never skipped in
 * silence; and the commands that read by position (pack --incremental-from,
 * simulate) read compressed inputs too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyFile } from '../../src/check/verify.js';
import { verifyArchive } from '../../src/check/archive.js';
import { packDirectory } from '../../src/pack/pack-file.js';
import { simulateFile } from '../../src/simulate/simulate.js';
import { rejection, run, sample, tempDir } from '../helpers.js';
import { SMALL_TREE, makeTree } from '../tree.js';

const t = tempDir('codadump-amanda-parts-');
afterAll(() => t.cleanup());
const raw = fs.readFileSync(sample('server-sample-full.dump'));
const gz = gzipSync(raw);
let n = 0;
const fresh = (): string => {
  const d = path.join(t.dir, `d${n++}`);
  fs.mkdirSync(d);
  return d;
};

/** An Amanda header block by hand (FORMAT.md section 6): the FILE line (SPLIT_FILE: `part n/total` after the disk), more lines, a form feed line, NUL padding to 32 KiB. */
function header(type: string, part: string | null, more: string[] = []): Buffer {
  const b = Buffer.alloc(32768);
  const first = `AMANDA: ${type} 20240102030405 fileserver /vicepa ${part ? `part ${part} ` : ''}lev 0 comp .gz program /usr/sbin/volutil`;
  b.write([first, ...more, '\f', ''].join('\n'), 'latin1');
  return b;
}

const DUMP = 'fileserver:/vicepa level 0 date 20240102030405';

/** The gzip'd dump in SPLIT_FILE parts cut at `cuts`, named as on a virtual tape (file number first). */
function splitInto(d: string, cuts: number[], total: string): string[] {
  const at = [0, ...cuts, gz.length];
  const files: string[] = [];
  for (let i = 0; i + 1 < at.length; i++) {
    const f = path.join(d, `0000${i + 1}.fileserver._vicepa.0`);
    fs.writeFileSync(f, Buffer.concat([header('SPLIT_FILE', `${i + 1}/${total}`), gz.subarray(at[i], at[i + 1])]));
    files.push(f);
  }
  return files;
}

describe('SPLIT_FILE parts', () => {
  it('three parts beside one another are read as one stream from part 1; a directory holds one dump', async () => {
    const d = fresh();
    const parts = splitInto(d, [300_000, 600_000], '3');
    const r = await verifyFile(parts[0]);
    expect(r.verdict).toBe('ok');
    expect(r.size).toBe(raw.length);
    expect(r.container).toMatchObject({ compression: 'gzip', pieces: parts, compressedSize: gz.length, amanda: { type: 'SPLIT_FILE', part: '1/3' } });
    const dir = await verifyArchive([d]);
    expect(dir.dumps.map((x) => [path.basename(x.path), x.verdict])).toEqual([['00001.fileserver._vicepa.0', 'ok']]);
    expect(dir.summary.skippedFiles).toBe(2);
  });

  it('a total Amanda did not know (part n/UNKNOWN): the parts found, in order', async () => {
    const d = fresh();
    const parts = splitInto(d, [400_000], 'UNKNOWN');
    const r = await verifyFile(parts[0]);
    expect(r.verdict).toBe('ok');
    expect(r.container!.pieces).toEqual(parts);
  });

  it('a missing part: truncated, reported by number at the end of the last part read', async () => {
    const d = fresh();
    const parts = splitInto(d, [300_000, 600_000], '3');
    fs.rmSync(parts[1]);
    const r = await verifyFile(parts[0]);
    expect(r.verdict).toBe('truncated');
    const miss = r.problems.filter((p) => p.code === 'AMANDA_PIECE_MISSING');
    expect(miss).toEqual([
      expect.objectContaining({
        severity: 'error',
        offset: 32768 + 300_000,
        file: parts[0],
        message: `part 2/3 of the split dump ${DUMP} (SPLIT_FILE) is missing: no file beside ${parts[0]} holds it; the stream ends with ${parts[0]}`,
      }),
    ]);
  });

  it('a later part given alone: unreadable, AMANDA_ORPHAN_PIECE naming part 1 (exit 1)', async () => {
    const d = fresh();
    const parts = splitInto(d, [300_000], '2');
    const rep = await verifyArchive([parts[1]]);
    expect(rep.dumps.map((x) => x.verdict)).toEqual(['unreadable']);
    expect(rep.dumps[0].problems).toEqual([
      {
        code: 'AMANDA_ORPHAN_PIECE', severity: 'error', offset: 0,
        message: `part 2/2 of a split dump (SPLIT_FILE) of ${DUMP}: its data starts inside the compressed stream and cannot be read alone; its first piece is ${parts[0]}: read that`,
      },
    ]);
    const cli = run(['verify', parts[1]]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`unreadable    ${parts[1]}  `);
  });
});

describe('CONT_FILE pieces without their first piece', () => {
  it('alone in a directory: a candidate, unreadable with AMANDA_ORPHAN_PIECE, never skipped in silence', async () => {
    const d = fresh();
    const piece = path.join(d, 'fileserver._vicepa.0.1');
    fs.writeFileSync(piece, Buffer.concat([header('CONT_FILE', null), gz.subarray(200_000)]));
    const rep = await verifyArchive([d]);
    expect(rep.dumps.map((x) => [x.path, x.verdict])).toEqual([[piece, 'unreadable']]);
    expect(rep.dumps[0].problems.map((p) => [p.code, p.offset, p.message])).toEqual([
      ['AMANDA_ORPHAN_PIECE', 0, `a continuation piece of a split holding-disk dump (CONT_FILE) of ${DUMP}: its data starts inside the compressed stream and cannot be read alone; the piece it continues is not beside it`],
    ]);
    // With its first piece beside it: read with it, not a dump of its own.
    fs.writeFileSync(path.join(d, 'fileserver._vicepa.0'), Buffer.concat([header('FILE', null, ['CONT_FILENAME=/amanda/holding/20240102/fileserver._vicepa.0.1']), gz.subarray(0, 200_000)]));
    const both = await verifyArchive([d]);
    expect(both.dumps.map((x) => [path.basename(x.path), x.verdict])).toEqual([['fileserver._vicepa.0', 'ok']]);
    // Given by name, it says where its dump starts.
    const named = await verifyArchive([piece]);
    expect(named.dumps[0].problems[0].message).toMatch(/; its first piece is .*fileserver\._vicepa\.0: read that$/);
  });
});

describe('pack --incremental-from and simulate read compressed inputs', () => {
  it('pack --incremental-from BASE.gz: the same incremental as from the raw base; a cut base stops it (exit 2 on the CLI)', async () => {
    const d = fresh();
    const tree = path.join(d, 'tree');
    makeTree(tree, SMALL_TREE);
    const base = path.join(d, 'base.dump');
    await packDirectory(tree, base, { backupDate: 1_700_000_000 });
    fs.writeFileSync(`${base}.gz`, gzipSync(fs.readFileSync(base)));
    fs.writeFileSync(path.join(tree, 'README'), 'changed\n');
    fs.writeFileSync(path.join(tree, 'new-file'), 'new\n');
    const a = await packDirectory(tree, path.join(d, 'inc-raw.dump'), { backupDate: 1_700_000_100, incrementalFrom: base });
    const b = await packDirectory(tree, path.join(d, 'inc-gz.dump'), { backupDate: 1_700_000_100, incrementalFrom: `${base}.gz`, tmpdir: d });
    expect(b.incremental!.stats).toEqual(a.incremental!.stats);
    expect(b.incremental!.stats.added.files).toBe(1);
    expect(fs.readFileSync(path.join(d, 'inc-gz.dump')).equals(fs.readFileSync(path.join(d, 'inc-raw.dump')))).toBe(true);
    // The decoded copy went away.
    expect(fs.readdirSync(d).filter((f) => f.startsWith('codadump-'))).toEqual([]);
    const cut = path.join(d, 'cut.gz');
    fs.writeFileSync(cut, gzipSync(fs.readFileSync(base)).subarray(0, 300));
    const e = await rejection(packDirectory(tree, path.join(d, 'never.dump'), { incrementalFrom: cut }));
    expect(e.code).toBe('GZIP_TRUNCATED');
    expect(e.describe()).toBe(`${cut}: gzip member 1 is cut short: the input ends inside its compressed data (at compressed byte 300)`);
    expect(fs.existsSync(path.join(d, 'never.dump'))).toBe(false);
  });

  it('simulate of a gzip: the same damaged file as from the raw dump', async () => {
    const d = fresh();
    const gzf = path.join(d, 'in.dump.gz');
    fs.writeFileSync(gzf, gz);
    const a = await simulateFile(sample('server-sample-full.dump'), path.join(d, 'a.out'), { receiver: 'A', wrapBits: 18 });
    const b = await simulateFile(gzf, path.join(d, 'b.out'), { receiver: 'A', wrapBits: 18, tmpdir: d });
    expect(b.input).toBe(gzf);
    expect({ ...b, input: a.input, output: a.output }).toEqual(a);
    expect(fs.readFileSync(path.join(d, 'b.out')).equals(fs.readFileSync(path.join(d, 'a.out')))).toBe(true);
    expect(fs.readdirSync(d).sort()).toEqual(['a.out', 'b.out', 'in.dump.gz']);
  });
});
