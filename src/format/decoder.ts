/**
 * Synchronous record decoder over an in-memory window of the dump.
 *
 * `decodeRecord` parses one record starting at the cursor. When the window
 * ends before the record does it throws the NEED_MORE sentinel; the caller
 * (reader.ts, positional.ts) refills the window and retries from the same
 * record start. Damage throws a DumpError with the absolute offset.
 * No await per field, no allocation per byte.
 */
import { finding, type DumpFinding } from '../diagnostics/finding.js';
import {
  D_BADINODE, D_DIRPAGES, D_DUMPEND, D_DUMPHEADER, D_ENDVV, D_FILEDATA, D_LARGEINDEX, D_MAX,
  D_NULLVNODE, D_RMVNODE, D_SMALLINDEX, D_VNODE, D_VOLUMEDISKDATA, DIR_MAX_PAGES, DIR_PAGE_SIZE,
  MESSAGE_SIZE, PARTITION_SIZE, TAG_NAMES, VOLUME_NAME_SIZE, hex,
} from './constants.js';
import { DumpError } from './errors.js';
import {
  emptyVV, type DumpHeader, type DumpRecord, type IndexHeader, type Vnode,
  type VersionVector, type VnodeData, type VolumeData,
} from './types.js';

/** Thrown (never escapes the library) when the window holds too few bytes. */
export const NEED_MORE: unique symbol = Symbol('codadump.need-more');

export interface DecodeLimits {
  /** Longest string field accepted, in bytes including the NUL (default 1 MiB). */
  maxString: number;
  /** Longest int array accepted (default 1024 values). */
  maxArray: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxString: 1 << 20, maxArray: 1024 };

/** Raw internal access list size ('A' field, FORMAT.md 3.5). */
export const RAW_ACL_SIZE = 384;

export class Cursor {
  buf: Buffer;
  /** Index of the next unread byte in buf. */
  pos = 0;
  /** Index one past the last valid byte in buf. */
  end = 0;
  /** Absolute stream offset of buf[0]. */
  base = 0;
  limits: DecodeLimits;

  constructor(buf: Buffer, limits: DecodeLimits = DEFAULT_LIMITS) {
    this.buf = buf;
    this.limits = limits;
  }

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  need(n: number): void {
    if (this.end - this.pos < n) throw NEED_MORE;
  }

  u8(): number {
    if (this.pos >= this.end) throw NEED_MORE;
    return this.buf[this.pos++];
  }

  u16(): number {
    const p = this.pos;
    if (this.end - p < 2) throw NEED_MORE;
    const b = this.buf;
    this.pos = p + 2;
    return (b[p] << 8) | b[p + 1];
  }

  u32(): number {
    const p = this.pos;
    if (this.end - p < 4) throw NEED_MORE;
    const b = this.buf;
    this.pos = p + 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }
}

function note(notes: DumpFinding[] | undefined, n: DumpFinding): DumpFinding[] {
  (notes ??= []).push(n);
  return notes;
}

/** The order in which a server writes the fields of a record kind, and all its prefixes. */
interface FieldOrder {
  tags: string;
  prefixes: string[];
}

function fieldOrder(tags: string): FieldOrder {
  return { tags, prefixes: Array.from({ length: tags.length + 1 }, (_, k) => tags.slice(0, k)) };
}

const HEADER_ORDER = fieldOrder('vpnbiI');
const VOLUME_ORDER = fieldOrder('ivnPs+utpgcbqmxdflaoCAUEBOMWDZV');
const INDEX_ORDER = fieldOrder('vs');
const VNODE_ORDER = fieldOrder('tblLvVmaopqX');

/** Holder for the notes of the record being decoded. */
interface Ctx {
  notes: DumpFinding[] | undefined;
  /**
   * The field tags seen, once they differ from `order`. Until then undefined,
   * and the tags seen are the first `inOrder` of `order`: no string is built
   * for the usual record.
   */
  fields: string | undefined;
  order: FieldOrder;
  inOrder: number;
}

/**
 * The one Ctx, made ready for a new record: records are decoded one at a
 * time, start to end (no decode runs inside another, nothing waits in
 * between), so a record's notes and fields are taken out of it before the
 * next record starts; one object rather than one per record.
 */
const CTX: Ctx = { notes: undefined, fields: undefined, order: VNODE_ORDER, inOrder: 0 };

function newCtx(order: FieldOrder): Ctx {
  CTX.notes = undefined;
  CTX.fields = undefined;
  CTX.order = order;
  CTX.inOrder = 0;
  return CTX;
}

function fieldsSeen(ctx: Ctx): string {
  return ctx.fields ?? ctx.order.prefixes[ctx.inOrder];
}

