/**
 * lost+found for more orphans than one directory holds. A directory is at
 * most 128 pages of 64 blobs of 32 bytes (FORMAT.md); page 0 spends 13 blobs
 * on its header, hash table and allocation map, every other page 1, so a
 * fresh directory has 51 + 127 * 63 = 8052 blobs for entries. A name of up
 * to 15 bytes takes one blob (12 bytes of entry header + name + NUL <= 32),
 * so a directory holds `.`, `..` and 8050 entries named `#<vnode>.<unique>`
 * when those names are short. Repair then puts lost+found/1, /2, ... under
 * lost+found, each filled in vnode order to what it holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { run, tempDir } from '../helpers.js';
import { encodeDirectory, entriesThatFit, type DirEntry } from '../../src/dir/pages.js';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeVnode, encodeVolume, type VnodeFields } from '../../src/format/encoder.js';
import { emptyVV } from '../../src/format/types.js';
import { layoutOf, pathsOf } from '../diagnose/fixtures.js';

const PER_DIR = 8050;
const FILES = 8200; // two directories of 4100 files: more orphans than one directory holds once both are lost
const date = 1_600_000_000;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function fields(vnode: number, unique: number, type: number, length: number, parent: [number, number]): VnodeFields {
  return {
    vnode, unique, type, mode: type === 2 ? 0o755 : 0o644, linkCount: type === 2 ? 2 : 1, length, dataVersion: 1, vv: emptyVV(), mtime: date,
    author: 0, owner: 0, parent: parent[0], parentUnique: parent[1], ...(type === 2 ? { acl: '1\n0\nSystem:AnyUser\t9\n' } : {}),
  };
}

interface F {
  vnode: number;
  unique: number;
  name: string;
  data: Buffer;
  dir: [number, number];
}

/** File k (1-based): vnode 2k, uniquifier k + 10, in directory d1 (3.2) for the first half, d2 (5.3) for the rest. */
const file = (k: number): F => ({ vnode: 2 * k, unique: k + 10, name: `f${k}`, data: Buffer.from(`data of file ${k}\n`), dir: k <= FILES / 2 ? [3, 2] : [5, 3] });

/**
 * A full dump of volume 0x01000002 as of `backupDate`: the root 1.1 naming
 * each directory of `dirs` (`d<i>`, numbered 3, 5, ... with uniquifier 2, 3, ...),
 * each directory naming the files of `files` that are in it; the offsets of
 * the directory records (not the root's).
 */
function buildDump(dirs: number, files: F[], backupDate = date): { bytes: Buffer; dirOffsets: number[] } {
  const parts: Buffer[] = [];
  let at = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    at += b.length;
  };
  const next = Math.max(11, ...files.map((f) => f.unique + 1));
  push(encodeHeader({ volumeId: 0x01000002, parentId: 0x01000001, name: 'orphans.backup', backupDate, incremental: 0, oldest: 1, latest: 1 }));
  push(encodeVolume({
    id: 0x01000002, stampVersion: 1, name: 'orphans.backup', partition: '/vicepa', inService: 1, blessed: 1, nextUniquifier: next, type: 2,
    parentId: 0x01000001, groupId: 0, cloneId: 0, backupId: 0, maxQuota: 0, minQuota: 0, maxFiles: 0, diskUsed: 0, fileCount: files.length, linkCount: 0,
    accountNumber: 0, owner: 0, creationDate: backupDate, accessDate: backupDate, updateDate: backupDate, expirationDate: 0, backupDate, offlineMessage: '', motd: '',
    weekUse: [0, 0, 0, 0, 0, 0, 0], dayUseDate: 0, dayUse: 0, vv: emptyVV(),
  }));
  const dir = (self: [number, number], parent: [number, number], children: DirEntry[]): Buffer =>
    encodeDirectory([{ name: '.', vnode: self[0], unique: self[1] }, { name: '..', vnode: parent[0], unique: parent[1] }, ...children]);
  const ids = Array.from({ length: dirs }, (_, i): [number, number] => [3 + 2 * i, 2 + i]);
  const all: [[number, number], [number, number], DirEntry[]][] = [
    [[1, 1], [1, 1], ids.map(([vnode, unique], i) => ({ name: `d${i + 1}`, vnode, unique }))],
    ...ids.map((d): [[number, number], [number, number], DirEntry[]] =>
      [d, [1, 1], files.filter((f) => f.dir[0] === d[0]).map((f) => ({ name: f.name, vnode: f.vnode, unique: f.unique }))]),
  ];
  push(encodeIndexHeader('large', all.length, 8));
  const dirOffsets: number[] = [];
  for (const [self, parent, children] of all) {
    const pages = dir(self, parent, children);
    if (self[0] !== 1) dirOffsets.push(at);
    push(encodeVnode(fields(self[0], self[1], 2, pages.length, parent), { kind: 'dirpages', pages }));
  }
  push(encodeIndexHeader('small', files.length, Math.max(1, ...files.map((f) => (f.vnode >> 1) + 1))));
  for (const f of files) {
    push(encodeVnode(fields(f.vnode, f.unique, 1, f.data.length, f.dir), { kind: 'filedata', length: f.data.length }));
    push(f.data);
  }
  push(encodeEnd());
  return { bytes: Buffer.concat(parts), dirOffsets };
}

