/**
 * Every failure the CLI fuzz and the limit tests found, fixed, pinned here
 * with the exact input (a real dump with one field patched) and the exact
 * outcome. (extract's are in extract-regressions.test.ts.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeDumps, planMerge } from '../../src/merge/merge.js';
import { rejection, sample, tempDir } from '../helpers.js';

const t = tempDir('codadump-regress-');
afterAll(() => t.cleanup());

/** `name` with the large index's 's' (list count) set to `lists`; the index header is tag 4, 'v' int32, 's' int32 (FORMAT.md 3.3). */
function withLists(name: string, lists: number): string {
  const b = readFileSync(sample(name));
  const at = b.indexOf(Buffer.from([4, 0x76]));
  expect(b[at + 6]).toBe(0x73);
  b.writeUInt32BE(lists, at + 7);
  const p = join(t.dir, `${name}.lists-${lists}`);
  writeFileSync(p, b);
  return p;
}

describe('merge: an index declaring 2^32-1 lists (found by test/fuzz/limits.test.ts: merge hung, allocating an array per declared list)', () => {
  it('as the full dump: refused at once, naming the incremental', async () => {
    const full = withLists('merge-full.dump', 0xffffffff);
    const err = await rejection(planMerge(full, [sample('merge-incremental.dump')]));
    expect(err.code).toBe('MERGE_REFUSED');
    expect(err.describe()).toBe(`${sample('merge-incremental.dump')}: the full dump has more vnode slots than the incremental: 4294967295 large lists in the base, 8 in ${sample('merge-incremental.dump')}`);
  });

  it('as the incremental: merged, the list count carried into the output as Coda does, nothing allocated by it', async () => {
    const incr = withLists('merge-incremental.dump', 0xffffffff);
    const out = join(t.dir, 'merged.dump');
    const r = await mergeDumps(sample('merge-full.dump'), [incr], out);
    expect(r.large).toEqual({ declared: 4, lists: 0xffffffff, vnodes: 4 });
    // The rest is the expected merge byte for byte: only the large index's 's' differs from Coda's own.
    const want = readFileSync(sample('codamergedump-merged.dump'));
    const got = readFileSync(out);
    const at = want.indexOf(Buffer.from([4, 0x76]));
    want.writeUInt32BE(0xffffffff, at + 7);
    expect(got.equals(want)).toBe(true);
  });
});
