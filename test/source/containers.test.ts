/**
 * Compressed and wrapped dumps (issue 13): gzip (one or several members),
 * Amanda header blocks (FORMAT.md section 6), split holding-disk pieces,
 * external decompressors, container findings at compressed offsets, and
 * verdicts for files that are no dump at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { SAMPLE_FILES, run, sample, tempDir } from '../helpers.js';
import { verifyFile } from '../../src/check/verify.js';
import { verifyArchive } from '../../src/check/archive.js';
import { mergeDumps } from '../../src/merge/merge.js';
import { writeDumpFile } from '../../src/io/write-dump.js';
import { diagnoseFile } from '../../src/diagnose/diagnose.js';
import { wraparoundAnalyzer } from '../../src/diagnose/verify-hook.js';
import type { DumpError } from '../../src/diagnostics/errors.js';
import { DUMP_HEAD, DUMP_END, sniff, parseAmandaHeader } from '../../src/source/sniff.js';
import { DUMP_BEGIN_MAGIC, END_MARKER } from '../../src/format/constants.js';

const t = tempDir('codadump-containers-');
const SERVER = sample('server-sample-full.dump');
const raw = fs.readFileSync(SERVER);
const put = (name: string, b: Buffer): string => {
  const p = path.join(t.dir, name);
  fs.writeFileSync(p, b);
  return p;
};
afterAll(() => t.cleanup());

/** An Amanda header block by hand (FORMAT.md section 6): text lines, a form feed line, NUL padding to 32 KiB. */
function amandaHeader(type: string, comp: string, more: string[] = []): Buffer {
  const lines = [
    `AMANDA: ${type} 20240102030405 fileserver /vicepa lev 0 comp ${comp} program /usr/sbin/volutil`,
    ...more,
    'To restore, position tape at start of file and run:',
    `\tdd if=<tape> bs=32k skip=1 | ${comp === 'N' ? '' : '/bin/gzip -dc | '}codadump restore`,
    '\f',
    '',
  ];
  const b = Buffer.alloc(32768);
  b.write(lines.join('\n'), 'latin1');
  return b;
}

describe('sniff', () => {
  it('the dump magic agrees with the format constants', () => {
    expect(DUMP_HEAD[0]).toBe(1);
    expect(DUMP_HEAD.readUInt32BE(1)).toBe(DUMP_BEGIN_MAGIC);
    expect(DUMP_END.equals(END_MARKER)).toBe(true);
  });
  it('tells formats apart by their magic', () => {
    expect(sniff(raw.subarray(0, 64)).kind).toBe('dump');
    expect(sniff(Buffer.from([0x1f, 0x8b, 8, 0])).kind).toBe('gzip');
    expect(sniff(Buffer.from('BZh91AY&SY')).kind).toBe('bzip2');
    expect(sniff(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])).kind).toBe('xz');
    expect(sniff(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])).kind).toBe('zstd');
    expect(sniff(Buffer.from([0x1f, 0x9d, 0x90])).kind).toBe('compress');
    expect(sniff(Buffer.from('PK\x03\x04rest', 'latin1')).kind).toBe('archive');
    expect(sniff(Buffer.from('hello, world\n')).kind).toBe('unknown');
  });
  it('reads an Amanda header: type, host, disk, level, date, comp, CONT_FILENAME', () => {
    const h = parseAmandaHeader(amandaHeader('SPLIT_FILE', '.gz', ['CONT_FILENAME=/holding/x.1', 'PARTIAL=no']).subarray(0, 32768));
    expect(h).toEqual({
      type: 'SPLIT_FILE', datestamp: '20240102030405', host: 'fileserver', disk: '/vicepa', level: 0, comp: '.gz',
      program: '/usr/sbin/volutil', part: null, contFilename: '/holding/x.1', partial: false,
    });
    const withHead = Buffer.concat([amandaHeader('FILE', 'N'), raw.subarray(0, 16)]);
    expect(sniff(withHead)).toMatchObject({ kind: 'amanda', inner: 'dump' });
  });
});

