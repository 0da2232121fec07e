/**
 * COUNT_MISMATCH: a full dump whose index declares more vnodes than follow
 * it. Coda's merge reads exactly the declared number; codadump warns at the
 * index header and merges what is there.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeDumps } from '../../src/merge/merge.js';
import { run, sample, tempDir } from '../helpers.js';

const t = tempDir('codadump-countmm-');
afterAll(() => t.cleanup());

describe('COUNT_MISMATCH', () => {
  it("the small index of merge-full.dump declaring 27 vnodes where 26 follow: a warning at the index header's byte, exit 0", async () => {
    const full = Buffer.from(readFileSync(sample('merge-full.dump')));
    // FORMAT.md 3.3: SMALLINDEX (tag 3), 'v' int32 vnodes, 's' int32 lists. Found by its bytes, checked here.
    const at = full.indexOf(Buffer.from([3, 0x76, 0, 0, 0, 26, 0x73, 0, 0, 0, 26]));
    expect(at).toBe(9179);
    expect(full.indexOf(Buffer.from([3, 0x76, 0, 0, 0, 26, 0x73]), at + 1)).toBe(-1);
    full.writeUInt32BE(27, at + 2);
    const f = join(t.dir, 'full.dump');
    writeFileSync(f, full);
    const inc = sample('merge-incremental.dump');

    const res = await mergeDumps(f, [inc], join(t.dir, 'lib.dump'));
    expect(res.warnings).toEqual([
      expect.objectContaining({ code: 'COUNT_MISMATCH', severity: 'warning', offset: 9179, file: f }),
    ]);
    expect(res.warnings[0].message).toBe("the small index declares 27 vnodes but 26 follow (Coda's merge reads exactly the declared number)");

    const r = run(['merge', '--json', f, inc, '-o', join(t.dir, 'cli.dump')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings).toEqual([
      { code: 'COUNT_MISMATCH', severity: 'warning', offset: 9179, file: f, message: res.warnings[0].message },
    ]);
  });
});
