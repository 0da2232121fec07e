/** Every real Coda dump in shared/samples parses, round-trips byte-exactly, and reads the same every way. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDump } from '../../src/format/open.js';
import { PositionalReader } from '../../src/format/positional.js';
import { encodeRecord } from '../../src/format/reencode.js';
import type { DumpRecord } from '../../src/format/types.js';
import { ROOT, SAMPLE_FILES, readAll, sample, streamReader } from '../helpers.js';
import { join } from 'node:path';

async function viaPositional(path: string): Promise<{ rec: DumpRecord; data?: Buffer }[]> {
  const p = await PositionalReader.open(path);
  const out: { rec: DumpRecord; data?: Buffer }[] = [];
  try {
    let at = 0;
    for (;;) {
      const rec = await p.recordAt(at);
      at = rec.offset + rec.size;
      if (rec.kind === 'vnode' && rec.data.kind === 'filedata') {
        const data = await p.bytesAt(rec.data.start, rec.data.length);
        out.push({ rec, data });
        at += rec.data.length;
      } else out.push({ rec });
      if (rec.kind === 'end') break;
    }
  } finally {
    await p.close();
  }
  return out;
}

const GOOD_FIXTURES = ['part/24Nov2025/srv1-7f000101.01000102', 'part/25Nov2025/srv1-7f000201.01000202'].map((f) => join(ROOT, 'fixtures', 'archive', f));

describe.each([...SAMPLE_FILES.map(sample), ...GOOD_FIXTURES])('dump %s', (path) => {
  const bytes = readFileSync(path);

  it('decodes to the end marker at exactly the end of the file, and re-encodes byte-identically', async () => {
    const recs = await readAll(await openDump(path));
    const last = recs[recs.length - 1].rec;
    expect(last.kind).toBe('end');
    expect(last.offset + last.size).toBe(bytes.length);
    const again = Buffer.concat(recs.flatMap((r) => (r.data ? [encodeRecord(r.rec), r.data] : [encodeRecord(r.rec)])));
    expect(again.equals(bytes)).toBe(true);
    expect(recs.every((r) => r.rec.notes === undefined)).toBe(true);
  });

  it('reads the same through a pipe one byte at a time and through the positional reader', async () => {
    const whole = await readAll(await openDump(path));
    const piped = await readAll(streamReader(bytes, 1));
    expect(piped).toEqual(whole);
    expect(await viaPositional(path)).toEqual(whole);
  });
});

describe('sample facts', () => {
  it('server-sample-full: 4 directories, 52 small vnodes, a symbolic link', async () => {
    const recs = (await readAll(await openDump(sample('server-sample-full.dump')))).map((r) => r.rec);
    const idx = recs.filter((r) => r.kind === 'index');
    expect(idx).toMatchObject([{ index: 'large', declared: 4, lists: 8, offset: 312 }, { index: 'small', declared: 52, lists: 52, offset: 9187 }]);
    const vnodes = recs.filter((r) => r.kind === 'vnode');
    expect(vnodes.filter((v) => v.type === 2)).toHaveLength(4);
    expect(vnodes.filter((v) => v.type !== 2)).toHaveLength(52);
    expect(vnodes.filter((v) => v.type === 3)).toHaveLength(1);
  });

  it('merge-incremental: RMVNODE 12.10', async () => {
    const recs = (await readAll(await openDump(sample('merge-incremental.dump')))).map((r) => r.rec);
    expect(recs.filter((r) => r.kind === 'rmvnode')).toEqual([{ kind: 'rmvnode', offset: 7106, size: 9, vnode: 12, unique: 10 }]);
    expect(recs[0]).toMatchObject({ kind: 'header', incremental: 1 });
  });
});
