/**
 * StructureChecker's cross references on hand-made records: the pair index
 * (reserved, grown, pairs seen twice, pairs that are not 32-bit numbers),
 * directory entries kept packed (names back for messages, `.` and `..`),
 * and the `vnodes` view.
 */
import { describe, expect, it } from 'vitest';
import { StructureChecker } from '../../src/check/checker.js';
import { encodeDirectory, type DirEntry } from '../../src/dir/pages.js';
import type { DumpRecord, Vnode } from '../../src/format/types.js';

const ACL = '2\n0\nSystem:AnyUser\t9\nSystem:Administrators\t127\n';
let at = 1000;

function header(incremental = 0): DumpRecord {
  return { kind: 'header', offset: 0, size: 40, magic: 0, version: 2, volumeId: 7, parentId: 7, name: 'v', backupDate: 0, incremental, oldest: 0, latest: 0, fields: 'vpnbiI' };
}

const VOLUME = { kind: 'volume', offset: 40, size: 200, weekUse: [0, 0, 0, 0, 0, 0, 0], fields: 'ivnPs+utpgcbqmxdflaoCAUEBOMWDZV' } as unknown as DumpRecord;

function index(cls: 'large' | 'small', declared: number): DumpRecord {
  return { kind: 'index', offset: (at += 10), size: 10, index: cls, declared, lists: 1 << 20 };
}

function vnode(v: number, u: number, parent: [number, number], extra: Partial<Vnode>): Vnode {
  return {
    kind: 'vnode', offset: (at += 100), size: 90, vnode: v, unique: u, type: 1, mode: 0o644, linkCount: 1, length: 0, dataVersion: 1,
    vv: { versions: [0, 0, 0, 0, 0, 0, 0, 0], storeHost: 0, storeUniq: 0, flags: 0 }, mtime: 0, author: 0, owner: 0,
    parent: parent[0], parentUnique: parent[1], data: { kind: 'filedata', offset: at + 80, length: 0, start: at + 85 }, fields: 'tblLvVmaopq', ...extra,
  };
}

function dir(v: number, u: number, parent: [number, number], entries: DirEntry[]): Vnode {
  const pages = encodeDirectory([{ name: '.', vnode: v, unique: u }, { name: '..', vnode: parent[0], unique: parent[1] }, ...entries]);
  return vnode(v, u, parent, { type: 2, mode: 0o755, length: pages.length, acl: ACL, fields: 'tblLvVmaopqX', data: { kind: 'dirpages', offset: at + 80, count: pages.length / 2048, pages } });
}

function check(records: DumpRecord[], vnodes = false): StructureChecker {
  const c = new StructureChecker({ maxPerCode: 100_000, vnodes });
  for (const r of records) c.record(r);
  c.record({ kind: 'end', offset: (at += 10), size: 5, magic: 0x3a214b6e });
  c.finish(true);
  return c;
}

const codes = (c: StructureChecker) => c.problems.map((p) => [p.code, p.vnode]);

