/**
 * repair of a sound dump: when verify finds nothing and repair would change
 * nothing, the repaired dump is the input's bytes (copied without the
 * diagnosis, src/repair/straight.ts). Sound dumps repair does change (a
 * parent field naming a directory that does not list the file, a stale
 * volume file count) are repaired as before. Expected values come from the
 * dumps' own record layout (read with the plain reader) and from how the
 * test dumps were built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, sample, tempDir } from '../helpers.js';
import { encodeDirectory, type DirEntry } from '../../src/dir/pages.js';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeVnode, encodeVolume, type VnodeFields } from '../../src/format/encoder.js';
import { emptyVV } from '../../src/format/types.js';
import { openDump } from '../../src/format/open.js';
import { layoutOf, pathsOf } from '../diagnose/fixtures.js';

const date = 1_600_000_000;
let t: { dir: string; cleanup: () => void };

beforeAll(() => {
  t = tempDir('codadump-sound-');
});
afterAll(() => t.cleanup());

function fields(vnode: number, unique: number, type: number, length: number, parent: [number, number]): VnodeFields {
  return {
    vnode, unique, type, mode: type === 2 ? 0o755 : 0o644, linkCount: type === 2 ? 2 : 1, length, dataVersion: 1, vv: emptyVV(), mtime: date,
    author: 0, owner: 0, parent: parent[0], parentUnique: parent[1], ...(type === 2 ? { acl: '1\n0\nSystem:AnyUser\t9\n' } : {}),
  };
}

/**
 * Root 1.1 naming d1 (3.2) and d2 (5.3); d1 names f1 (2.10) and f2 (4.11), d2 names f3 (6.12).
 * `parentOfF1`: the parent field f1 is written with; `fileCount`: the volume's.
 */
function buildDump(opts: { parentOfF1?: [number, number]; fileCount?: number } = {}): { bytes: Buffer; volume: [number, number]; f1: number } {
  const parts: Buffer[] = [];
  let at = 0;
  const push = (b: Buffer): number => {
    parts.push(b);
    at += b.length;
    return at - b.length;
  };
  const files = [
    { vnode: 2, unique: 10, name: 'f1', dir: [3, 2] as [number, number] },
    { vnode: 4, unique: 11, name: 'f2', dir: [3, 2] as [number, number] },
    { vnode: 6, unique: 12, name: 'f3', dir: [5, 3] as [number, number] },
  ];
  push(encodeHeader({ volumeId: 0x01000002, parentId: 0x01000001, name: 'sound.backup', backupDate: date, incremental: 0, oldest: 1, latest: 1 }));
  const vol = encodeVolume({
    id: 0x01000002, stampVersion: 1, name: 'sound.backup', partition: '/vicepa', inService: 1, blessed: 1, nextUniquifier: 13, type: 2,
    parentId: 0x01000001, groupId: 0, cloneId: 0, backupId: 0, maxQuota: 0, minQuota: 0, maxFiles: 0, diskUsed: 0, fileCount: opts.fileCount ?? 3, linkCount: 0,
    accountNumber: 0, owner: 0, creationDate: date, accessDate: date, updateDate: date, expirationDate: 0, backupDate: date, offlineMessage: '', motd: '',
    weekUse: [0, 0, 0, 0, 0, 0, 0], dayUseDate: 0, dayUse: 0, vv: emptyVV(),
  });
  const volAt = push(vol);
  const dirs: [[number, number], [number, number], DirEntry[]][] = [
    [[1, 1], [1, 1], [{ name: 'd1', vnode: 3, unique: 2 }, { name: 'd2', vnode: 5, unique: 3 }]],
    [[3, 2], [1, 1], files.filter((f) => f.dir[0] === 3).map((f) => ({ name: f.name, vnode: f.vnode, unique: f.unique }))],
    [[5, 3], [1, 1], files.filter((f) => f.dir[0] === 5).map((f) => ({ name: f.name, vnode: f.vnode, unique: f.unique }))],
  ];
  push(encodeIndexHeader('large', 3, 8));
  for (const [self, parent, children] of dirs) {
    const pages = encodeDirectory([{ name: '.', vnode: self[0], unique: self[1] }, { name: '..', vnode: parent[0], unique: parent[1] }, ...children]);
    push(encodeVnode(fields(self[0], self[1], 2, pages.length, parent), { kind: 'dirpages', pages }));
  }
  push(encodeIndexHeader('small', 3, 4));
  let f1 = -1;
  for (const f of files) {
    const data = Buffer.from(`data of ${f.name}\n`);
    const parent = f.name === 'f1' && opts.parentOfF1 ? opts.parentOfF1 : f.dir;
    const p = push(encodeVnode(fields(f.vnode, f.unique, 1, data.length, parent), { kind: 'filedata', length: data.length }));
    if (f.name === 'f1') f1 = p;
    push(data);
  }
  push(encodeEnd());
  return { bytes: Buffer.concat(parts), volume: [volAt, volAt + vol.length], f1 };
}

function repair(input: string, out: string, extra: string[] = []) {
  const r = run(['repair', '--json', input, '-o', out, ...extra]);
  expect(r.stderr).toBe('');
  return { code: r.code, rep: JSON.parse(r.stdout) };
}

function verifyProblems(file: string): unknown[] {
  const r = run(['verify', '--json', file]);
  return JSON.parse(r.stdout).dumps[0].problems;
}