describe('gzip', () => {
  it.each(SAMPLE_FILES)('gzip of %s verifies like the raw dump', async (name) => {
    const rawResult = await verifyFile(sample(name));
    const gz = put(`${name}.gz`, gzipSync(fs.readFileSync(sample(name))));
    const r = await verifyFile(gz);
    expect(r.verdict).toBe(rawResult.verdict);
    expect(r.problems).toEqual(rawResult.problems);
    expect(r.size).toBe(rawResult.size);
    expect(r.header).toEqual(rawResult.header);
    expect(r.counts).toEqual(rawResult.counts);
    expect(r.container).toMatchObject({ compression: 'gzip', members: 1, compressedSize: fs.statSync(gz).size, decodedSize: rawResult.size });
  });

  it('several members read as one stream; --deep hashes the dump stream', async () => {
    const gz = put('multi.gz', Buffer.concat([gzipSync(raw.subarray(0, 300_001)), gzipSync(raw.subarray(300_001))]));
    const r = await verifyFile(gz, { deep: true, fileDigests: false });
    const plain = await verifyFile(SERVER, { deep: true, fileDigests: false });
    expect(r.verdict).toBe('ok');
    expect(r.container!.members).toBe(2);
    expect(r.sha256).toBe(plain.sha256);
  });

  it('a truncated gzip: the dump is truncated, and the member is cut at the compressed end', async () => {
    const whole = gzipSync(raw);
    const gz = put('cut.gz', whole.subarray(0, 400_000));
    const r = await verifyFile(gz);
    expect(r.verdict).toBe('truncated');
    const g = r.problems.find((p) => p.code === 'GZIP_TRUNCATED')!;
    expect(g.offset).toBe(400_000);
    expect(r.problems.some((p) => p.code === 'TRUNCATED')).toBe(true);
    // The dump bytes that came out are a prefix of the original.
    expect(r.size!).toBeGreaterThan(390_000);
    expect(r.size!).toBeLessThan(raw.length);
  });

  it('a gzip whose trailer is cut: the dump is whole, the container is truncated', async () => {
    const whole = gzipSync(raw);
    const r = await verifyFile(put('notrailer.gz', whole.subarray(0, whole.length - 3)));
    expect(r.verdict).toBe('truncated');
    expect(r.problems.map((p) => [p.code, p.offset])).toEqual([['GZIP_TRUNCATED', whole.length - 3]]);
  });

  it('a bad CRC and a bad ISIZE are reported at the trailer, with the dump itself sound', async () => {
    const whole = gzipSync(raw);
    const crc = Buffer.from(whole);
    crc[crc.length - 8] ^= 0xff;
    const r1 = await verifyFile(put('crc.gz', crc));
    expect(r1.verdict).toBe('corrupt');
    expect(r1.problems.map((p) => [p.code, p.offset])).toEqual([['GZIP_CRC', whole.length - 8]]);
    const size = Buffer.from(whole);
    size.writeUInt32LE(raw.length + 1, size.length - 4);
    const r2 = await verifyFile(put('isize.gz', size));
    expect(r2.problems.map((p) => [p.code, p.offset])).toEqual([['GZIP_SIZE', whole.length - 4]]);
    expect(r2.problems[0].message).toContain(`declares ${raw.length + 1} bytes`);
  });

  it('bytes after the last member: a warning, and zero padding only info', async () => {
    const whole = gzipSync(raw);
    const r1 = await verifyFile(put('trail.gz', Buffer.concat([whole, Buffer.from('junk after')])));
    expect(r1.verdict).toBe('ok');
    expect(r1.problems).toMatchObject([{ code: 'GZIP_TRAILING', severity: 'warning', offset: whole.length }]);
    const r2 = await verifyFile(put('pad.gz', Buffer.concat([whole, Buffer.alloc(32768)])));
    expect(r2.problems).toMatchObject([{ code: 'GZIP_TRAILING', severity: 'info', offset: whole.length }]);
  });

  it('a gzip of a damaged dump keeps the dump verdict; the container problem is added', async () => {
    const cut = raw.subarray(0, 500_000);
    const rawR = await verifyFile(put('cut.dump', cut));
    const whole = gzipSync(cut);
    const bad = Buffer.from(whole);
    bad[bad.length - 8] ^= 1;
    const r = await verifyFile(put('cut-crc.gz', bad));
    expect(rawR.verdict).toBe('truncated');
    expect(r.verdict).toBe('truncated');
    expect(r.problems.filter((p) => p.code !== 'GZIP_CRC')).toEqual(rawR.problems);
    expect(r.problems.find((p) => p.code === 'GZIP_CRC')!.offset).toBe(whole.length - 8);
  });

  it('verify DIR finds .gz dumps by content and skips gzip of other files', () => {
    const d = path.join(t.dir, 'dir');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'vol.dump.gz'), gzipSync(raw));
    fs.writeFileSync(path.join(d, 'notes.txt.gz'), gzipSync(Buffer.from('not a dump\n')));
    const r = run(['verify', '--json', d]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.dumps.map((x: { path: string; verdict: string }) => [path.basename(x.path), x.verdict])).toEqual([['vol.dump.gz', 'ok']]);
    expect(out.dumps[0].container).toMatchObject({ compression: 'gzip', compressedSize: fs.statSync(path.join(d, 'vol.dump.gz')).size, decodedSize: raw.length });
    expect(out.summary.skippedFiles).toBe(1);
  });

  it('inspect, ls and redump - read gzip (also on standard input)', () => {
    const gz = put('in.gz', gzipSync(raw));
    const a = run(['ls', SERVER]);
    const b = run(['ls', gz]);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const c = run(['verify', '-'], { input: gzipSync(raw) });
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^ok +- +862101 bytes \(gzip, \d+ compressed bytes\)/);
    // redump - from a gzip file on standard input: the dump, byte for byte.
    const out = path.join(t.dir, 'redumped.dump');
    const fd = fs.openSync(gz, 'r');
    try {
      const d = run(['redump', '-', '-o', out], { stdin: fd });
      expect(d.code).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.readFileSync(out).equals(raw)).toBe(true);
  });
});