function readString(c: Cursor, ctx: Ctx, tag: string, size: number): string {
  const at = c.offset - 1;
  const n = c.u32();
  if (n > c.limits.maxString) {
    throw new DumpError('BAD_LENGTH', `string field '${tag}' declares ${n} bytes (limit ${c.limits.maxString})`, at);
  }
  c.need(n);
  const start = c.pos;
  c.pos += n;
  if (n === 0 || c.buf[start + n - 1] !== 0) {
    ctx.notes = note(ctx.notes, finding('STRING_NOT_TERMINATED', at, `string field '${tag}' of ${n} bytes does not end with NUL`));
    return c.buf.toString('latin1', start, start + n);
  }
  if (size > 0 && n > size) {
    ctx.notes = note(ctx.notes, finding('STRING_TOO_LONG', at, `string field '${tag}' is ${n} bytes, Coda keeps only ${size}`));
  }
  return c.buf.toString('latin1', start, start + n - 1);
}

/**
 * The next field tag of the record being decoded, consumed and noted; or -1
 * at the record's end (a structural tag, left unread for the caller).
 */
function nextField(c: Cursor, ctx: Ctx): number {
  c.need(1);
  const t = c.buf[c.pos];
  if (t <= D_MAX) return -1;
  c.pos++;
  seen(c, ctx, t);
  return t;
}

function seen(c: Cursor, ctx: Ctx, tag: number): void {
  if (ctx.fields === undefined) {
    // The tags of an order are all different: no duplicate while they follow it.
    if (tag === ctx.order.tags.charCodeAt(ctx.inOrder)) {
      ctx.inOrder++;
      return;
    }
    ctx.fields = ctx.order.prefixes[ctx.inOrder];
  }
  const ch = String.fromCharCode(tag);
  if (ctx.fields.includes(ch)) {
    ctx.notes = note(ctx.notes, finding('DUPLICATE_FIELD', c.offset - 1, `field '${ch}' appears twice`));
  }
  ctx.fields += ch;
}

function unknownField(c: Cursor, tag: number, where: string): never {
  const printable = tag >= 0x21 && tag < 0x7f ? ` '${String.fromCharCode(tag)}'` : '';
  throw new DumpError('UNKNOWN_FIELD', `unknown field tag ${hex(tag)}${printable} in ${where}`, c.offset - 1);
}

/** Decode a version vector after its opening 'V' tag, through ENDVV. */
export function decodeVV(c: Cursor, where: string): VersionVector {
  return readVV(c, where, 0, 0);
}

/** decodeVV; without `where`, it is `vnode N.U` (made only for a message). */
function readVV(c: Cursor, where: string | undefined, vnode: number, unique: number): VersionVector {
  const vv = emptyVV();
  for (;;) {
    const t = c.u8();
    if (t <= D_MAX) {
      if (t !== D_ENDVV) {
        throw new DumpError('UNEXPECTED_TAG', `version vector in ${where ?? `vnode ${vnode}.${unique}`} ends with ${tagName(t)} instead of ENDVV`, c.offset - 1);
      }
      return vv;
    }
    if (t >= 0x30 && t <= 0x37) vv.versions[t - 0x30] = c.u32();
    else if (t === 0x73) vv.storeHost = c.u32(); // 's'
    else if (t === 0x75) vv.storeUniq = c.u32(); // 'u'
    else if (t === 0x66) vv.flags = c.u32(); // 'f'
    else unknownField(c, t, `the version vector of ${where ?? `vnode ${vnode}.${unique}`}`);
  }
}

export function tagName(t: number): string {
  return TAG_NAMES[t] ? `${TAG_NAMES[t]} (${t})` : `byte ${hex(t)}`;
}

function decodeHeader(c: Cursor, offset: number): DumpHeader {
  const magic = c.u32();
  const version = c.u32();
  const h: DumpHeader = {
    kind: 'header', offset, size: 0, magic, version, volumeId: 0, parentId: 0, name: '',
    backupDate: 0, incremental: 0, oldest: 0, latest: 0,
  };
  const ctx = newCtx(HEADER_ORDER);
  for (let t = nextField(c, ctx); t >= 0; t = nextField(c, ctx)) {
    switch (t) {
      case 0x76: h.volumeId = c.u32(); break; // v
      case 0x70: h.parentId = c.u32(); break; // p
      case 0x6e: h.name = readString(c, ctx, 'n', VOLUME_NAME_SIZE); break; // n
      case 0x62: h.backupDate = c.u32(); break; // b
      case 0x69: h.incremental = c.u32(); break; // i
      case 0x49: h.oldest = c.u32(); h.latest = c.u32(); break; // I
      default: unknownField(c, t, 'the dump header');
    }
  }
  h.fields = fieldsSeen(ctx);
  if (ctx.notes) h.notes = ctx.notes;
  return h;
}

