/**
 * The streaming merge (src/merge/stream.ts) against the present path
 * (`stream: false`: plan, then write pass): the same bytes, the same result
 * and warnings, the same refusals, and no output left where it refuses;
 * and it really streams where it should (streamCounts), and gives up where
 * it cannot (an unsorted full dump, damage), still with the same bytes.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mergeDumps, planMerge, tableOrder } from '../../src/merge/merge.js';
import { streamCounts } from '../../src/merge/stream.js';
import { DumpError } from '../../src/format/errors.js';
import { AtomicOutput } from '../../src/io/atomic-output.js';
import { sample, tempDir } from '../helpers.js';
import { buildTree, incrementalBytes, packBytes, type Spec } from '../extract/trees.js';

const FULL = sample('merge-full.dump');
const INC = sample('merge-incremental.dump');
const MERGED = sample('codamergedump-merged.dump');

type Outcome = { error: { code: string; message: string; offset?: number; file?: string } } | { result: unknown; bytes: Buffer };

async function outcome(dir: string, name: string, full: string, incs: string[], stream: boolean): Promise<Outcome> {
  const out = `${dir}/${name}`;
  try {
    const r = await mergeDumps(full, incs, out, { stream });
    return { result: { ...r, output: undefined }, bytes: readFileSync(out) };
  } catch (e) {
    if (!(e instanceof DumpError)) throw e;
    const named = (x: string | undefined) => x?.split(out).join('OUT');
    return { error: { code: e.code, message: named(e.message)!, offset: e.offset, file: named(e.file) } };
  }
}

/** Merge both ways; expect the same outcome and no temporary file left; returns the streamed one and how the stream went. */
async function both(dir: string, full: string, incs: string[]) {
  const before = { ...streamCounts };
  const s = await outcome(dir, 's.dump', full, incs, true);
  const how = { streamed: streamCounts.streamed - before.streamed, gaveUp: streamCounts.gaveUp - before.gaveUp };
  const p = await outcome(dir, 'p.dump', full, incs, false);
  expect(s).toEqual(p);
  expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  rmSync(`${dir}/s.dump`, { force: true });
  rmSync(`${dir}/p.dump`, { force: true });
  return { s, how };
}

const V1: Spec[] = [
  { path: 'docs', dir: true, mtime: 1_450_000_001 },
  { path: 'old', dir: true, mtime: 1_450_000_002 },
  { path: 'docs/a.txt', content: 'alpha', mtime: 1_400_000_001 },
  { path: 'docs/b.txt', content: Buffer.alloc(9000, 'b'), mtime: 1_400_000_002 },
  { path: 'old/x.txt', content: 'x-ray', mtime: 1_400_000_004 },
  { path: 'README', content: 'read me', mtime: 1_400_000_006 },
  { path: 'big', content: Buffer.alloc(1_100_000, 'g'), mtime: 1_400_000_007 },
];
// a.txt changed, old/ removed, new files (one of 1 MiB and more: copied, not through a window).
const V2: Spec[] = [
  { path: 'docs', dir: true, mtime: 1_450_000_001 },
  { path: 'docs/a.txt', content: 'ALPHA', mtime: 1_400_000_011 },
  { path: 'docs/b.txt', content: Buffer.alloc(9000, 'b'), mtime: 1_400_000_002 },
  { path: 'docs/new.txt', content: 'new!', mtime: 1_400_000_010 },
  { path: 'README', content: 'read me', mtime: 1_400_000_006 },
  { path: 'big', content: Buffer.alloc(1_100_000, 'g'), mtime: 1_400_000_007 },
  { path: 'big2', content: Buffer.alloc(1_200_000, 'h'), mtime: 1_400_000_012 },
];
// docs/ removed, README changed, one more file.
const V3: Spec[] = [
  { path: 'README', content: 'READ ME', mtime: 1_400_000_020 },
  { path: 'big', content: Buffer.alloc(1_100_000, 'g'), mtime: 1_400_000_007 },
  { path: 'big2', content: Buffer.alloc(1_200_000, 'h'), mtime: 1_400_000_012 },
  { path: 'v3.txt', content: 'three', mtime: 1_400_000_030 },
];