describe('StructureChecker cross references', () => {
  it('a sound tree of thousands of files: the pair index grows past what the index declared', () => {
    const files = Array.from({ length: 5000 }, (_, i) => ({ name: `f${i}`, vnode: 2 * i + 2, unique: 100 + i }));
    const sub = Array.from({ length: 40 }, (_, i) => ({ name: `d${i}`, vnode: 2 * i + 3, unique: 10_000 + i }));
    const records: DumpRecord[] = [header(), VOLUME, index('large', 2)];
    records.push(dir(1, 1, [1, 1], sub));
    for (let i = 0; i < 40; i++) records.push(dir(2 * i + 3, 10_000 + i, [1, 1], files.slice(i * 125, (i + 1) * 125)));
    records.push(index('small', 7));
    for (let i = 0; i < 5000; i++) records.push(vnode(2 * i + 2, 100 + i, [2 * Math.floor(i / 125) + 3, 10_000 + Math.floor(i / 125)], {}));
    const c = check(records, true);
    expect(codes(c)).toEqual([['INDEX_COUNT', undefined], ['INDEX_COUNT', undefined]]);
    // Without the vnodes option the same findings, and no vnodes to give.
    const slim = check(records);
    expect(slim.problems).toEqual(c.problems);
    expect(slim.countVnodes()).toEqual({ directories: 41, files: 5000 });
    expect(() => slim.vnodes).toThrow(/vnodes option/);
    expect(c.countVnodes()).toEqual({ directories: 41, files: 5000 });
    // The packed entries give back every name, vnode and blob.
    const d3 = c.vnodes.find((v) => v.vnode === 3)!;
    expect(d3.entries!.map((e) => e.name)).toEqual(expect.arrayContaining(['.', '..', 'f0', 'f124']));
    expect(d3.entries).toHaveLength(127);
    expect(d3.entries!.find((e) => e.name === 'f7')).toMatchObject({ vnode: 16, unique: 107, blob: expect.any(Number) });
  });

  it('dangling entries name the entry (any bytes), and what no entry reaches is reported', () => {
    const records: DumpRecord[] = [header(), VOLUME, index('large', 2)];
    records.push(dir(1, 1, [1, 1], [{ name: 'caf\xe9', vnode: 8, unique: 9 }, { name: 'ok', vnode: 2, unique: 5 }, { name: '.hidden', vnode: 4, unique: 6 }]));
    records.push(index('small', 3));
    records.push(vnode(2, 5, [1, 1], {}), vnode(4, 6, [1, 1], {}), vnode(6, 7, [3, 3], {}));
    const c = check(records);
    expect(c.problems).toEqual([
      expect.objectContaining({ code: 'INDEX_COUNT' }),
      // The name's bytes shown as UTF-8 (a lone 0xe9 is not).
      expect.objectContaining({ code: 'DANGLING_ENTRY', vnode: '1.1', message: 'directory entry "caf\ufffd" names vnode 8.9, which is not in the dump' }),
      expect.objectContaining({ code: 'PARENT_MISSING', vnode: '6.7', message: 'parent 3.3 is not in the dump' }),
      expect.objectContaining({ code: 'UNREACHABLE', vnode: '6.7' }),
    ]);
  });

  it('a parent that comes after its child is found; one that never comes is missing, once per child, in order', () => {
    const records: DumpRecord[] = [header(), VOLUME, index('large', 3)];
    // Directory 3 names 5 as its parent before 5 comes; 7's parent 9.9 never comes.
    records.push(dir(1, 1, [1, 1], [{ name: 'a', vnode: 5, unique: 6 }]));
    records.push(dir(3, 4, [5, 6], []), dir(5, 6, [1, 1], [{ name: 'b', vnode: 3, unique: 4 }]));
    records.push(index('small', 2), vnode(2, 3, [9, 9], {}), vnode(4, 5, [9, 9], {}));
    const c = check(records);
    expect(c.problems.filter((p) => p.code === 'PARENT_MISSING').map((p) => [p.vnode, p.message])).toEqual([
      ['2.3', 'parent 9.9 is not in the dump'],
      ['4.5', 'parent 9.9 is not in the dump'],
    ]);
    expect(check(records, true).problems).toEqual(c.problems);
  });

  it('a record past 2^40 bytes keeps its exact offset (the columns hold 40 bits)', () => {
    const records: DumpRecord[] = [header(), VOLUME, index('large', 1)];
    records.push(dir(1, 1, [1, 1], []));
    records.push(index('small', 2));
    const near = vnode(2, 3, [1, 1], {});
    near.offset = 2 ** 40 - 100;
    const far = vnode(4, 5, [1, 1], {});
    far.offset = 2 ** 40 + 2 ** 33 + 17;
    records.push(near, far);
    const c = check(records);
    expect(c.problems.map((p) => [p.code, p.vnode, p.offset])).toEqual([
      ['UNREACHABLE', '2.3', 2 ** 40 - 100],
      ['UNREACHABLE', '4.5', 2 ** 40 + 2 ** 33 + 17],
    ]);
  });

  it('a pair seen twice: VNODE_DUPLICATE, and the last of the two is the one entries reach', () => {
    const records: DumpRecord[] = [header(), VOLUME, index('large', 1)];
    records.push(dir(1, 1, [1, 1], [{ name: 'a', vnode: 2, unique: 5 }]));
    records.push(index('small', 3));
    records.push(vnode(2, 5, [1, 1], {}), vnode(2, 5, [1, 1], {}), vnode(4, 6, [1, 1], {}));
    const c = check(records);
    expect(codes(c)).toEqual([
      ['VNODE_DUPLICATE', '2.5'],
      ['UNREACHABLE', '4.6'],
    ]);
  });

  it('a vnode before any index, then again inside one: not a duplicate, and reachable', () => {
    const records: DumpRecord[] = [header(), VOLUME, vnode(2, 5, [1, 1], {}), index('large', 1)];
    records.push(dir(1, 1, [1, 1], [{ name: 'a', vnode: 2, unique: 5 }]));
    records.push(index('small', 1), vnode(2, 5, [1, 1], {}));
    expect(codes(check(records))).toEqual([['ORDER', undefined]]);
  });

  it('numbers that are not 32-bit (hand-made records) are kept and looked up exactly', () => {
    const big = 2 ** 33 + 1;
    const records: DumpRecord[] = [header(), VOLUME, index('large', 1)];
    records.push(dir(1, 1, [1, 1], [{ name: 'a', vnode: 2, unique: 5 }]));
    records.push(index('small', 3));
    records.push(vnode(2, 5, [1, 1], {}), vnode(4, big, [1, 1], {}), vnode(6, 7, [4, big], {}), vnode(4, big, [1, 1], {}));
    const c = check(records, true);
    expect(check(records).problems).toEqual(c.problems);
    expect(codes(c)).toEqual([
      ['VNODE_ORDER', `4.${big}`],
      ['VNODE_DUPLICATE', `4.${big}`],
      ['INDEX_COUNT', undefined],
      ['UNREACHABLE', `4.${big}`],
      ['UNREACHABLE', '6.7'],
      ['UNREACHABLE', `4.${big}`],
    ]);
    expect(c.vnodes.map((v) => [v.vnode, v.unique, v.parentUnique])).toEqual([[1, 1, 1], [2, 5, 1], [4, big, 1], [6, 7, big], [4, big, 1]]);
  });

  it('vnodes out of order in more runs than the binary search takes: duplicates found before and after the switch to a table', () => {
    // Small index: 24, 22, 24 again (a duplicate while runs are searched), then 20, 18, ..., 2 (each a new run:
    // more than 8 runs, so a hash table from then on), then 10 again (a duplicate found in the table).
    const evens = Array.from({ length: 12 }, (_, i) => 24 - 2 * i);
    const records: DumpRecord[] = [header(), VOLUME, index('large', 1)];
    records.push(dir(1, 1, [1, 1], evens.map((v) => ({ name: `f${v}`, vnode: v, unique: v + 1 }))));
    records.push(index('small', 14));
    const order = [24, 22, 24, ...evens.slice(2), 10];
    for (const v of order) records.push(vnode(v, v + 1, [1, 1], {}));
    const c = check(records);
    const want: (string | undefined)[][] = [];
    for (let k = 1; k < order.length; k++) {
      const last = Math.max(...order.slice(0, k));
      if (order[k] < last) want.push(['VNODE_ORDER', `${order[k]}.${order[k] + 1}`]);
      if (order.slice(0, k).includes(order[k])) want.push(['VNODE_DUPLICATE', `${order[k]}.${order[k] + 1}`]);
    }
    expect(want).toContainEqual(['VNODE_DUPLICATE', '24.25']);
    expect(want).toContainEqual(['VNODE_DUPLICATE', '10.11']);
    // Every file is reached (by its last record), none is missing.
    expect(codes(c)).toEqual(want);
  });

  it('a record whose end lies more than 4 GiB past its start keeps its exact end', () => {
    const records: DumpRecord[] = [header(), VOLUME, index('large', 1)];
    records.push(dir(1, 1, [1, 1], [{ name: 'big', vnode: 2, unique: 3 }]));
    records.push(index('small', 1));
    const v = vnode(2, 3, [1, 1], { length: 2 ** 32 + 7 });
    v.data = { kind: 'filedata', offset: v.offset + 80, length: 2 ** 32 + 7, start: v.offset + 85 };
    records.push(v);
    const c = check(records, true);
    expect(codes(c)).toEqual([]);
    expect(c.vnodes[1]).toMatchObject({ vnode: 2, offset: v.offset, end: v.offset + 85 + 2 ** 32 + 7, size: 2 ** 32 + 7 });
  });

  it('an incremental dump reserves nothing and checks no references', () => {
    const records: DumpRecord[] = [header(1), VOLUME, index('large', 4_000_000_000), index('small', 4_000_000_000), vnode(2, 5, [9, 9], {})];
    expect(codes(check(records))).toEqual([]);
  });
});

