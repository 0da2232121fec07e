/**
 * Resynchronisation: find a record boundary in the middle of a damaged
 * stream.
 *
 * Candidates are bytes that can open a record a full dump has in its
 * indexes: VNODE (5), LARGEINDEX (4), SMALLINDEX (3) and DUMPEND (8). A
 * candidate is accepted only if it decodes as a *sound* record and the
 * record that follows it decodes too (for DUMPEND: the end magic, and when
 * the caller knows where the stream must end, exactly there). Sound vnode:
 * type 1..3 whose class matches the vnode number's parity (directories odd),
 * every field a server writes present ('tblLvVmaopq'), permission bits only,
 * a directory with an access list and 1..128 pages whose first page carries
 * the page tag, a file with FILEDATA whose count equals 'L' (or BADINODE).
 * Random bytes pass this with vanishing probability; file data that itself
 * contains a dump can still fool it, which is why a wraparound seam is only
 * *confirmed* by a chain that runs through it (see diagnose.ts).
 */
import {
  D_DUMPEND, D_LARGEINDEX, D_SMALLINDEX, D_VNODE, DIR_MAX_PAGES, DUMP_END_MAGIC, VNODE_DIR, VNODE_FILE,
  VNODE_SYMLINK,
} from '../format/constants.js';
import type { DumpRecord, IndexHeader, Vnode } from '../format/types.js';
import type { VStream } from './vstream.js';

const VNODE_REQUIRED = 'tblLvVmaopq';
/** Field tags that can follow a VNODE's number and uniquifier. */
const VNODE_FIELD_TAGS = new Set([...'tblLvVmaopqXA'].map((c) => c.charCodeAt(0)));
const DIR_PAGE_TAG = 1234;
/** Bytes scanned per read while resynchronising. */
const SCAN_BLOCK = 4 << 20;

/** A vnode record a server could have written (see the module comment). */
export function soundVnode(v: Vnode): boolean {
  if (v.vnode < 1 || v.vnode >= 2 ** 31) return false;
  if (v.type !== VNODE_FILE && v.type !== VNODE_DIR && v.type !== VNODE_SYMLINK) return false;
  if ((v.type === VNODE_DIR) !== (v.vnode % 2 === 1)) return false;
  const f = v.fields ?? '';
  for (const ch of VNODE_REQUIRED) if (!f.includes(ch)) return false;
  if (v.mode > 0o7777) return false;
  if (v.type === VNODE_DIR) {
    if (v.acl === undefined && v.rawAcl === undefined) return false;
    if (v.data.kind !== 'dirpages' || v.data.count < 1 || v.data.count > DIR_MAX_PAGES) return false;
    if (v.data.pages.readUInt32BE(0) !== DIR_PAGE_TAG) return false;
    return true;
  }
  if (v.data.kind === 'badinode') return true;
  return v.data.kind === 'filedata' && v.data.length === v.length;
}

/** A vnode repair can write (and a record chain accepts): class and type agree, the data it needs is there. */
export function usableVnode(v: Vnode): boolean {
  if (v.vnode < 1 || v.vnode >= 2 ** 31) return false;
  if (v.type !== VNODE_FILE && v.type !== VNODE_DIR && v.type !== VNODE_SYMLINK) return false;
  if ((v.type === VNODE_DIR) !== (v.vnode % 2 === 1)) return false;
  if (v.type === VNODE_DIR) return v.data.kind === 'dirpages' && v.data.count >= 1;
  return v.data.kind === 'filedata' || v.data.kind === 'badinode';
}

export function soundIndex(r: IndexHeader): boolean {
  return r.fields === 'vs' && r.lists >= 1 && r.lists < 2 ** 31 && r.declared < 2 ** 31;
}

/** May this record follow a sound record inside the vnode indexes? */
export function canFollow(r: DumpRecord): boolean {
  switch (r.kind) {
    case 'vnode': return soundVnode(r);
    case 'index': return soundIndex(r);
    case 'end': return r.magic === DUMP_END_MAGIC;
    case 'rmvnode':
    case 'nullvnode':
      return true;
    default:
      return false;
  }
}

export interface ResyncOptions {
  /** When known: the virtual position where the stream's end marker must end. */
  expectedEnd?: number;
  /** Refuse candidates at or beyond this position (default: the stream's end). */
  limit?: number;
}

/** Is there a sound record boundary at virtual `v`? */
export async function plausibleAt(vs: VStream, v: number, opts: ResyncOptions = {}): Promise<boolean> {
  const d = await vs.decodeAt(v);
  if (!d.ok) return false;
  const r = d.rec;
  if (r.kind === 'end') {
    if (r.magic !== DUMP_END_MAGIC) return false;
    return opts.expectedEnd === undefined || d.end === opts.expectedEnd;
  }
  if (r.kind === 'vnode') {
    if (!soundVnode(r)) return false;
  } else if (r.kind === 'index') {
    if (!soundIndex(r)) return false;
  } else {
    return false;
  }
  if (!vs.readable(d.end)) return false;
  const n = await vs.decodeAt(d.end);
  return n.ok && canFollow(n.rec);
}

/** Cheap byte-level filter before a full decode (bytes at b[i..] are the candidate). */
function prefilter(b: Buffer, i: number, end: number): boolean {
  const t = b[i];
  if (end - i < 14) return true; // not enough bytes here to judge: let the full check decide
  switch (t) {
    case D_VNODE: {
      const vnode = b.readUInt32BE(i + 1);
      return vnode >= 1 && vnode < 2 ** 30 && VNODE_FIELD_TAGS.has(b[i + 9]);
    }
    case D_LARGEINDEX:
    case D_SMALLINDEX:
      return b[i + 1] === 0x76 && b[i + 6] === 0x73;
    case D_DUMPEND:
      return b.readUInt32BE(i + 1) === DUMP_END_MAGIC;
    default:
      return false;
  }
}

const TAGS = [D_SMALLINDEX, D_LARGEINDEX, D_VNODE, D_DUMPEND] as const;

/**
 * The first sound record boundary at or after virtual `from` (and before
 * `limit`), or null. Reads the readable bytes in order, once; candidates are
 * found with indexOf (fast over runs of zeros) and filtered on the bytes in
 * hand before the full check.
 */
export async function findResync(vs: VStream, from: number, opts: ResyncOptions = {}): Promise<number | null> {
  const limit = Math.min(opts.limit ?? vs.length, vs.length);
  const buf = Buffer.allocUnsafe(SCAN_BLOCK);
  let p: number | null = vs.nextReadable(from);
  while (p !== null && p < limit) {
    const want = Math.min(SCAN_BLOCK, limit - p);
    const n = await vs.read(buf, 0, want, p);
    if (n === 0) {
      p = vs.nextReadable(vs.readableEnd(p));
      continue;
    }
    const b = buf.subarray(0, n);
    // Candidates decode from the bytes in hand (no read per candidate), and
    // the errors of the many that fail are made without a stack trace
    // (nobody sees them; capturing one costs more than the decode).
    vs.useWindow(buf, p, n, n < want);
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      const next = TAGS.map((t) => b.indexOf(t, 0));
      for (;;) {
        let i = -1;
        for (const x of next) if (x >= 0 && (i < 0 || x < i)) i = x;
        if (i < 0) break;
        if (prefilter(b, i, n) && (await plausibleAt(vs, p + i, opts))) return p + i;
        for (let k = 0; k < TAGS.length; k++) if (next[k] === i) next[k] = b.indexOf(TAGS[k], i + 1);
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    p = p + n;
    if (!vs.readable(p)) p = vs.nextReadable(p);
  }
  return null;
}
