/** pack: tree -> dump -> the same tree (names, types, modes, mtimes, bytes), laid out as FORMAT.md says. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFile } from '../../src/check/verify.js';
import { resolvePaths, vnodeKey } from '../../src/format/paths.js';
import { decodeDirectory } from '../../src/dir/pages.js';
import type { Vnode } from '../../src/format/types.js';
import { readAll, run, streamReader, tempDir } from '../helpers.js';
import { MTIME, PACK_OPTS, makeTree, noise, packToBuffer, type TreeSpec } from '../tree.js';

const t = tempDir();
afterAll(() => t.cleanup());

const nonAscii = Buffer.from('caf\u00e9-\u65e5\u672c.txt').toString('latin1'); // UTF-8 bytes as a binary string
const long255 = 'n'.repeat(251) + '.txt';
const spec: TreeSpec = {
  'README': 'top\n',
  'a/b/c/deep.txt': 'deep\n',
  'a/exec.sh': { data: '#!/bin/sh\necho hi\n', mode: 0o750 },
  'a/setuid': { data: 'x', mode: 0o4755 },
  [Buffer.from(nonAscii, 'latin1').toString()]: 'utf-8 name\n',
  [long255]: 'long name\n',
  'big.bin': noise(300_000, 7),
  'empty-dir': { dir: true, mode: 0o700 },
  'link-rel': { symlink: 'a/b/c/deep.txt' },
  'link-abs': { symlink: '/etc/passwd' },
};
for (let i = 0; i < 60; i++) spec[`many/file-${String(i).padStart(3, '0')}-with-a-name-long-enough.txt`] = `file ${i}\n`;

let dump: Buffer;
let path: string;
beforeAll(async () => {
  makeTree(join(t.dir, 'tree'), spec);
  dump = await packToBuffer(join(t.dir, 'tree'));
  path = join(t.dir, 'tree.dump');
  const r = run(['pack', join(t.dir, 'tree'), '-o', path, '--volume-id', '01000002', '--parent-id', '0x01000001', '--name', 'test.backup', '--backup-date', String(PACK_OPTS.backupDate)]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

describe('pack', () => {
  it('the CLI writes the same bytes as the library, and verify calls it ok', async () => {
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path).equals(dump)).toBe(true);
    const v = await verifyFile(path);
    expect(v.problems).toEqual([]);
    expect(v.verdict).toBe('ok');
  });

  it('round trip: every path, type, mode, mtime and byte comes back', async () => {
    const recs = await readAll(streamReader(dump));
    const vnodes = recs.filter((r) => r.rec.kind === 'vnode') as { rec: Vnode; data?: Buffer }[];
    const { paths, unreachable } = resolvePaths(vnodes.map((v) => ({ ...v.rec, entries: v.rec.data.kind === 'dirpages' ? decodeDirectory(v.rec.data.pages) : undefined })));
    expect(unreachable).toEqual([]);
    const got = new Map(vnodes.map((v) => [paths.get(vnodeKey(v.rec.vnode, v.rec.unique))!, v]));
    for (const [rel, val] of Object.entries(spec)) {
      const v = got.get(Buffer.from(rel).toString('latin1'));
      expect(v, rel).toBeDefined();
      if (typeof val === 'string' || Buffer.isBuffer(val)) {
        expect(v!.rec).toMatchObject({ type: 1, mode: 0o644, mtime: MTIME });
        expect(v!.data!.equals(Buffer.from(val))).toBe(true);
      } else if ('symlink' in val) {
        expect(v!.rec).toMatchObject({ type: 3, mode: 0o777 });
        expect(v!.data!.toString()).toBe(val.symlink);
      } else if ('dir' in val) {
        expect(v!.rec).toMatchObject({ type: 2, mode: val.mode });
      } else {
        expect(v!.rec).toMatchObject({ type: 1, mode: val.mode, mtime: MTIME });
        expect(v!.data!.toString()).toBe(val.data);
      }
    }
    // 60 names of 36 bytes take 2 blobs each: 24 fit page 0 (51 free blobs, 2 for . and ..), 31 page 1, 5 page 2.
    expect(got.get('many')!.rec).toMatchObject({ type: 2, length: 3 * 2048 });
  });

  it('lays vnodes out as FORMAT.md 3.5: root 1, directories odd, files even, slot by slot', async () => {
    const recs = (await readAll(streamReader(dump))).map((r) => r.rec);
    const vnodes = recs.filter((r): r is Vnode => r.kind === 'vnode');
    const dirs = vnodes.filter((v) => v.type === 2);
    const files = vnodes.filter((v) => v.type !== 2);
    expect(dirs.map((d) => d.vnode)).toEqual(dirs.map((_, i) => 2 * i + 1));
    expect(files.map((f) => f.vnode)).toEqual(files.map((_, i) => 2 * i + 2));
    expect(dirs[0]).toMatchObject({ vnode: 1, unique: 1, parent: 1, parentUnique: 1, linkCount: 2 + 3 });
    const uniques = vnodes.map((v) => v.unique);
    expect(new Set(uniques).size).toBe(uniques.length);
    const idx = recs.filter((r) => r.kind === 'index');
    expect(idx).toMatchObject([{ index: 'large', declared: dirs.length }, { index: 'small', declared: files.length, lists: files.length }]);
    const vol = recs.find((r) => r.kind === 'volume')!;
    expect(vol).toMatchObject({ nextUniquifier: vnodes.length + 1, fileCount: files.length, type: 2, id: 0x01000002, parentId: 0x01000001 });
    expect(dirs.every((d) => d.acl === '2\n0\nSystem:AnyUser\t9\nSystem:Administrators\t127\n')).toBe(true);
  });

  it('refuses to overwrite without --force, and replaces with it', () => {
    const again = run(['pack', join(t.dir, 'tree'), '-o', path]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`codadump: error: ${path}: ${path} already exists (use --force to replace it)\n`);
    const forced = run(['pack', join(t.dir, 'tree'), '-o', path, '--force', '--backup-date', '1']);
    expect(forced.code).toBe(0);
  });

  it('bad arguments: one line and exit 2', () => {
    const r = run(['pack', join(t.dir, 'nope'), '-o', join(t.dir, 'x.dump')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^codadump: error: .*nope: cannot read: ENOENT/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const h = run(['pack', join(t.dir, 'tree'), '-o', join(t.dir, 'y.dump'), '--volume-id', 'zz']);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain("--volume-id must be a 32-bit hex number, got 'zz'");
  });
});