function decodeVolume(c: Cursor, offset: number): VolumeData {
  const v: VolumeData = {
    kind: 'volume', offset, size: 0, id: 0, stampVersion: 0, name: '', partition: '', inService: 0,
    blessed: 0, nextUniquifier: 0, type: 0, parentId: 0, groupId: 0, cloneId: 0, backupId: 0,
    maxQuota: 0, minQuota: 0, maxFiles: 0, diskUsed: 0, fileCount: 0, linkCount: 0, accountNumber: 0,
    owner: 0, creationDate: 0, accessDate: 0, updateDate: 0, expirationDate: 0, backupDate: 0,
    offlineMessage: '', motd: '', weekUse: [], dayUseDate: 0, dayUse: 0, vv: emptyVV(),
  };
  const ctx = newCtx(VOLUME_ORDER);
  for (let t = nextField(c, ctx); t >= 0; t = nextField(c, ctx)) {
    switch (t) {
      case 0x69: v.id = c.u32(); break; // i
      case 0x76: v.stampVersion = c.u32(); break; // v
      case 0x6e: v.name = readString(c, ctx, 'n', VOLUME_NAME_SIZE); break; // n
      case 0x50: v.partition = readString(c, ctx, 'P', PARTITION_SIZE); break; // P
      case 0x73: v.inService = c.u8(); break; // s
      case 0x2b: v.blessed = c.u8(); break; // +
      case 0x75: v.nextUniquifier = c.u32(); break; // u
      case 0x74: v.type = c.u8(); break; // t
      case 0x70: v.parentId = c.u32(); break; // p
      case 0x67: v.groupId = c.u32(); break; // g
      case 0x63: v.cloneId = c.u32(); break; // c
      case 0x62: v.backupId = c.u32(); break; // b
      case 0x71: v.maxQuota = c.u32(); break; // q
      case 0x6d: v.minQuota = c.u32(); break; // m
      case 0x78: v.maxFiles = c.u32(); break; // x
      case 0x64: v.diskUsed = c.u32(); break; // d
      case 0x66: v.fileCount = c.u32(); break; // f
      case 0x6c: v.linkCount = c.u16(); break; // l
      case 0x61: v.accountNumber = c.u32(); break; // a
      case 0x6f: v.owner = c.u32(); break; // o
      case 0x43: v.creationDate = c.u32(); break; // C
      case 0x41: v.accessDate = c.u32(); break; // A
      case 0x55: v.updateDate = c.u32(); break; // U
      case 0x45: v.expirationDate = c.u32(); break; // E
      case 0x42: v.backupDate = c.u32(); break; // B
      case 0x4f: v.offlineMessage = readString(c, ctx, 'O', MESSAGE_SIZE); break; // O
      case 0x4d: v.motd = readString(c, ctx, 'M', MESSAGE_SIZE); break; // M
      case 0x57: { // W
        const at = c.offset - 1;
        const n = c.u32();
        if (n > c.limits.maxArray) throw new DumpError('BAD_LENGTH', `int array 'W' declares ${n} values`, at);
        c.need(4 * n);
        const arr = new Array<number>(n);
        for (let i = 0; i < n; i++) arr[i] = c.u32();
        v.weekUse = arr;
        break;
      }
      case 0x44: v.dayUseDate = c.u32(); break; // D
      case 0x5a: v.dayUse = c.u32(); break; // Z
      case 0x56: v.vv = decodeVV(c, 'the volume data'); break; // V
      default: unknownField(c, t, 'the volume data');
    }
  }
  v.fields = fieldsSeen(ctx);
  if (ctx.notes) v.notes = ctx.notes;
  return v;
}

function decodeIndex(c: Cursor, offset: number, tag: number): IndexHeader {
  const h: IndexHeader = {
    kind: 'index', offset, size: 0, index: tag === D_LARGEINDEX ? 'large' : 'small', declared: 0, lists: 0,
  };
  const ctx = newCtx(INDEX_ORDER);
  for (let t = nextField(c, ctx); t >= 0; t = nextField(c, ctx)) {
    if (t === 0x76) h.declared = c.u32();
    else if (t === 0x73) h.lists = c.u32();
    else unknownField(c, t, `the ${h.index} index header`);
  }
  h.fields = fieldsSeen(ctx);
  if (ctx.notes) h.notes = ctx.notes;
  return h;
}

const NO_VV: VersionVector = emptyVV();
const NO_DATA: VnodeData = { kind: 'none' };