describe('Amanda', () => {
  it('comp N: the raw dump after the 32 KiB header, its header shown', async () => {
    const f = put('amanda-n', Buffer.concat([amandaHeader('FILE', 'N'), raw]));
    const r = await verifyFile(f);
    expect(r.verdict).toBe('ok');
    expect(r.size).toBe(raw.length);
    expect(r.container!.amanda).toMatchObject({ type: 'FILE', host: 'fileserver', disk: '/vicepa', level: 0, datestamp: '20240102030405', comp: 'N' });
    const text = run(['verify', f]);
    expect(text.stdout).toContain('Amanda FILE fileserver:/vicepa level 0 date 20240102030405');
  });

  it('comp .gz: gzip after the header; container offsets count the header', async () => {
    const gz = gzipSync(raw);
    const bad = Buffer.from(gz);
    bad[bad.length - 8] ^= 1;
    const f = put('amanda-gz', Buffer.concat([amandaHeader('FILE', '.gz'), bad]));
    const r = await verifyFile(f);
    expect(r.verdict).toBe('corrupt');
    expect(r.container).toMatchObject({ compression: 'gzip', amanda: { comp: '.gz' } });
    expect(r.problems.map((p) => [p.code, p.offset])).toEqual([['GZIP_CRC', 32768 + gz.length - 8]]);
  });

  it('a dump split across two holding-disk pieces is read as one stream; a missing piece is named', async () => {
    const d = path.join(t.dir, 'holding');
    fs.mkdirSync(d);
    const gz = gzipSync(raw);
    const k = 200_000;
    const first = path.join(d, 'fileserver._vicepa.0');
    fs.writeFileSync(first, Buffer.concat([amandaHeader('FILE', '.gz', ['CONT_FILENAME=/amanda/holding/20240102/fileserver._vicepa.0.1']), gz.subarray(0, k)]));
    fs.writeFileSync(path.join(d, 'fileserver._vicepa.0.1'), Buffer.concat([amandaHeader('CONT_FILE', '.gz'), gz.subarray(k)]));
    const r = await verifyFile(first);
    expect(r.verdict).toBe('ok');
    expect(r.container!.pieces).toEqual([first, path.join(d, 'fileserver._vicepa.0.1')]);
    // The directory holds one dump: the continuation piece is read with its first piece.
    const v = JSON.parse(run(['verify', '--json', d]).stdout);
    expect(v.dumps.map((x: { verdict: string }) => x.verdict)).toEqual(['ok']);
    fs.rmSync(path.join(d, 'fileserver._vicepa.0.1'));
    const m = await verifyFile(first);
    expect(m.verdict).toBe('truncated');
    const miss = m.problems.find((p) => p.code === 'AMANDA_PIECE_MISSING')!;
    expect(miss.file).toBe('/amanda/holding/20240102/fileserver._vicepa.0.1');
    expect(miss.message).toContain('fileserver._vicepa.0.1');
  });
});