let t: { dir: string; cleanup: () => void };
let bad: string;

beforeAll(() => {
  t = tempDir('codadump-lostfound-');
  const { bytes, dirOffsets } = buildDump(2, Array.from({ length: FILES }, (_, i) => file(i + 1)));
  // Both directory records made undecodable (a tag byte no record has): their 8200 files lose their directory.
  for (const off of dirOffsets) bytes[off + 9] = 0x99;
  bad = path.join(t.dir, 'orphans-bad.dump');
  fs.writeFileSync(bad, bytes);
});
afterAll(() => t.cleanup());

describe('entriesThatFit', () => {
  it('a fresh directory takes 8052 one-blob entries, or 3962 two-blob ones (25 on page 0, 31 on each of 127 more)', () => {
    expect(entriesThatFit(Array.from({ length: 9000 }, (_, i) => `n${i}`))).toBe(8052);
    expect(entriesThatFit(Array.from({ length: 9000 }, (_, i) => `${'x'.repeat(15)}${i}`))).toBe(25 + 127 * 31);
  });
});

describe('repair: more orphans than one lost+found directory holds', () => {
  it('lost+found gets numbered subdirectories, each within 128 pages; every orphan is reachable; verify ok; exit 0', async () => {
    const out = path.join(t.dir, 'fixed.dump');
    const r = run(['repair', '--json', bad, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.verify.verdict).toBe('ok');
    const v = run(['verify', out]);
    expect(v.code).toBe(0);

    // Both directories dropped (the first does not decode; the scan that resynchronises past it skips the second).
    expect(rep.dropped.map((d: { vnode: number; unique: number }) => `${d.vnode}.${d.unique}`)).toEqual(['3.2', '5.3']);
    // lost+found is the odd number after the last directory (5): 7; its subdirectories 9 and 11; uniquifiers from the volume's next (8211).
    expect(rep.synthesized).toEqual([
      `directory lost+found (vnode 7.8211) for ${FILES} vnodes whose directory was lost, in 2 numbered subdirectories (more than one directory holds)`,
      `directory lost+found/1 (vnode 9.8212) for ${PER_DIR} of them`,
      `directory lost+found/2 (vnode 11.8213) for ${FILES - PER_DIR} of them`,
    ]);

    const fixed = await layoutOf(out);
    const dirs = new Map(fixed.records.filter((x) => x.entries).map((x) => [`${x.vnode}.${x.unique}`, x]));
    expect(dirs.get('1.1')!.entries!.map((e) => e.name)).toEqual(['.', '..', 'lost+found']);
    expect(dirs.get('7.8211')!.entries).toEqual([
      { name: '.', vnode: 7, unique: 8211 }, { name: '..', vnode: 1, unique: 1 },
      { name: '1', vnode: 9, unique: 8212 }, { name: '2', vnode: 11, unique: 8213 },
    ]);
    expect(dirs.get('9.8212')!.entries!.length).toBe(2 + PER_DIR);
    expect(dirs.get('11.8213')!.entries!.length).toBe(2 + FILES - PER_DIR);
    // Every file reachable, under lost+found/1 for the first 8050 in vnode order, lost+found/2 after; parents set to match.
    const paths = pathsOf(fixed.records);
    const byKey = new Map(fixed.records.filter((x) => x.vnode !== undefined).map((x) => [`${x.vnode}.${x.unique}`, x]));
    for (let k = 1; k <= FILES; k++) {
      const f = file(k);
      const sub = k <= PER_DIR ? 1 : 2;
      expect(paths.get(`${f.vnode}.${f.unique}`)).toBe(`lost+found/${sub}/#${f.vnode}.${f.unique}`);
      const rec = byKey.get(`${f.vnode}.${f.unique}`)!;
      expect([rec.parent, rec.parentUnique]).toEqual(sub === 1 ? [9, 8212] : [11, 8213]);
    }
    expect(rep.rehomed.length).toBe(FILES);
    // Contents unchanged.
    const files = fixed.records.filter((x) => x.sha !== undefined);
    expect(files.length).toBe(FILES);
    for (const x of files) expect(x.sha).toBe(sha256(file(x.unique! - 10).data));
  }, 60_000);
});

describe('repair --donor: a rebuilt directory whose names by number do not fit', () => {
  it('the entries that fit stay in the rebuilt directory, the rest go to lost+found; all reachable; verify ok; exit 0', async () => {
    // 4100 files whose numbers make 16-byte names (#2000002.1000001: two blobs each), named f1..f4100 (one blob) in d1 (3.2).
    const K = 4100;
    const kids: F[] = Array.from({ length: K }, (_, i) => ({
      vnode: 2_000_000 + 2 * (i + 1), unique: 1_000_000 + i + 1, name: `f${i + 1}`, data: Buffer.from(`kid ${i + 1}\n`), dir: [3, 2],
    }));
    // The donor: a week older, when d1 was still empty (its names cannot help).
    const donor = path.join(t.dir, 'donor.dump');
    fs.writeFileSync(donor, buildDump(1, [], date - 7 * 86_400).bytes);
    const { bytes, dirOffsets } = buildDump(1, kids);
    bytes[dirOffsets[0] + 9] = 0x99;
    const damaged = path.join(t.dir, 'kids-bad.dump');
    fs.writeFileSync(damaged, bytes);
    const out = path.join(t.dir, 'kids-fixed.dump');
    const r = run(['repair', '--json', '--exact-only', damaged, '-o', out, '--donor', donor]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.verify.verdict).toBe('ok');
    expect(run(['verify', out]).code).toBe(0);
    // Two-blob entries: page 0 has 51 free blobs, 2 taken by '.' and '..': 24 entries; 127 more pages of 63: 31 each.
    const fit = 24 + 127 * 31;
    expect(fit).toBe(3961);
    expect(rep.synthesized).toEqual([
      `directory 3.2 rebuilt from the parent links of ${fit} vnodes, 0 names from ${donor}; ${K - fit} more did not fit in its 128 pages (they go to lost+found)`,
      `directory lost+found (vnode 5.1004101) for ${K - fit} vnodes whose directory was lost`,
    ]);
    const fixed = await layoutOf(out);
    const paths = pathsOf(fixed.records);
    kids.forEach((k, i) => {
      const name = `#${k.vnode}.${k.unique}`;
      expect(paths.get(`${k.vnode}.${k.unique}`)).toBe(i < fit ? `d1/${name}` : `lost+found/${name}`);
    });
  }, 60_000);
});
