/**
 * Golden bytes: every expected byte below is written out by hand from
 * FORMAT.md (sections 1, 2, 3.1, 3.4, 3.5), not produced by our encoder.
 */
import { describe, expect, it } from 'vitest';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeRmVnode, encodeVnode } from '../../src/format/encoder.js';
import { hexBytes, readAll, streamReader } from '../helpers.js';
import type { Vnode } from '../../src/format/types.js';

// Dump header: DUMPHEADER, begin magic, version 2, then v p n b i I (FORMAT.md 3.1).
const HEADER = hexBytes(`
  01                      # DUMPHEADER
  b3a11322                # begin magic
  00000002                # version 2
  76 01000002             # 'v' volume id 0x01000002
  70 01000001             # 'p' parent id 0x01000001
  6e 00000004 766f6c00    # 'n' string of 4 bytes "vol\\0"
  62 5f5e1000             # 'b' backup date 1600000000
  69 00000000             # 'i' level 0
  49 00000001 00000002    # 'I' oldest 1, latest 2
`);

// Version vector for store uniquifier U: 'V', '0'..'7', 's', 'u', 'f', ENDVV (FORMAT.md 3.4).
const vv = (u: string) => `
  56                                                   # 'V'
  30 00000001 31 00000000 32 00000000 33 00000000      # '0'..'3'
  34 00000000 35 00000000 36 00000000 37 00000000      # '4'..'7'
  73 7f000001 75 ${u} 66 00000000                      # 's' host, 'u' uniquifier, 'f' flags
  07                                                   # ENDVV
`;

// File vnode 2.5, mode 0644, 3 bytes "abc" (FORMAT.md 3.5).
const FILE_VNODE = hexBytes(`
  05 00000002 00000005    # VNODE 2.5
  74 01                   # 't' file
  62 01a4                 # 'b' 0644
  6c 0001                 # 'l' one link
  4c 00000003             # 'L' 3 bytes
  76 00000001             # 'v' data version 1
  ${vv('00000005')}
  6d 5f5e1000             # 'm' mtime
  61 000003e8             # 'a' author 1000
  6f 000003e8             # 'o' owner 1000
  70 00000001             # 'p' parent vnode 1
  71 00000001             # 'q' parent uniquifier 1
  0c 00000003             # FILEDATA, 3 bytes
`);

// Symbolic link vnode 4.6 -> "a/b" (content is the target).
const LINK_VNODE = hexBytes(`
  05 00000004 00000006 74 03 62 01ff 6c 0001 4c 00000003 76 00000001
  ${vv('00000006')}
  6d 5f5e1000 61 00000000 6f 00000000 70 00000001 71 00000001
  0c 00000003             # FILEDATA, 3 bytes
`);

// Directory vnode 1.1 with access list and one (all-zero, for encoding purposes) page.
const ACL = '1\n0\nSystem:AnyUser\t9\n'; // 2+2+17 = 21 chars + NUL = 22 = 0x16
const DIR_VNODE_HEAD = hexBytes(`
  05 00000001 00000001 74 02 62 01ed 6c 0002 4c 00000800 76 00000001
  ${vv('00000001')}
  6d 5f5e1000 61 00000000 6f 00000000 70 00000001 71 00000001
  58 00000016 ${Buffer.from(ACL + '\0').toString('hex')}   # 'X' access list
  0b 00000001             # DIRPAGES, one page
  50                      # 'P', then 2048 bytes
`);

const base = {
  linkCount: 1, dataVersion: 1, mtime: 1600000000, parent: 1, parentUnique: 1,
};
const vvOf = (u: number) => ({ versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost: 0x7f000001, storeUniq: u, flags: 0 });