describe('a sound dump', () => {
  it('is written as it is: the same bytes, every vnode a survivor with its record range and path, verify ok', async () => {
    const input = sample('server-sample-full.dump');
    const out = path.join(t.dir, 'sample-fixed.dump');
    const { code, rep } = repair(input, out);
    expect(code).toBe(0);
    expect(fs.readFileSync(out).equals(fs.readFileSync(input))).toBe(true);
    const { records } = await layoutOf(input, false);
    const vnodes = records.filter((r) => r.kind === 'vnode');
    const paths = pathsOf(records);
    expect(rep.verdictBefore).toBe('ok');
    expect(rep.model).toBe(null);
    expect([rep.synthesized, rep.dropped, rep.keptPartial, rep.removedEntries, rep.rehomed, rep.volumeChanges]).toEqual([[], [], [], [], [], []]);
    expect(rep.written).toEqual({ large: vnodes.filter((v) => v.vnode! % 2 === 1).length, small: vnodes.filter((v) => v.vnode! % 2 === 0).length });
    expect(rep.bytesWritten).toBe(fs.statSync(input).size);
    expect(rep.verify).toEqual({ verdict: 'ok', problems: [] });
    expect(rep.vnodes).toEqual(vnodes.map((v) => ({
      vnode: v.vnode, unique: v.unique, type: v.type === 2 ? 'dir' : v.type === 3 ? 'symlink' : 'file', path: paths.get(`${v.vnode}.${v.unique}`),
      origin: 'survivor', from: [{ start: v.offset, end: v.end }], changes: [],
    })));
    // -v: one source line a vnode, its record's range.
    const text = run(['repair', '-v', '--force', input, '-o', out]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n').filter((l) => l.includes('file ['));
    expect(lines).toEqual(vnodes.map((v) => `                file [${v.offset}, ${v.end}): vnode ${v.vnode}.${v.unique}`));
  });

  it('that verify finds nothing in is copied as it is (a built one), with and without --keep-partial', () => {
    const { bytes } = buildDump();
    const input = path.join(t.dir, 'built.dump');
    fs.writeFileSync(input, bytes);
    expect(verifyProblems(input)).toEqual([]);
    for (const extra of [[], ['--keep-partial']]) {
      const out = path.join(t.dir, `built-fixed${extra.length}.dump`);
      const { code, rep } = repair(input, out, extra);
      expect(code).toBe(0);
      expect(fs.readFileSync(out).equals(bytes)).toBe(true);
      expect(rep.written).toEqual({ large: 3, small: 3 });
      expect(rep.vnodes.map((v: { path: string }) => v.path)).toEqual(['.', 'd1', 'd2', 'd1/f1', 'd1/f2', 'd2/f3']);
    }
  });

  it('whose file names another directory as its parent than the one listing it gets its parent field set (not copied as it is)', async () => {
    // f1 is listed in d1 (3.2) but its parent field names d2 (5.3), which exists: verify has nothing to say.
    const { bytes, f1 } = buildDump({ parentOfF1: [5, 3] });
    const input = path.join(t.dir, 'wrong-parent.dump');
    fs.writeFileSync(input, bytes);
    expect(verifyProblems(input)).toEqual([]);
    const out = path.join(t.dir, 'wrong-parent-fixed.dump');
    const { code, rep } = repair(input, out);
    expect(code).toBe(0);
    expect(rep.verify.verdict).toBe('ok');
    expect(rep.vnodes.find((v: { vnode: number }) => v.vnode === 2).changes).toEqual(['parent 5.3 -> 3.2']);
    const fixed: { vnode: number; parent: number; parentUnique: number }[] = [];
    for await (const r of (await openDump(out)).records()) if (r.kind === 'vnode') fixed.push({ vnode: r.vnode, parent: r.parent, parentUnique: r.parentUnique });
    expect(fixed.find((v) => v.vnode === 2)).toEqual({ vnode: 2, parent: 3, parentUnique: 2 });
    // Only f1's record differs (its parent field: the same length); the rest is the input's.
    const rec = (await layoutOf(input, false)).records.find((r) => r.vnode === 2)!;
    expect(rec.offset).toBe(f1);
    const o = fs.readFileSync(out);
    expect(o.length).toBe(bytes.length);
    const diff = [...o.keys()].filter((i) => o[i] !== bytes[i]);
    expect(diff.length).toBeGreaterThan(0);
    expect(Math.min(...diff)).toBeGreaterThan(f1);
    expect(Math.max(...diff)).toBeLessThan(rec.end);
  });

  it('whose volume data counts files wrongly gets the count brought up to date (only the volume data changes)', () => {
    const { bytes, volume } = buildDump({ fileCount: 7 });
    const input = path.join(t.dir, 'stale-count.dump');
    fs.writeFileSync(input, bytes);
    const out = path.join(t.dir, 'stale-count-fixed.dump');
    const { code, rep } = repair(input, out);
    expect(code).toBe(0);
    expect(rep.volumeChanges).toEqual(['file count 7 -> 3']);
    const o = fs.readFileSync(out);
    expect(o.length).toBe(bytes.length);
    const diff = [...o.keys()].filter((i) => o[i] !== bytes[i]);
    expect(diff.length).toBeGreaterThan(0);
    expect(Math.min(...diff)).toBeGreaterThanOrEqual(volume[0]);
    expect(Math.max(...diff)).toBeLessThan(volume[1]);
  });
});
