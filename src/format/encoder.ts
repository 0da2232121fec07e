/**
 * Byte-exact encoder: records in the field order a Coda server writes
 * (FORMAT.md 3.1 to 3.5). Each encode function returns one Buffer; file data
 * is written by the caller right after the vnode's FILEDATA count.
 */
import {
  D_BADINODE, D_DIRPAGES, D_DUMPEND, D_DUMPHEADER, D_ENDVV, D_FILEDATA, D_LARGEINDEX, D_NULLVNODE,
  D_RMVNODE, D_SMALLINDEX, D_VNODE, D_VOLUMEDISKDATA, DIR_PAGE_SIZE, DUMP_BEGIN_MAGIC, DUMP_END_MAGIC,
  DUMP_VERSION,
} from './constants.js';
import type { DumpHeader, IndexClass, VersionVector, Vnode, VolumeData } from './types.js';

/** A growable big-endian byte builder (doubles its buffer). */
export class ByteBuilder {
  buf: Buffer;
  len = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0 === v ? v : v % 4294967296, this.len);
    this.len += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Field tag (a char) then value. */
  tag(ch: string): this {
    return this.u8(ch.charCodeAt(0));
  }

  int(ch: string, v: number): this {
    return this.tag(ch).u32(v);
  }

  short(ch: string, v: number): this {
    return this.tag(ch).u16(v);
  }

  byte(ch: string, v: number): this {
    return this.tag(ch).u8(v);
  }

  /** String field: int32 length counting the NUL, the bytes, the NUL. */
  str(ch: string, s: string): this {
    const n = Buffer.byteLength(s, 'latin1');
    this.tag(ch).u32(n + 1);
    this.room(n + 1);
    this.buf.write(s, this.len, n, 'latin1');
    this.len += n;
    this.buf[this.len++] = 0;
    return this;
  }

  vv(ch: string, vv: VersionVector): this {
    this.tag(ch);
    for (let i = 0; i < 8; i++) this.int(String.fromCharCode(0x30 + i), vv.versions[i] ?? 0);
    return this.int('s', vv.storeHost).int('u', vv.storeUniq).int('f', vv.flags).u8(D_ENDVV);
  }

  /** A copy of the bytes built so far. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

export type HeaderFields = Omit<DumpHeader, 'kind' | 'offset' | 'size' | 'magic' | 'version' | 'fields' | 'notes'> &
  Partial<Pick<DumpHeader, 'magic' | 'version'>>;

export function encodeHeader(h: HeaderFields): Buffer {
  return new ByteBuilder(96)
    .u8(D_DUMPHEADER)
    .u32(h.magic ?? DUMP_BEGIN_MAGIC)
    .u32(h.version ?? DUMP_VERSION)
    .int('v', h.volumeId)
    .int('p', h.parentId)
    .str('n', h.name)
    .int('b', h.backupDate)
    .int('i', h.incremental)
    .tag('I')
    .u32(h.oldest)
    .u32(h.latest)
    .take();
}

export type VolumeFields = Omit<VolumeData, 'kind' | 'offset' | 'size' | 'fields' | 'notes'>;

/** Volume disk data in the server's order: i v n P s + u t p g c b q m x d f l a o C A U E B O M W D Z V. */
export function encodeVolume(v: VolumeFields): Buffer {
  const b = new ByteBuilder(512)
    .u8(D_VOLUMEDISKDATA)
    .int('i', v.id)
    .int('v', v.stampVersion)
    .str('n', v.name)
    .str('P', v.partition)
    .byte('s', v.inService)
    .byte('+', v.blessed)
    .int('u', v.nextUniquifier)
    .byte('t', v.type)
    .int('p', v.parentId)
    .int('g', v.groupId)
    .int('c', v.cloneId)
    .int('b', v.backupId)
    .int('q', v.maxQuota)
    .int('m', v.minQuota)
    .int('x', v.maxFiles)
    .int('d', v.diskUsed)
    .int('f', v.fileCount)
    .short('l', v.linkCount)
    .int('a', v.accountNumber)
    .int('o', v.owner)
    .int('C', v.creationDate)
    .int('A', v.accessDate)
    .int('U', v.updateDate)
    .int('E', v.expirationDate)
    .int('B', v.backupDate)
    .str('O', v.offlineMessage)
    .str('M', v.motd)
    .tag('W')
    .u32(v.weekUse.length);
  for (const w of v.weekUse) b.u32(w);
  return b.int('D', v.dayUseDate).int('Z', v.dayUse).vv('V', v.vv).take();
}

export function encodeIndexHeader(cls: IndexClass, declared: number, lists: number): Buffer {
  return new ByteBuilder(16)
    .u8(cls === 'large' ? D_LARGEINDEX : D_SMALLINDEX)
    .int('v', declared)
    .int('s', lists)
    .take();
}

export type VnodeFields = Omit<Vnode, 'kind' | 'offset' | 'size' | 'fields' | 'notes' | 'data'>;

/** What follows a vnode's fields. */
export type VnodeDataSpec =
  | { kind: 'none' }
  | { kind: 'dirpages'; pages: Buffer }
  | { kind: 'filedata'; length: number }
  | { kind: 'badinode' };

/**
 * A vnode record through its data header: the fields in server order, then
 * DIRPAGES with every page, FILEDATA with its count (the caller writes the
 * bytes), BADINODE, or nothing.
 */
export function encodeVnode(v: VnodeFields, data: VnodeDataSpec): Buffer {
  const b = new ByteBuilder(data.kind === 'dirpages' ? 256 + data.pages.length * (1 + 1 / DIR_PAGE_SIZE) + 8 : 256)
    .u8(D_VNODE)
    .u32(v.vnode)
    .u32(v.unique)
    .byte('t', v.type)
    .short('b', v.mode)
    .short('l', v.linkCount)
    .int('L', v.length)
    .int('v', v.dataVersion)
    .vv('V', v.vv)
    .int('m', v.mtime)
    .int('a', v.author)
    .int('o', v.owner)
    .int('p', v.parent)
    .int('q', v.parentUnique);
  if (v.acl !== undefined) b.str('X', v.acl);
  else if (v.rawAcl !== undefined) {
    b.tag('A').bytes(v.rawAcl);
    for (let i = 0; i < (v.rawAclPadding ?? 0); i++) b.u8(0);
  }
  switch (data.kind) {
    case 'dirpages': {
      const n = data.pages.length / DIR_PAGE_SIZE;
      b.u8(D_DIRPAGES).u32(n);
      for (let i = 0; i < n; i++) b.u8(0x50).bytes(data.pages.subarray(i * DIR_PAGE_SIZE, (i + 1) * DIR_PAGE_SIZE));
      break;
    }
    case 'filedata':
      b.u8(D_FILEDATA).u32(data.length);
      break;
    case 'badinode':
      b.u8(D_BADINODE);
      break;
    case 'none':
      break;
  }
  return b.take();
}

export function encodeRmVnode(vnode: number, unique: number): Buffer {
  return new ByteBuilder(9).u8(D_RMVNODE).u32(vnode).u32(unique).take();
}

export function encodeNullVnode(): Buffer {
  return Buffer.from([D_NULLVNODE]);
}

export function encodeEnd(): Buffer {
  return new ByteBuilder(5).u8(D_DUMPEND).u32(DUMP_END_MAGIC).take();
}
