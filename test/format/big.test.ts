/**
 * A real dump file larger than 4 GiB (sparse: the big file's content is
 * zeros and never written), read by the streaming reader, the positional
 * reader, verify and the CLI: every offset past 2^32 must be exact.
 */
import { closeSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFile } from '../../src/check/verify.js';
import { encodeDirectory } from '../../src/dir/pages.js';
import { TWO_32 } from '../../src/format/constants.js';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeVnode, encodeVolume } from '../../src/format/encoder.js';
import { openDump } from '../../src/format/open.js';
import { PositionalReader } from '../../src/format/positional.js';
import type { Vnode } from '../../src/format/types.js';
import { run, tempDir } from '../helpers.js';


const vv = { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost: 0x7f000001, storeUniq: 1, flags: 0 };
const t = tempDir();
const path = join(t.dir, 'big.dump');
/** Where each record starts, computed while writing. */
const at: Record<string, number> = {};
let total = 0;

function vnodeFields(vnode: number, unique: number, type: number, length: number) {
  return { vnode, unique, type, mode: 0o644, linkCount: type === 2 ? 2 : 1, length, dataVersion: 1, vv, mtime: 1600000000, author: 0, owner: 0, parent: 1, parentUnique: 1 };
}

beforeAll(() => {
  // Two files of 2^31 + 1000 bytes of zeros each push the third past 2^32.
  const zeroLen = 2 ** 31 + 1000;
  const files = [
    { name: 'zeros-a', vnode: 2, unique: 2, data: null as Buffer | null, len: zeroLen },
    { name: 'zeros-b', vnode: 4, unique: 3, data: null, len: zeroLen },
    { name: 'past-4g.txt', vnode: 6, unique: 4, data: Buffer.from('written past 4 GiB\n'), len: 19 },
    { name: 'last', vnode: 8, unique: 5, data: Buffer.from('the end'), len: 7 },
  ];
  const pages = encodeDirectory([
    { name: '.', vnode: 1, unique: 1 },
    { name: '..', vnode: 1, unique: 1 },
    ...files.map((f) => ({ name: f.name, vnode: f.vnode, unique: f.unique })),
  ]);
  const fd = openSync(path, 'w');
  const put = (key: string, b: Buffer) => {
    at[key] = total;
    writeSync(fd, b, 0, b.length, total);
    total += b.length;
  };
  put('header', encodeHeader({ volumeId: 0x01000002, parentId: 0x01000001, name: 'big.backup', backupDate: 1600000000, incremental: 0, oldest: 1, latest: 1 }));
  put('volume', encodeVolume({
    id: 0x01000002, stampVersion: 1, name: 'big.backup', partition: '/vicepa', inService: 1, blessed: 1, nextUniquifier: 6, type: 2,
    parentId: 0x01000001, groupId: 0, cloneId: 0, backupId: 0, maxQuota: 0, minQuota: 0, maxFiles: 0, diskUsed: 0, fileCount: 4, linkCount: 0,
    accountNumber: 0, owner: 0, creationDate: 0, accessDate: 0, updateDate: 0, expirationDate: 0, backupDate: 0, offlineMessage: '', motd: '',
    weekUse: [0, 0, 0, 0, 0, 0, 0], dayUseDate: 0, dayUse: 0, vv,
  }));
  put('large', encodeIndexHeader('large', 1, 8));
  put('root', encodeVnode({ ...vnodeFields(1, 1, 2, 2048), mode: 0o755, acl: '1\n0\nSystem:AnyUser\t9\n' }, { kind: 'dirpages', pages }));
  put('small', encodeIndexHeader('small', 4, 4));
  for (const f of files) {
    put(f.name, encodeVnode(vnodeFields(f.vnode, f.unique, 1, f.len), { kind: 'filedata', length: f.len }));
    if (f.data) put(`${f.name}:data`, f.data);
    else {
      at[`${f.name}:data`] = total;
      total += f.len; // a hole: zeros, never written
    }
  }
  put('end', encodeEnd());
  ftruncateSync(fd, total);
  closeSync(fd);
});
afterAll(() => t.cleanup());

describe('a real dump larger than 4 GiB', () => {
  it('is larger than 4 GiB and its late records lie past 2^32', () => {
    expect(total).toBeGreaterThan(TWO_32);
    expect(at['past-4g.txt']).toBeGreaterThan(TWO_32);
  });

  it('the streaming reader gives exact offsets past 2^32 and reads data there', async () => {
    const r = await openDump(path);
    const seen: { key: string; offset: number; start?: number; data?: string }[] = [];
    for await (const rec of r.records()) {
      if (rec.kind === 'vnode' && rec.data.kind === 'filedata') {
        const e: { key: string; offset: number; start?: number; data?: string } = { key: `v${rec.vnode}`, offset: rec.offset, start: rec.data.start };
        if (rec.data.length < 100) e.data = (await r.readFileData()).toString();
        seen.push(e);
      } else if (rec.kind === 'end') seen.push({ key: 'end', offset: rec.offset });
    }
    expect(seen).toEqual([
      { key: 'v2', offset: at['zeros-a'], start: at['zeros-a:data'] },
      { key: 'v4', offset: at['zeros-b'], start: at['zeros-b:data'] },
      { key: 'v6', offset: at['past-4g.txt'], start: at['past-4g.txt:data'], data: 'written past 4 GiB\n' },
      { key: 'v8', offset: at.last, start: at['last:data'], data: 'the end' },
      { key: 'end', offset: at.end },
    ]);
    expect(at.end + 5).toBe(total);
  });

  it('the positional reader decodes the record at an offset past 2^32', async () => {
    const p = await PositionalReader.open(path);
    try {
      const v = (await p.recordAt(at['past-4g.txt'])) as Vnode;
      expect(v).toMatchObject({ kind: 'vnode', vnode: 6, unique: 4, offset: at['past-4g.txt'] });
      expect(v.data).toMatchObject({ kind: 'filedata', length: 19, start: at['past-4g.txt:data'] });
      expect((await p.bytesAt(at['past-4g.txt:data'], 19)).toString()).toBe('written past 4 GiB\n');
      expect(await p.recordAt(at.end)).toMatchObject({ kind: 'end', offset: at.end });
    } finally {
      await p.close();
    }
  });

  it('verify: ok, stream length = file size > 2^32', async () => {
    const r = await verifyFile(path);
    expect(r.problems).toEqual([]);
    expect(r.verdict).toBe('ok');
    expect(r.streamLength).toBe(total);
    expect(r.size).toBe(total);
  });

  it('inspect --json and ls --json report sizes and lengths past 2^32', () => {
    const i = run(['inspect', '--json', path]);
    expect(i.code).toBe(0);
    const j = JSON.parse(i.stdout);
    expect(j.streamLength).toBe(total);
    expect(j.fileSize).toBe(total);
    expect(j.small).toEqual({ declared: 4, lists: 4, records: 4, removed: 0 });
    const l = JSON.parse(run(['ls', '--json', path]).stdout);
    expect(l.map((e: { path: string; size: number }) => [e.path, e.size])).toEqual([
      ['.', 2048], ['last', 7], ['past-4g.txt', 19], ['zeros-a', 2 ** 31 + 1000], ['zeros-b', 2 ** 31 + 1000],
    ]);
  });
});