describe('merge streams the merged dump while it reads the full dump', () => {
  it('the samples: streamed, Coda\'s bytes', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { s, how } = await both(dir, FULL, [INC]);
      expect(how).toEqual({ streamed: 1, gaveUp: 0 });
      expect('bytes' in s && s.bytes.equals(readFileSync(MERGED))).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('several incrementals (changes, additions, RMVNODEs, long files), and one skipped: streamed, the same bytes and warnings', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/v1`, V1, 1_450_000_000);
      buildTree(`${dir}/v2`, V2, 1_450_000_100);
      buildTree(`${dir}/v3`, V3, 1_450_000_200);
      writeFileSync(`${dir}/full.dump`, await packBytes(`${dir}/v1`, { backupDate: 1000 }));
      writeFileSync(`${dir}/i1.dump`, await incrementalBytes(`${dir}/v2`, `${dir}/full.dump`, { backupDate: 2000 }));
      await mergeDumps(`${dir}/full.dump`, [`${dir}/i1.dump`], `${dir}/m1.dump`);
      writeFileSync(`${dir}/i2.dump`, await incrementalBytes(`${dir}/v3`, `${dir}/m1.dump`, { backupDate: 3000 }));
      const { s, how } = await both(dir, `${dir}/full.dump`, [`${dir}/i1.dump`, `${dir}/i2.dump`]);
      expect(how).toEqual({ streamed: 1, gaveUp: 0 });
      expect('result' in s && (s.result as { incrementals: { added: number; removed: number }[] }).incrementals.map((i) => [i.added, i.removed])).toEqual([[2, 2], [1, 4]]);
      // The second incremental alone: warnings (not against this base, RMVNODEs of vnodes the base does not hold), in order.
      const skip = await both(dir, `${dir}/full.dump`, [`${dir}/i2.dump`]);
      expect(skip.how).toEqual({ streamed: 1, gaveUp: 0 });
      const w = 'result' in skip.s ? (skip.s.result as { warnings: { code: string }[] }).warnings.map((x) => x.code) : [];
      expect(w[0]).toBe('NOT_AGAINST_BASE');
      expect(w.slice(1)).toContain('RMVNODE_MISSING');
      // The same incremental twice (its changes applied again, its RMVNODEs then missing).
      const twice = await both(dir, `${dir}/full.dump`, [`${dir}/i1.dump`, `${dir}/i1.dump`]);
      expect('error' in twice.s && twice.s.error.code).toBe('USAGE');
    } finally {
      cleanup();
    }
  });

  it('a full dump whose vnodes are not in slot order: the stream gives up, the same bytes', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // Swap two neighbouring vnodes of the small index (with their file data).
      const plan = await planMerge(FULL, [INC]);
      const es = [...tableOrder(plan.small)].filter((e) => e.src === 0).sort((a, b) => a.offset - b.offset);
      const i = es.findIndex((e, k) => k + 1 < es.length && e.offset + e.size + e.data === es[k + 1].offset);
      const [a, b] = [es[i], es[i + 1]];
      const bytes = readFileSync(FULL);
      const end = b.offset + b.size + b.data;
      const swapped = Buffer.concat([bytes.subarray(0, a.offset), bytes.subarray(b.offset, end), bytes.subarray(a.offset, b.offset), bytes.subarray(end)]);
      writeFileSync(`${dir}/full.dump`, swapped);
      const { s, how } = await both(dir, `${dir}/full.dump`, [INC]);
      expect(how).toEqual({ streamed: 0, gaveUp: 1 });
      expect('bytes' in s).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('damaged, cut or refused inputs: the same refusals, and no output', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const full = readFileSync(FULL);
      const inc = readFileSync(INC);
      // A vnode record of the small index whose first byte is no record tag (FORMAT.md 3).
      const plan = await planMerge(FULL, [INC]);
      const at = [...tableOrder(plan.small)].filter((e) => e.src === 0)[3].offset;
      const damaged = Buffer.from(full);
      damaged[at] = 0xee;
      const cases: [string, Buffer, Buffer][] = [
        ['cut in the small index', full.subarray(0, full.length - 5000), inc],
        ['cut end marker', full.subarray(0, full.length - 3), inc],
        ['trailing bytes after the full dump', Buffer.concat([full, Buffer.from('junk')]), inc],
        ['a damaged record', damaged, inc],
        // The end marker is its tag and a 4-byte magic (FORMAT.md 2).
        ['incremental without end marker', full, inc.subarray(0, inc.length - 5)],
        ['incremental with its end marker cut', full, inc.subarray(0, inc.length - 3)],
        ['incremental with trailing bytes', full, Buffer.concat([inc, Buffer.from('junkjunk')])],
        ['incremental cut short', full, inc.subarray(0, inc.length - 700)],
        ['the full dump as the incremental', full, full],
      ];
      const codes: string[] = [];
      for (const [what, f, i] of cases) {
        writeFileSync(`${dir}/f.dump`, f);
        writeFileSync(`${dir}/i.dump`, i);
        const { s } = await both(dir, `${dir}/f.dump`, [`${dir}/i.dump`]);
        codes.push(`${what}: ${'error' in s ? s.error.code : (s.result as { warnings: { code: string }[] }).warnings.map((w) => w.code).join(',') || 'ok'}`);
      }
      expect(codes[3]).not.toBe('a damaged record: ok');
      expect(codes).toEqual([
        'cut in the small index: TRUNCATED',
        'cut end marker: TRUNCATED',
        'trailing bytes after the full dump: TRAILING_DATA',
        `a damaged record: ${codes[3].split(': ')[1]}`,
        'incremental without end marker: NO_END_MARKER',
        'incremental with its end marker cut: TRUNCATED',
        'incremental with trailing bytes: TRAILING_DATA',
        'incremental cut short: TRUNCATED',
        'the full dump as the incremental: MERGE_REFUSED',
      ]);
      // An output that exists is refused after the inputs are read, as before (an input error first).
      writeFileSync(`${dir}/s.dump`, 'x');
      writeFileSync(`${dir}/p.dump`, 'x');
      expect((await outcome(dir, 's.dump', FULL, [INC], true)) as unknown).toMatchObject({ error: { code: 'EXISTS' } });
      writeFileSync(`${dir}/f.dump`, full.subarray(0, 9000));
      expect(await outcome(dir, 's.dump', `${dir}/f.dump`, [INC], true)).toEqual(await outcome(dir, 'p.dump', `${dir}/f.dump`, [INC], false));
      expect(readFileSync(`${dir}/s.dump`, 'latin1')).toBe('x');
    } finally {
      cleanup();
    }
  });

  it('AtomicOutput.patch (the index headers\' counts): bytes already written, flushed or still buffered, replaced in place', () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = new AtomicOutput(`${dir}/p.bin`, { bufferSize: 16 });
      out.write(Buffer.alloc(40, 0x61)); // straight to the file (longer than the buffer)
      out.write(Buffer.alloc(10, 0x62)); // buffered
      out.patch(2, Buffer.from('XY'));
      out.patch(44, Buffer.from('Z'));
      expect(() => out.patch(49, Buffer.from('no'))).toThrow(DumpError);
      out.write(Buffer.from('c'));
      out.commit();
      expect(readFileSync(`${dir}/p.bin`, 'latin1')).toBe('aaXY' + 'a'.repeat(36) + 'bbbbZbbbbb' + 'c');
    } finally {
      cleanup();
    }
  });
});
