/**
 * Decoded records of a Coda volume dump (FORMAT.md sections 3 and 4).
 *
 * Strings are "binary strings": one JS char per byte (latin1), so every name
 * round-trips byte-exactly. Use `displayString()` to show one as UTF-8.
 * Every record carries its absolute byte offset in the dump stream and its
 * encoded size (for a vnode: up to the start of its file data, see `data`).
 */
import type { DumpFinding } from '../diagnostics/finding.js';


export interface VersionVector {
  /** The eight per-replica version counters '0'..'7'. */
  versions: number[];
  storeHost: number;
  storeUniq: number;
  flags: number;
}



interface RecordBase {
  /** Absolute offset of the record's structural tag. */
  offset: number;
  /** Encoded size in bytes (for a vnode: through its DIRPAGES/FILEDATA count, excluding file bytes). */
  size: number;
  /** Field tags in the order they were seen (field records only). */
  fields?: string;
  /** Soft findings from decoding (STRING_NOT_TERMINATED, STRING_TOO_LONG, DUPLICATE_FIELD): the record is still usable. */
  notes?: DumpFinding[];
}

export interface DumpHeader extends RecordBase {
  kind: 'header';
  magic: number;
  version: number;
  volumeId: number;
  parentId: number;
  name: string;
  backupDate: number;
  incremental: number;
  oldest: number;
  latest: number;
}

export interface VolumeData extends RecordBase {
  kind: 'volume';
  id: number;
  stampVersion: number;
  name: string;
  partition: string;
  inService: number;
  blessed: number;
  nextUniquifier: number;
  type: number;
  parentId: number;
  groupId: number;
  cloneId: number;
  backupId: number;
  maxQuota: number;
  minQuota: number;
  maxFiles: number;
  diskUsed: number;
  fileCount: number;
  linkCount: number;
  accountNumber: number;
  owner: number;
  creationDate: number;
  accessDate: number;
  updateDate: number;
  expirationDate: number;
  backupDate: number;
  offlineMessage: string;
  motd: string;
  weekUse: number[];
  dayUseDate: number;
  dayUse: number;
  vv: VersionVector;
}

export type IndexClass = 'large' | 'small';

export interface IndexHeader extends RecordBase {
  kind: 'index';
  index: IndexClass;
  /** 'v': vnodes the server meant to dump in this class. */
  declared: number;
  /** 's': number of vnode lists (slots). */
  lists: number;
}

export type VnodeData =
  | { kind: 'none' }
  /** Directory pages, read whole (at most 128 * 2048 bytes). `offset` is the DIRPAGES tag. */
  | { kind: 'dirpages'; offset: number; count: number; pages: Buffer }
  /** File contents: `length` bytes starting at absolute `start`; `offset` is the FILEDATA tag. */
  | { kind: 'filedata'; offset: number; length: number; start: number }
  | { kind: 'badinode'; offset: number };

export interface Vnode extends RecordBase {
  kind: 'vnode';
  vnode: number;
  unique: number;
  type: number;
  mode: number;
  linkCount: number;
  /** 'L': declared length in bytes. */
  length: number;
  dataVersion: number;
  vv: VersionVector;
  mtime: number;
  author: number;
  owner: number;
  parent: number;
  parentUnique: number;
  /** 'X': access list in external text form, when present. */
  acl?: string;
  /** 'A': an old raw internal access list (384 bytes), when present. */
  rawAcl?: Buffer;
  /** NUL padding bytes that followed the raw access list. */
  rawAclPadding?: number;
  data: VnodeData;
}

export interface RmVnode extends RecordBase {
  kind: 'rmvnode';
  vnode: number;
  unique: number;
}

export interface NullVnode extends RecordBase {
  kind: 'nullvnode';
}

export interface DumpEnd extends RecordBase {
  kind: 'end';
  magic: number;
}

/** Bytes found after the end marker. */
export interface Trailing extends RecordBase {
  kind: 'trailing';
}

export type DumpRecord = DumpHeader | VolumeData | IndexHeader | Vnode | RmVnode | NullVnode | DumpEnd | Trailing;

export function emptyVV(): VersionVector {
  return { versions: [0, 0, 0, 0, 0, 0, 0, 0], storeHost: 0, storeUniq: 0, flags: 0 };
}

/** Show a binary string (one char per byte) as UTF-8 text. */
export function displayString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\x80-\xff]/.test(s)) return s;
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** Slot index of a vnode number within its class (FORMAT.md 3.5). */
export function vnodeSlot(vnode: number): number {
  return Math.floor((vnode - 1) / 2);
}

/** Vnode number for slot `b` of a class (large: directories, small: files). */
export function slotVnode(slot: number, cls: IndexClass): number {
  return 2 * slot + (cls === 'large' ? 0 : 1) + 1;
}

export type VnodeTypeName = 'file' | 'dir' | 'symlink' | 'unknown';

/** The one name of a vnode type ('t'): 1 file, 2 dir, 3 symlink; any other number is 'unknown'. */
export function typeName(type: number): VnodeTypeName {
  return type === 1 ? 'file' : type === 2 ? 'dir' : type === 3 ? 'symlink' : 'unknown';
}

export function vnodeClass(vnode: number): IndexClass {
  return vnode % 2 === 1 ? 'large' : 'small';
}