describe('other compressors', () => {
  it('a missing decompressor: unreadable, naming the program; --decompress-with decodes it', () => {
    const f = put('vol.dump.bz2', Buffer.concat([Buffer.from('BZh9'), raw]));
    const empty = path.join(t.dir, 'empty-path');
    fs.mkdirSync(empty);
    const r = run(['verify', f], { env: { PATH: empty } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^unreadable +\S+vol\.dump\.bz2 .*DECOMPRESSOR_MISSING at byte 0: bzip2-compressed, but 'bzip2' is not on PATH/);
    // Any command that writes the dump stream: here one that drops the 4 magic bytes.
    const ok = run(['verify', '--decompress-with', 'tail -c +5', f]);
    expect(ok.stdout).toMatch(/^ok +\S+ +862101 bytes \(decoded by 'tail -c \+5', 862105 compressed bytes\)/);
    expect(ok.code).toBe(0);
  });

  it('a failing decompressor is reported with its message', async () => {
    const f = put('fail.bz2', Buffer.concat([Buffer.from('BZh9'), raw.subarray(0, 1000)]));
    const r = await verifyFile(f, { decompressWith: 'echo broken input >&2; exit 3' });
    expect(r.problems.find((p) => p.code === 'DECOMPRESSOR_FAILED')!.message).toContain('exit status 3): broken input');
  });
});

describe('never a false wraparound', () => {
  const kinds: [string, () => Buffer, string][] = [
    ['random bytes', () => Buffer.from(Array.from({ length: 700_000 }, (_, i) => (i * 2654435761) >>> 24)), 'not-a-dump'],
    ['text', () => Buffer.from('line of text\n'.repeat(50_000)), 'not-a-dump'],
    ['gzip of a dump, renamed, with a bad CRC', () => { const g = gzipSync(raw); g[g.length - 8] ^= 1; return g; }, 'corrupt'],
    ['gzip of text', () => gzipSync(Buffer.from('text\n'.repeat(10_000))), 'not-a-dump'],
    ['zip-like', () => Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), raw.subarray(1000)]), 'not-a-dump'],
    ['tar-like', () => { const b = Buffer.alloc(10240); b.write('ustar', 257); return Buffer.concat([b, raw.subarray(5)]); }, 'not-a-dump'],
    ['a dump without its head, ending in an end marker only', () => Buffer.concat([Buffer.alloc(600_000, 0x41), END_MARKER]), 'not-a-dump'],
    ['an Amanda tape label', () => Buffer.concat([amandaHeader('TAPESTART', 'N'), raw.subarray(40)]), 'not-a-dump'],
  ];
  it.each(kinds)('%s: %s', async (name, make, want) => {
    const f = put(`junk-${name.replace(/\W+/g, '-')}`, make());
    const rep = await verifyArchive([f], { analyze: wraparoundAnalyzer({}) });
    const v = rep.dumps[0];
    expect(v.verdict).toBe(want);
    expect(v.problems.some((p) => p.code === 'WRAPAROUND')).toBe(false);
    let verdict: string;
    try {
      verdict = (await diagnoseFile(f)).verdict;
    } catch (e) {
      verdict = (e as DumpError).code;
    }
    expect(verdict).not.toBe('wraparound');
  });
});

describe('merge and pack with gzip', () => {
  it('merge reads gzip inputs and writes gzip for a .gz name: the same dump as from raw files', async () => {
    const full = put('mf.dump.gz', gzipSync(fs.readFileSync(sample('merge-full.dump'))));
    const inc = put('mi.dump.gz', gzipSync(fs.readFileSync(sample('merge-incremental.dump'))));
    const outRaw = path.join(t.dir, 'merged.dump');
    const outGz = path.join(t.dir, 'merged.dump.gz');
    await mergeDumps(sample('merge-full.dump'), [sample('merge-incremental.dump')], outRaw);
    const r = await mergeDumps(full, [inc], outGz);
    const bytes = fs.readFileSync(outGz);
    expect([bytes[0], bytes[1], bytes[2]]).toEqual([0x1f, 0x8b, 8]);
    expect(r.bytes).toBe(fs.statSync(outRaw).size);
    expect(gunzipSync(bytes).equals(fs.readFileSync(outRaw))).toBe(true);
    expect((await verifyFile(outGz)).verdict).toBe('ok');
  });

  it('gzip output is members of 1 MiB of dump each, and refuses to overwrite', async () => {
    const data = Buffer.concat([raw, raw]);
    const out = path.join(t.dir, 'two.gz');
    const items = [{ data }] as unknown as Parameters<typeof writeDumpFile>[1];
    const res = await writeDumpFile(out, items as never);
    expect(res).toEqual({ path: out, bytes: data.length, gzip: true });
    const z = fs.readFileSync(out);
    expect(gunzipSync(z).equals(data)).toBe(true);
    // Member boundaries: the second member starts where the first one's deflate data and trailer end.
    const first = gzipSync(data.subarray(0, 1 << 20));
    expect(z.subarray(0, first.length).equals(first)).toBe(true);
    await expect(writeDumpFile(out, items as never)).rejects.toMatchObject({ code: 'EXISTS' });
  });
});
