/**
 * redump and compression (issue 13): writing one gzip stream (--gzip, or an
 * output name ending in .gz), atomically, verified and read back; and
 * reading a compressed dump from a pipe on standard input, sniffed by
 * content like every other input.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { verifyFile } from '../../src/check/verify.js';
import { readBackGzip, redump } from '../../src/redump/redump.js';
import { BIN, rejection, run, sample, tempDir } from '../helpers.js';

let t: { dir: string; cleanup: () => void };
let d = '';
let n = 0;
beforeAll(() => {
  t = tempDir('codadump-redump-gzip-');
});
afterAll(() => t.cleanup());
beforeEach(() => {
  d = join(t.dir, `case${n++}`);
  mkdirSync(d);
});

const SERVER = sample('server-sample-full.dump');
const raw = readFileSync(SERVER);
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const entries = () => readdirSync(d).sort();
/** Raw dump bytes as a stream in 100,000-byte pieces. */
const pieces = (b: Buffer) => Readable.from((function* () {
  for (let i = 0; i < b.length; i += 100_000) yield b.subarray(i, i + 100_000);
})());

/** An Amanda header block by hand (FORMAT.md section 6): one text line, a form feed line, NUL padding to 32 KiB. */
function amandaHeader(type: string, comp: string): Buffer {
  const b = Buffer.alloc(32768);
  b.write(`AMANDA: ${type} 20240102030405 fileserver /vicepa lev 0 comp ${comp} program /usr/sbin/volutil\n\f\n`, 'latin1');
  return b;
}

describe('redump writes gzip', () => {
  it('x.dump.gz: gzip -dc gives the raw redump byte for byte; one gzip member; verify reads it ok', async () => {
    const plain = join(d, 'x.dump');
    const gz = join(d, 'x.dump.gz');
    const a = await redump(pieces(raw), plain);
    const r = await redump(pieces(raw), gz, { gzip: true });
    const z = readFileSync(gz);
    expect(r).toMatchObject({ ok: true, committed: true, verdict: 'ok', bytes: raw.length, directIo: false, gzip: { compressedBytes: z.length, readBack: true } });
    expect(a.gzip).toBeUndefined();
    // The SHA-256 is the dump's, as for a raw output.
    expect(r.sha256).toBe(a.sha256);
    // RFC 1952: ID1 ID2 CM=8 (deflate); the trailer's ISIZE is the dump's size (mod 2^32).
    expect([z[0], z[1], z[2]]).toEqual([0x1f, 0x8b, 8]);
    expect(z.readUInt32LE(z.length - 4)).toBe(raw.length);
    const unz = spawnSync('gzip', ['-dc', gz], { maxBuffer: 16 << 20 });
    expect(unz.status).toBe(0);
    expect(unz.stdout.equals(readFileSync(plain))).toBe(true);
    expect(unz.stdout.equals(raw)).toBe(true);
    const v = await verifyFile(gz);
    expect(v.verdict).toBe('ok');
    expect(v.container).toMatchObject({ compression: 'gzip', members: 1, compressedSize: z.length, decodedSize: raw.length });
    expect(entries()).toEqual(['x.dump', 'x.dump.gz']);
  });

  it('an existing output without force: EXISTS, untouched', async () => {
    const out = join(d, 'x.dump.gz');
    writeFileSync(out, 'keep me');
    const e = await rejection(redump(pieces(raw), out, { gzip: true }));
    expect(e.code).toBe('EXISTS');
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(entries()).toEqual(['x.dump.gz']);
  });

  it('a full disk while writing gzip: IO ENOSPC, nothing left', async () => {
    const out = join(d, 'x.dump.gz');
    const e = await rejection(redump(pieces(raw), out, { gzip: true, failAfterBytes: 300_000 }));
    expect(e.describe()).toBe(`${out}: cannot write output: ENOSPC (no space left on device, write)`);
    expect(entries()).toEqual([]);
  });

  it('a stream that does not verify: not ok, no .gz written', async () => {
    const out = join(d, 'x.dump.gz');
    const r = await redump(pieces(raw.subarray(0, 600_000)), out, { gzip: true });
    expect(r).toMatchObject({ ok: false, committed: false, verdict: 'truncated', failure: { reason: 'verify' } });
    expect(entries()).toEqual([]);
  });

  it('readBackGzip: a file that decodes to other bytes is caught', async () => {
    const f = join(d, 'f.gz');
    writeFileSync(f, gzipSync(raw));
    const sha = createHash('sha256').update(raw).digest('hex');
    expect(await readBackGzip(f, raw.length, sha)).toBeNull();
    expect(await readBackGzip(f, raw.length + 1, sha)).toBe(`it decodes to ${raw.length} bytes, ${raw.length + 1} were written`);
    expect(await readBackGzip(f, raw.length, '0'.repeat(64))).toBe(`it decodes to SHA-256 ${sha}, the dump written has ${'0'.repeat(64)}`);
    const cut = gzipSync(raw).subarray(0, 1000);
    writeFileSync(f, cut);
    expect(await readBackGzip(f, raw.length, sha)).toBe('GZIP_TRUNCATED at compressed byte 1000: gzip member 1 is cut short: the input ends inside its compressed data');
  });

  it('CLI: --gzip with any output name; the text output says so', () => {
    const tree = join(d, 'tree');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    writeFileSync(join(tree, 'sub', 'a.txt'), 'hello\n'.repeat(1000));
    const out = join(d, 'plain-name');
    const r = run(['redump', '--gzip', '--backup-date', '1700000000', '-o', out, '--tree', tree]);
    expect(r.code, r.stderr).toBe(0);
    const z = readFileSync(out);
    expect([z[0], z[1]]).toEqual([0x1f, 0x8b]);
    const size = gunzipSync(z).length;
    expect(r.stdout).toContain(`\nsize:       ${size} bytes\ngzip:       ${z.length} compressed bytes (one gzip stream), read back: the same ${size} bytes\n`);
    expect(r.stdout).not.toContain('direct I/O');
  });
});

