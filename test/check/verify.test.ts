/** verify on purpose-built damaged dumps: verdict, problem code and exact byte offset. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFile } from '../../src/check/verify.js';
import type { Vnode, DumpRecord } from '../../src/format/types.js';
import { readAll, streamReader, tempDir } from '../helpers.js';
import { SMALL_TREE, makeTree, packToBuffer } from '../tree.js';

let t: { dir: string; cleanup: () => void };
let good: Buffer;
let recs: DumpRecord[];
let n = 0;

beforeAll(async () => {
  t = tempDir();
  makeTree(join(t.dir, 'tree'), SMALL_TREE);
  good = await packToBuffer(join(t.dir, 'tree'));
  recs = (await readAll(streamReader(good))).map((r) => r.rec);
});
afterAll(() => t.cleanup());

async function check(bytes: Buffer) {
  const p = join(t.dir, `d${n++}.dump`);
  writeFileSync(p, bytes);
  return verifyFile(p);
}

function damaged(edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(good);
  edit(b);
  return b;
}

const vnode = (v: number) => recs.find((r) => r.kind === 'vnode' && r.vnode === v) as Vnode;
const codes = (r: { problems: { code: string }[] }) => r.problems.map((p) => p.code);

describe('verify', () => {
  it('a good dump is ok with no problems', async () => {
    const r = await check(good);
    expect(r.verdict).toBe('ok');
    expect(r.problems).toEqual([]);
    expect(r.streamLength).toBe(good.length);
    expect(r.size).toBe(good.length);
    expect(r.counts).toEqual({ directories: 3, files: 7, removed: 0 });
  });

  it('truncated: the offset where the input ends, and the missing file bytes', async () => {
    const v = vnode(12); // 10000 bytes of data
    const cut = v.data.kind === 'filedata' ? v.data.start + 4000 : 0;
    const r = await check(good.subarray(0, cut));
    expect(r.verdict).toBe('truncated');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ code: 'TRUNCATED', offset: cut });
    expect(r.problems[0].message).toContain('6000 of 10000 bytes missing');
  });

  it('trailing data: the offset of the first extra byte and the count', async () => {
    const r = await check(Buffer.concat([good, Buffer.from('garbage!!')]));
    expect(r.verdict).toBe('trailing-data');
    expect(r.problems).toEqual([{ code: 'TRAILING_DATA', severity: 'error', offset: good.length, message: '9 bytes of trailing data after the end marker' }]);
  });

  it('a flipped FILEDATA count breaks the structure at the next record', async () => {
    const v = vnode(6); // 1 byte of data
    if (v.data.kind !== 'filedata') throw new Error('fixture');
    const at = v.data.offset + 1;
    const r = await check(damaged((b) => b.writeUInt32BE(3, at)));
    expect(r.verdict).toBe('corrupt');
    // 'L' (1) no longer matches the count; then the reader skips 3 bytes and lands
    // 2 bytes into the next VNODE record, where it finds no record tag.
    expect(r.problems[0]).toMatchObject({ code: 'SIZE_MISMATCH', offset: v.data.offset, vnode: '6.6' });
    expect(r.problems[1]).toMatchObject({ code: 'UNEXPECTED_TAG', offset: v.data.start + 3 });
    expect(r.problems).toHaveLength(2);
  });

  it("declared 'L' against the FILEDATA count", async () => {
    const v = vnode(10);
    const lAt = v.offset + 9 + 2 + 3 + 3 + 1; // VNODE tag+ids, 't' 2, 'b' 3, 'l' 3, then the 'L' tag
    expect(good[lAt - 1]).toBe(0x4c);
    const r = await check(damaged((b) => b.writeUInt32BE(801, lAt)));
    expect(r.verdict).toBe('corrupt');
    expect(r.problems).toMatchObject([{ code: 'SIZE_MISMATCH', offset: (v.data as { offset: number }).offset, vnode: '10.8' }]);
  });

  it('a bad directory page tag, at the byte offset of the page', async () => {
    const d = vnode(3);
    if (d.data.kind !== 'dirpages') throw new Error('fixture');
    const pageAt = d.data.offset + 5 + 1; // DIRPAGES tag, count, 'P'
    const r = await check(damaged((b) => b.writeUInt32BE(1235, pageAt)));
    expect(r.verdict).toBe('corrupt');
    expect(r.problems[0]).toMatchObject({ code: 'DIR_PAGE_TAG', offset: pageAt, vnode: '3.2' });
  });

  it('index declared count against records found', async () => {
    const small = recs.find((r) => r.kind === 'index' && r.index === 'small')!;
    const r = await check(damaged((b) => b.writeUInt32BE(9, small.offset + 2)));
    expect(r.verdict).toBe('corrupt');
    expect(r.problems).toMatchObject([{ code: 'INDEX_COUNT', offset: small.offset, message: 'small index declares 9 vnodes but 7 follow' }]);
  });

  it('index with 0 lists', async () => {
    const large = recs.find((r) => r.kind === 'index' && r.index === 'large')!;
    const r = await check(damaged((b) => b.writeUInt32BE(0, large.offset + 7)));
    expect(codes(r)).toContain('INDEX_LISTS');
    expect(r.problems.find((p) => p.code === 'INDEX_LISTS')!.offset).toBe(large.offset);
  });

  it('header: version, volume id, name terminator', async () => {
    let r = await check(damaged((b) => b.writeUInt32BE(3, 5)));
    expect(r.problems).toMatchObject([{ code: 'BAD_VERSION', offset: 5 }]);
    r = await check(damaged((b) => b.writeUInt32BE(0, 10)));
    expect(r.problems).toMatchObject([{ code: 'HEADER_VOLUME_ID', offset: 0 }]);
    // 'n' field at 19: tag, length 12, "test.backup\0": make the NUL an 'x'.
    r = await check(damaged((b) => (b[19 + 5 + 11] = 0x78)));
    expect(r.problems).toMatchObject([{ code: 'STRING_NOT_TERMINATED', offset: 19 }]);
    expect(r.verdict).toBe('corrupt');
  });

  it('not a dump', async () => {
    const r = await check(Buffer.from('just some text, no dump here\n'));
    expect(r.verdict).toBe('not-a-dump');
    expect(r.problems).toMatchObject([{ code: 'NOT_A_DUMP', offset: 0 }]);
  });

  it('bad end magic', async () => {
    const r = await check(damaged((b) => b.writeUInt32BE(0x3a214b6f, b.length - 4)));
    expect(r.problems).toMatchObject([{ code: 'BAD_END_MAGIC', offset: good.length - 4 }]);
  });

  it('an unknown field tag cannot be skipped: corrupt at the tag', async () => {
    const v = vnode(8);
    const r = await check(damaged((b) => (b[v.offset + 9] = 0x5a))); // 't' -> 'Z'
    expect(r.verdict).toBe('corrupt');
    expect(r.problems).toMatchObject([{ code: 'UNKNOWN_FIELD', offset: v.offset + 9 }]);
  });

  it('a file vnode in the directory index, and a type that says directory in the file index', async () => {
    const v = vnode(2);
    const r = await check(damaged((b) => (b[v.offset + 10] = 2)));
    expect(r.verdict).toBe('corrupt');
    expect(r.problems.filter((p) => p.offset === v.offset).map((p) => p.code)).toContain('VNODE_CLASS');
  });

  it('vnode numbers that decrease, and a uniquifier no directory names', async () => {
    const v = vnode(8);
    const r = await check(damaged((b) => b.writeUInt32BE(4, v.offset + 1))); // 8.7 becomes 4.7 after 6.6
    expect(r.problems.find((p) => p.code === 'VNODE_ORDER')).toMatchObject({ offset: v.offset, vnode: '4.7' });
    // docs names 8.7, which no longer exists; 4.7 is reachable from nowhere.
    expect(r.problems.find((p) => p.code === 'DANGLING_ENTRY')).toMatchObject({ offset: vnode(3).offset, vnode: '3.2' });
    expect(r.problems.find((p) => p.code === 'UNREACHABLE')).toMatchObject({ offset: v.offset, vnode: '4.7', severity: 'warning' });
  });

  it('a parent that is not in the dump', async () => {
    const v = vnode(14);
    const pAt = v.offset + v.size - 5 - 5 - 5 + 1; // the record ends 'p' int32, 'q' int32, FILEDATA count
    expect(good[pAt - 1]).toBe(0x70);
    const r = await check(damaged((b) => b.writeUInt32BE(7, pAt)));
    expect(r.problems).toMatchObject([{ code: 'PARENT_MISSING', offset: v.offset, vnode: '14.10' }]);
  });

  it('an access list that does not parse', async () => {
    const root = vnode(1);
    const aclText = good.indexOf('System:AnyUser\t9', root.offset);
    const r = await check(damaged((b) => (b[aclText + 15] = 0x78))); // rights "9" -> "x"
    expect(r.problems[0]).toMatchObject({ code: 'ACL_BAD', offset: root.offset, vnode: '1.1' });
  });

  it('truncation at every byte position: truncated or not-a-dump, never a crash', async () => {
    // Every cut of a real server dump, and every 7th cut of the packed tree.
    const { readFileSync } = await import('node:fs');
    const { sample } = await import('../helpers.js');
    const server = readFileSync(sample('server-empty-full.dump'));
    const p = join(t.dir, 'cut.dump');
    for (const [dump, step] of [[server, 1], [good, 7]] as const) {
      const counts: Record<string, number> = {};
      for (let cut = 0; cut < dump.length; cut += step) {
        writeFileSync(p, dump.subarray(0, cut));
        const r = await verifyFile(p);
        counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
        if (cut < 5) expect(r.verdict).toBe('not-a-dump');
        else {
          expect(r.verdict).toBe('truncated');
          expect(r.problems.find((x) => x.code === 'TRUNCATED')!.offset).toBe(cut);
        }
      }
      expect(Object.keys(counts).sort()).toEqual(['not-a-dump', 'truncated']);
    }
  }, 120_000);

  it('--deep: SHA-256 of the whole file and of each file vnode', async () => {
    const p = join(t.dir, 'deep.dump');
    writeFileSync(p, good);
    const r = await verifyFile(p, { deep: true });
    const { createHash } = await import('node:crypto');
    expect(r.sha256).toBe(createHash('sha256').update(good).digest('hex'));
    expect(r.fileDigests!.get('2.4')).toBe(createHash('sha256').update('hello, coda\n').digest('hex'));
    expect(r.fileDigests!.size).toBe(7);
  });
});
