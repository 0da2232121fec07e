/**
 * GZIP_CORRUPT: a gzip member whose header or deflate data does not decode,
 * with the compressed byte where it fails (RFC 1952 / RFC 1951 by hand).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hexBytes, run, tempDir } from '../helpers.js';

const t = tempDir('codadump-gzcorrupt-');
afterAll(() => t.cleanup());

/** A member header (RFC 1952 2.3): ID1 ID2, CM 8 (deflate), FLG, MTIME (4), XFL, OS 3 (Unix). */
const header = (flg: number) => hexBytes(`1f 8b 08 ${flg.toString(16).padStart(2, '0')} 00000000 00 03`);

function verify(name: string, bytes: Buffer) {
  const f = join(t.dir, name);
  writeFileSync(f, bytes);
  const j = run(['verify', '--json', f]);
  const text = run(['verify', '-v', f]);
  return { f, code: j.code, dump: JSON.parse(j.stdout).dumps[0], text };
}

describe('GZIP_CORRUPT', () => {
  it('reserved FLG bits (0xe0) in the member header: at compressed byte 0, error, exit 1', () => {
    const { f, code, dump, text } = verify('flags.dump.gz', Buffer.concat([header(0xe0), hexBytes('03 00')]));
    expect(code).toBe(1);
    expect(dump.problems.filter((p: { code: string }) => p.code.startsWith('GZIP'))).toEqual([
      { code: 'GZIP_CORRUPT', severity: 'error', offset: 0, message: 'gzip member 1 header reserved flag bits set (0xe0)', file: f },
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('error GZIP_CORRUPT at compressed byte 0: gzip member 1 header reserved flag bits set (0xe0)\n');
  });

  it('a deflate block of the reserved type (BTYPE 11, RFC 1951 3.2.3) right after the header: at byte 10, the first deflate byte', () => {
    // 0x07 = BFINAL 1, BTYPE 11 (bits 1-2, least significant first).
    const { code, dump, text } = verify('btype.dump.gz', Buffer.concat([header(0), hexBytes('07 00 00 00 00 00 00 00 00 00')]));
    expect(code).toBe(1);
    const g = dump.problems.find((p: { code: string }) => p.code === 'GZIP_CORRUPT');
    expect(g).toMatchObject({ code: 'GZIP_CORRUPT', severity: 'error', offset: 10 });
    expect(g.message).toMatch(/^gzip member 1: deflate data does not decode \(invalid block type\)$/);
    // This input once made verify end silently with exit 0 (a write to the failed inflater never called back).
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('GZIP_CORRUPT at compressed byte 10: ');
    expect(text.stderr).toBe('');
  });
});