describe('StructureChecker: one hand-made record for each record-level code', () => {
  interface Volume { head: DumpRecord; volume: DumpRecord | null; large: DumpRecord; root: Vnode; small: DumpRecord | null; file: Vnode }
  /** A sound little volume (root, one file) with `change` applied, and the checker's findings on it (code, severity, offset; INDEX_COUNT aside). */
  function checked(change: (r: Volume) => void): { r: Volume; found: [string, string, number][] } {
    const r: Volume = {
      head: header(),
      volume: { ...(VOLUME as object) } as DumpRecord,
      large: index('large', 1),
      root: dir(1, 1, [1, 1], [{ name: 'f', vnode: 2, unique: 5 }]),
      small: index('small', 1),
      file: vnode(2, 5, [1, 1], {}),
    };
    change(r);
    const list: DumpRecord[] = [r.head, ...(r.volume ? [r.volume] : []), r.large, r.root, ...(r.small ? [r.small] : []), r.file];
    const found = check(list).problems.filter((p) => p.code !== 'INDEX_COUNT').map((p): [string, string, number] => [p.code, p.severity, p.offset]);
    return { r, found };
  }

  it('a sound volume has no finding', () => {
    expect(checked(() => {}).found).toEqual([]);
  });

  it('header and volume data: HEADER_NAME, VOLUME_MISSING, VOLUME_FIELD_MISSING, WEEK_USE', () => {
    expect(checked((r) => ((r.head as { name: string }).name = '')).found).toEqual([['HEADER_NAME', 'error', 0]]);
    const nv = checked((r) => (r.volume = null));
    expect(nv.found).toEqual([['VOLUME_MISSING', 'error', nv.r.large.offset]]);
    expect(checked((r) => ((r.volume as { fields: string }).fields = 'ivnPs+utpgcbqmxdflaoCAUEBOMWDZ')).found).toEqual([['VOLUME_FIELD_MISSING', 'warning', 40]]);
    expect(checked((r) => ((r.volume as { weekUse: number[] }).weekUse = [0, 0, 0])).found).toEqual([['WEEK_USE', 'warning', 40]]);
  });

  it('vnodes: VNODE_TYPE, VNODE_SLOT, VNODE_FIELD_MISSING, VNODE_MODE, OLD_ACL', () => {
    const t = checked((r) => (r.file.type = 7));
    expect(t.found).toContainEqual(['VNODE_TYPE', 'error', t.r.file.offset]);
    const s = checked((r) => ((r.small as { lists: number }).lists = 1)); // file vnode 2 is slot 0: fine; vnode 4 would be slot 1
    expect(s.found).toEqual([]);
    const s2 = checked((r) => {
      (r.small as { lists: number }).lists = 1;
      r.file = vnode(4, 5, [1, 1], {});
      r.root = dir(1, 1, [1, 1], [{ name: 'f', vnode: 4, unique: 5 }]);
    });
    expect(s2.found).toEqual([['VNODE_SLOT', 'warning', s2.r.file.offset]]);
    const f = checked((r) => (r.file.fields = 'tblLvVmaop'));
    expect(f.found).toEqual([['VNODE_FIELD_MISSING', 'error', f.r.file.offset]]);
    const m = checked((r) => (r.file.mode = 0o100644));
    expect(m.found).toEqual([['VNODE_MODE', 'warning', m.r.file.offset]]);
    const a = checked((r) => ((r.file as { rawAcl?: Buffer }).rawAcl = Buffer.alloc(384)));
    expect(a.found).toEqual([['OLD_ACL', 'info', a.r.file.offset]]);
  });

  it('data: BADINODE, DATA_KIND, DATA_MISSING, DIR_LENGTH', () => {
    const b = checked((r) => (r.file.data = { kind: 'badinode', offset: r.file.offset + 80 } as Vnode['data']));
    expect(b.found).toEqual([['BADINODE', 'warning', b.r.file.offset + 80]]);
    const k = checked((r) => (r.file.data = r.root.data));
    expect(k.found).toEqual([['DATA_KIND', 'error', (k.r.root.data as { offset: number }).offset]]);
    const n = checked((r) => (r.file.data = { kind: 'none' } as Vnode['data']));
    expect(n.found).toEqual([['DATA_MISSING', 'error', n.r.file.offset + n.r.file.size]]);
    const l = checked((r) => (r.root.length = 100));
    expect(l.found).toEqual([['DIR_LENGTH', 'warning', l.r.root.offset]]);
  });

  it('INDEX_MISSING: a dump that ends without its small index', () => {
    const n = checked((r) => {
      r.small = null;
      r.root = dir(1, 1, [1, 1], []);
      r.file = dir(3, 2, [1, 1], []);
    });
    expect(n.found.map((p) => p.slice(0, 2))).toEqual([['INDEX_MISSING', 'error'], ['UNREACHABLE', 'warning']]);
  });

  it('the tree: ROOT_MISSING', () => {
    const nr = checked((r) => {
      r.root = dir(3, 1, [1, 1], [{ name: 'f', vnode: 2, unique: 5 }]);
      r.file = vnode(2, 5, [3, 1], {});
    });
    expect(nr.found.map((p) => p[0])).toContain('ROOT_MISSING');
    expect(nr.found.find((p) => p[0] === 'ROOT_MISSING')).toEqual(['ROOT_MISSING', 'error', nr.r.large.offset]);
  });
});