describe('golden encodings (hand-derived from FORMAT.md)', () => {
  it('dump header', () => {
    expect(encodeHeader({ volumeId: 0x01000002, parentId: 0x01000001, name: 'vol', backupDate: 1600000000, incremental: 0, oldest: 1, latest: 2 })).toEqual(HEADER);
  });

  it('file vnode', () => {
    const v = encodeVnode({ ...base, vnode: 2, unique: 5, type: 1, mode: 0o644, length: 3, vv: vvOf(5), author: 1000, owner: 1000 }, { kind: 'filedata', length: 3 });
    expect(v).toEqual(FILE_VNODE);
  });

  it('symbolic link vnode', () => {
    const v = encodeVnode({ ...base, vnode: 4, unique: 6, type: 3, mode: 0o777, length: 3, vv: vvOf(6), author: 0, owner: 0 }, { kind: 'filedata', length: 3 });
    expect(v).toEqual(LINK_VNODE);
  });

  it('directory vnode with access list and a page', () => {
    const page = Buffer.alloc(2048, 0xa5);
    const v = encodeVnode({ ...base, linkCount: 2, vnode: 1, unique: 1, type: 2, mode: 0o755, length: 2048, vv: vvOf(1), author: 0, owner: 0, acl: ACL }, { kind: 'dirpages', pages: page });
    expect(v).toEqual(Buffer.concat([DIR_VNODE_HEAD, page]));
  });

  it('index headers, RMVNODE and end marker', () => {
    expect(encodeIndexHeader('large', 4, 8)).toEqual(hexBytes('04 76 00000004 73 00000008'));
    expect(encodeIndexHeader('small', 52, 52)).toEqual(hexBytes('03 76 00000034 73 00000034'));
    expect(encodeRmVnode(12, 10)).toEqual(hexBytes('0d 0000000c 0000000a'));
    expect(encodeEnd()).toEqual(hexBytes('08 3a214b6e'));
  });

  it('decodes the golden bytes back to the same values, with exact offsets', async () => {
    const dump = Buffer.concat([
      HEADER,
      hexBytes('04 76 00000000 73 00000001'), // no volume data: the reader does not enforce order
      hexBytes('03 76 00000002 73 00000002'),
      FILE_VNODE, Buffer.from('abc'),
      LINK_VNODE, Buffer.from('a/b'),
      hexBytes('0d 0000000c 0000000a 0a 08 3a214b6e'),
    ]);
    const recs = await readAll(streamReader(dump, 7));
    expect(recs.map((r) => [r.rec.kind, r.rec.offset, r.rec.size])).toEqual([
      ['header', 0, HEADER.length],
      ['index', 47, 11],
      ['index', 58, 11],
      ['vnode', 69, FILE_VNODE.length],
      ['vnode', 69 + FILE_VNODE.length + 3, LINK_VNODE.length],
      ['rmvnode', 69 + 2 * (FILE_VNODE.length + 3), 9],
      ['nullvnode', 69 + 2 * (FILE_VNODE.length + 3) + 9, 1],
      ['end', 69 + 2 * (FILE_VNODE.length + 3) + 10, 5],
    ]);
    expect(HEADER.length).toBe(1 + 4 + 4 + 5 + 5 + 9 + 5 + 5 + 9);
    const h = recs[0].rec;
    expect(h).toMatchObject({ kind: 'header', version: 2, volumeId: 0x01000002, parentId: 0x01000001, name: 'vol', backupDate: 1600000000, oldest: 1, latest: 2 });
    const f = recs[3].rec as Vnode;
    expect(f).toMatchObject({ vnode: 2, unique: 5, type: 1, mode: 0o644, linkCount: 1, length: 3, author: 1000, mtime: 1600000000 });
    expect(f.data).toEqual({ kind: 'filedata', offset: 69 + FILE_VNODE.length - 5, length: 3, start: 69 + FILE_VNODE.length });
    expect(recs[3].data).toEqual(Buffer.from('abc'));
    expect(recs[4].data).toEqual(Buffer.from('a/b'));
    expect(recs[5].rec).toMatchObject({ kind: 'rmvnode', vnode: 12, unique: 10 });
  });
});