describe('redump - reads compressed input from a pipe', () => {
  it('cat x.dump.gz | codadump redump - -o out: the dump, byte for byte', () => {
    const gz = join(d, 'x.dump.gz');
    writeFileSync(gz, gzipSync(raw));
    const out = join(d, 'out.dump');
    const sh = spawnSync('/bin/sh', ['-c', `cat ${q(gz)} | ${q(process.execPath)} ${q(BIN)} redump - -o ${q(out)}`]);
    expect(sh.status, sh.stderr.toString()).toBe(0);
    expect(readFileSync(out).equals(raw)).toBe(true);
  });

  it('an Amanda holding file (comp .gz, two members) on a pipe, to a .gz: header skipped, members read as one stream', () => {
    const out = join(d, 'out.dump.gz');
    const input = Buffer.concat([amandaHeader('FILE', '.gz'), gzipSync(raw.subarray(0, 100_000)), gzipSync(raw.subarray(100_000))]);
    const r = run(['redump', '-', '-o', out], { input });
    expect(r.code, r.stderr).toBe(0);
    expect(gunzipSync(readFileSync(out)).equals(raw)).toBe(true);
  });

  it('a small raw dump (shorter than the sniffed head) still goes straight through', () => {
    const small = readFileSync(sample('server-empty-full.dump'));
    const out = join(d, 'small.dump');
    const r = run(['redump', '-', '-o', out], { input: small });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out).equals(small)).toBe(true);
  });

  it('bzip2 magic with no bzip2 on PATH: exit 2 naming the program; --decompress-with decodes it', () => {
    const fake = Buffer.concat([Buffer.from('BZh9'), raw]);
    const empty = join(d, 'empty-path');
    mkdirSync(empty);
    const out = join(d, 'out.dump');
    const r = run(['redump', '-', '-o', out], { input: fake, env: { PATH: empty } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: -: at byte 0: bzip2-compressed, but 'bzip2' is not on PATH: install it or give --decompress-with CMD; ${out} not written\n`);
    expect(entries()).toEqual(['empty-path']);
    // Any command that writes the dump stream: here one that drops the 4 magic bytes.
    const ok = run(['redump', '-', '-o', out, '--decompress-with', 'tail -c +5'], { input: fake });
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(out).equals(raw)).toBe(true);
  });

  it('a cut gzip on a pipe: exit 2 at the compressed offset, nothing written', () => {
    const out = join(d, 'out.dump');
    const r = run(['redump', '-', '-o', out], { input: gzipSync(raw).subarray(0, 400_000) });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: -: gzip member 1 is cut short: the input ends inside its compressed data (at compressed byte 400000); ${out} not written\n`);
    expect(entries()).toEqual([]);
  });

  it('an Amanda continuation piece on a pipe: exit 2, AMANDA_ORPHAN_PIECE, nothing written', () => {
    const out = join(d, 'out.dump');
    const piece = Buffer.alloc(32768);
    piece.write('AMANDA: CONT_FILE 20240102030405 fileserver /vicepa lev 0 comp .gz program /usr/sbin/volutil\n\f\n', 'latin1');
    const r = run(['redump', '-', '-o', out], { input: Buffer.concat([piece, gzipSync(raw).subarray(1000)]) });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'codadump: error: -: at byte 0: a continuation piece of a split holding-disk dump (CONT_FILE) of fileserver:/vicepa level 0 date 20240102030405: ' +
        `its data starts inside the compressed stream and cannot be read alone; give its first piece; ${out} not written\n`,
    );
    expect(entries()).toEqual([]);
  });

  it('--decompress-with goes with - only', () => {
    const r = run(['redump', '-o', join(d, 'o.dump'), '--tree', d, '--decompress-with', 'cat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("codadump: --decompress-with goes with - (standard input) only\nTry 'codadump --help'.\n");
    expect(entries()).toEqual([]);
  });
});