function decodeVnode(c: Cursor, offset: number): Vnode {
  const vnode = c.u32();
  const unique = c.u32();
  // vv and data are set below (placeholders: no object made only to be replaced).
  const v: Vnode = {
    kind: 'vnode', offset, size: 0, vnode, unique, type: 0, mode: 0, linkCount: 0, length: 0,
    dataVersion: 0, vv: NO_VV, mtime: 0, author: 0, owner: 0, parent: 0, parentUnique: 0,
    data: NO_DATA,
  };
  const ctx = newCtx(VNODE_ORDER);
  for (let t = nextField(c, ctx); t >= 0; t = nextField(c, ctx)) {
    switch (t) {
      case 0x74: v.type = c.u8(); break; // t
      case 0x62: v.mode = c.u16(); break; // b
      case 0x6c: v.linkCount = c.u16(); break; // l
      case 0x4c: v.length = c.u32(); break; // L
      case 0x76: v.dataVersion = c.u32(); break; // v
      case 0x56: v.vv = readVV(c, undefined, vnode, unique); break; // V
      case 0x6d: v.mtime = c.u32(); break; // m
      case 0x61: v.author = c.u32(); break; // a
      case 0x6f: v.owner = c.u32(); break; // o
      case 0x70: v.parent = c.u32(); break; // p
      case 0x71: v.parentUnique = c.u32(); break; // q
      case 0x58: v.acl = readString(c, ctx, 'X', 0); break; // X
      case 0x41: { // A: raw internal access list, optionally NUL-padded
        c.need(RAW_ACL_SIZE);
        v.rawAcl = Buffer.from(c.buf.subarray(c.pos, c.pos + RAW_ACL_SIZE));
        c.pos += RAW_ACL_SIZE;
        let pad = 0;
        while (pad < 16) {
          c.need(1);
          if (c.buf[c.pos] !== 0) break;
          c.pos++;
          pad++;
        }
        v.rawAclPadding = pad;
        break;
      }
      default: unknownField(c, t, `vnode ${vnode}.${unique}`);
    }
  }
  // Data section.
  const t = c.buf[c.pos];
  const at = c.offset;
  if (t === D_DIRPAGES) {
    c.pos++;
    const count = c.u32();
    if (count > DIR_MAX_PAGES) {
      throw new DumpError('BAD_LENGTH', `vnode ${vnode}.${unique}: DIRPAGES declares ${count} pages (at most ${DIR_MAX_PAGES})`, at);
    }
    c.need(count * (DIR_PAGE_SIZE + 1));
    const pages = Buffer.allocUnsafe(count * DIR_PAGE_SIZE);
    for (let i = 0; i < count; i++) {
      if (c.buf[c.pos] !== 0x50) {
        throw new DumpError('BAD_VALUE', `vnode ${vnode}.${unique}: directory page ${i} does not start with 'P' (found ${hex(c.buf[c.pos])})`, c.offset);
      }
      c.buf.copy(pages, i * DIR_PAGE_SIZE, c.pos + 1, c.pos + 1 + DIR_PAGE_SIZE);
      c.pos += DIR_PAGE_SIZE + 1;
    }
    v.data = { kind: 'dirpages', offset: at, count, pages };
  } else if (t === D_FILEDATA) {
    c.pos++;
    const n = c.u32();
    v.data = { kind: 'filedata', offset: at, length: n, start: c.offset };
  } else if (t === D_BADINODE) {
    c.pos++;
    v.data = { kind: 'badinode', offset: at };
  }
  if (v.vv === NO_VV) v.vv = emptyVV();
  if (v.data === NO_DATA) v.data = { kind: 'none' };
  v.fields = fieldsSeen(ctx);
  if (ctx.notes) v.notes = ctx.notes;
  return v;
}

/**
 * Decode the record at the cursor. Returns it with `offset` set and `size`
 * = bytes consumed. For a vnode with file data, the file bytes are NOT
 * consumed: the caller skips or reads `data.length` bytes from `data.start`.
 */
export function decodeRecord(c: Cursor): DumpRecord {
  const offset = c.offset;
  const start = c.pos;
  const tag = c.u8();
  let rec: DumpRecord;
  switch (tag) {
    case D_DUMPHEADER: rec = decodeHeader(c, offset); break;
    case D_VOLUMEDISKDATA: rec = decodeVolume(c, offset); break;
    case D_LARGEINDEX:
    case D_SMALLINDEX: rec = decodeIndex(c, offset, tag); break;
    case D_VNODE: rec = decodeVnode(c, offset); break;
    case D_NULLVNODE: rec = { kind: 'nullvnode', offset, size: 0 }; break;
    case D_RMVNODE: {
      const vnode = c.u32();
      const unique = c.u32();
      rec = { kind: 'rmvnode', offset, size: 0, vnode, unique };
      break;
    }
    case D_DUMPEND: rec = { kind: 'end', offset, size: 0, magic: c.u32() }; break;
    default:
      if (tag > D_MAX) {
        throw new DumpError('UNEXPECTED_TAG', `field tag ${hex(tag)} where a record should start`, offset);
      }
      throw new DumpError('UNEXPECTED_TAG', `${tagName(tag)} where a record should start`, offset);
  }
  rec.size = c.pos - start;
  return rec;
}
