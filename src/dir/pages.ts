/**
 * Coda directory pages (FORMAT.md 3.6): decode, validate and encode.
 *
 * A directory is 1..128 pages of 2048 bytes; a page is 64 blobs of 32 bytes.
 * Page header (every page, blob 0): int32 tag 1234, free count byte, 8-byte
 * free bitmap (bit j of blob j is byte j>>3, bit j&7, LSB first), 19 bytes
 * of padding. Page 0 also holds, at byte 32, the 128-byte allocation map
 * (free blobs per page, 64 = page absent) and, at byte 160, the hash table
 * of 128 big-endian 16-bit blob numbers: blobs 0..12 of page 0.
 *
 * Entry (first blob): flag 1, length byte (never written by Coda: 0),
 * 16-bit next, int32 vnode, int32 uniquifier, NUL-terminated name from byte
 * 12, spanning `nameBlobs(len)` consecutive blobs of one page.
 *
 * Names are binary strings: one char per byte (latin1).
 */
import type { Code } from '../diagnostics/codes.js';
import { finding, vnodeKey, type DumpFinding } from '../diagnostics/finding.js';

import { DumpError } from '../diagnostics/errors.js';
import { dirHash, dirHashChain, dirHashStep } from './hash.js';

/** Bytes per directory page; format/constants.ts re-exports it for the dump stream. */
export const DIR_PAGE_SIZE = 2048;
/** Most pages a directory may have (DIR_MAXPAGES). */
export const DIR_MAX_PAGES = 128;
export const DIR_PAGE_TAG = 1234;
export const DIR_BLOB_SIZE = 32;
/** Blobs per page (Coda's EPP). */
export const DIR_BLOBS_PER_PAGE = 64;
/** Hash chains (Coda's NHASH). */
export const DIR_NHASH = 128;
/** First blob an entry can use: blobs 0..12 of page 0 are the headers. */
export const DIR_FIRST_ENTRY_BLOB = 13;
/** Longest name Coda accepts (CODA_MAXNAMLEN). */
export const DIR_MAX_NAME = 255;
/** Byte offset of the allocation map and of the hash table in page 0. */
export const DIR_ALLOMAP_OFFSET = 32;
export const DIR_HASH_OFFSET = 160;

const PAGE = DIR_PAGE_SIZE;
const BLOB = DIR_BLOB_SIZE;
const EPP = DIR_BLOBS_PER_PAGE;
const ALLOMAP = DIR_ALLOMAP_OFFSET;
const HASHTAB = DIR_HASH_OFFSET;

export interface DirEntry {
  name: string;
  vnode: number;
  unique: number;
  /** Number of the entry's first blob (set by the decoder). */
  blob?: number;
}

export interface DirFid {
  vnode: number;
  unique: number;
}

/** The directory codes (src/diagnostics/codes.ts, area `directory`, each explained there). */
export type DirProblemCode = Extract<Code, `DIR_${string}`>;

/** A directory finding; its offset is within the pages buffer (the checker adds the pages' place in the dump). */
export type DirProblem = DumpFinding & { code: DirProblemCode };

export interface DirValidateOptions {
  self?: DirFid;
  parent?: DirFid;
}

export interface DirValidation {
  /** Entries reachable from the hash table, in chain order (chain 0..127). */
  entries: DirEntry[];
  /** Sorted by offset. */
  problems: DirProblem[];
}

/** Blobs an entry with a name of `nameLength` bytes occupies (Coda's dir_NameBlobs). */
export function nameBlobs(nameLength: number): number {
  return 1 + ((nameLength + 1 + 15) >> 5);
}

/** The directory length in bytes as Coda computes it: pages the allocation map marks present, times 2048. */
export function dirLength(pages: Buffer): number {
  if (pages.length < HASHTAB) throw new DumpError('BAD_LENGTH', `directory of ${pages.length} bytes has no allocation map`);
  let n = 0;
  for (let i = 0; i < DIR_MAX_PAGES; i++) if (pages[ALLOMAP + i] !== EPP) n++;
  return n * PAGE;
}

/**
 * The entries reachable from the hash table, chain 0..127, each chain in
 * order. Damaged chains are cut where they go wrong (bounded: each blob is
 * visited at most once). Throws a DumpError if `pages` is not 1..128 whole pages.
 */
export function decodeDirectory(pages: Buffer): DirEntry[] {
  if (pages.length === 0 || pages.length % PAGE !== 0 || pages.length > DIR_MAX_PAGES * PAGE) {
    throw new DumpError('BAD_LENGTH', `directory of ${pages.length} bytes is not 1 to ${DIR_MAX_PAGES} pages of ${PAGE} bytes`);
  }
  return validateDirectory(pages).entries;
}

function popcount8(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

/** Where a chain pointer at byte `ptr` lives, for messages. */
function pointerName(ptr: number, chain: number): string {
  return ptr < HASHTAB + 2 * DIR_NHASH ? `hash table slot ${chain}` : `next of the entry at blob ${(ptr - 2) / BLOB}`;
}

/**
 * Check a directory as Coda's DIR_DirOK does, and more (never stopping at
 * the first problem, never throwing). Returns the entries found and the
 * problems, each at a byte offset within `pages`.
 */
export function validateDirectory(pages: Buffer, opts: DirValidateOptions = {}): DirValidation {
  const { count, blobs, nameLengths, problems } = scanDirectory(pages, opts);
  const entries: DirEntry[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const off = blobs[k] * BLOB;
    entries[k] = { name: pages.toString('latin1', off + 12, off + 12 + nameLengths[k]), vnode: pages.readUInt32BE(off + 4), unique: pages.readUInt32BE(off + 8), blob: blobs[k] };
  }
  return { entries, problems };
}

/**
 * validateDirectory's findings with no string or object per entry (for
 * `verify`, which checks hundreds of thousands of names): entry k starts at
 * blob `blobs[k]`, its vnode and uniquifier are the big-endian words at byte
 * `blobs[k] * 32 + 4` and `+ 8` of the pages, its name the `nameLengths[k]`
 * bytes from `blobs[k] * 32 + 12`.
 */
export interface DirScan {
  /** Entries found, in chain order (chain 0..127). */
  count: number;
  blobs: Uint16Array;
  nameLengths: Uint8Array;
  /** Sorted by offset. */
  problems: DirProblem[];
}

/** True when the `len` bytes at `a` and at `b` of `buf` are the same. */
function sameBytes(buf: Buffer, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/**
 * scanDirectory's working arrays, for the largest directory (128 pages of 64
 * blobs), made once: it runs for every directory of a dump, and calls no
 * code that could call it again before it is done with them.
 */
const MAX_BLOBS = DIR_MAX_PAGES * EPP;
const scratch = {
  /** Blobs in use (headers, and the blobs of the entries found so far). */
  inUse: new Uint8Array(MAX_BLOBS),
  /** The chain that reached each blob, -1: none. */
  reachedBy: new Int16Array(MAX_BLOBS),
  /**
   * The first entry of each name, for DIR_NAME_DUPLICATE: listed by the
   * name's hash (equal names hash alike), blob to blob, -1 ending a list;
   * with the length of each listed name.
   */
  firstOfHash: new Int16Array(DIR_NHASH),
  nextOfHash: new Int16Array(MAX_BLOBS),
  nameLengthOf: new Uint8Array(MAX_BLOBS),
  /** The entries found (at most one per blob): first blob, name length. */
  blobs: new Uint16Array(MAX_BLOBS),
  nameLengths: new Uint8Array(MAX_BLOBS),
};

/** The checks of validateDirectory, on the bytes: see DirScan. */
export function scanDirectory(pages: Buffer, opts: DirValidateOptions = {}): DirScan {
  const problems: DirProblem[] = [];
  const add = (code: DirProblemCode, offset: number, message: string): void => {
    problems.push(finding(code, offset, message) as DirProblem);
  };
  const whole = Math.floor(pages.length / PAGE);
  if (whole === 0) {
    add('DIR_PAGE_COUNT', 0, `directory of ${pages.length} bytes has no complete page`);
    return { count: 0, blobs: new Uint16Array(0), nameLengths: new Uint8Array(0), problems };
  }
  if (pages.length % PAGE !== 0) {
    add('DIR_PAGE_COUNT', whole * PAGE, `directory length ${pages.length} is not a multiple of ${PAGE} (${pages.length % PAGE} bytes of a partial page)`);
  }
  if (whole > DIR_MAX_PAGES) {
    add('DIR_PAGE_COUNT', DIR_MAX_PAGES * PAGE, `directory has ${whole} pages; at most ${DIR_MAX_PAGES} are allowed (the rest is not checked)`);
  }
  const n = Math.min(whole, DIR_MAX_PAGES);
  const nBlobs = n * EPP;

  // Page headers, allocation map, free counts.
  for (let p = 0; p < n; p++) {
    const base = p * PAGE;
    const tag = pages.readUInt32BE(base);
    if (tag !== DIR_PAGE_TAG) add('DIR_PAGE_TAG', base, `page ${p}: tag ${tag} (0x${tag.toString(16)}), expected ${DIR_PAGE_TAG}`);
    let used = 0;
    for (let j = 0; j < 8; j++) used += popcount8(pages[base + 5 + j]);
    const free = pages[base + 4];
    if (free !== EPP - used) add('DIR_FREE_COUNT', base + 4, `page ${p}: free count ${free}, but its bitmap has ${used} blobs in use (${EPP - used} free)`);
  }
  for (let i = 0; i < DIR_MAX_PAGES; i++) {
    const a = pages[ALLOMAP + i];
    if (i < n) {
      const free = pages[i * PAGE + 4];
      if (a === EPP) add('DIR_ALLOC_MAP', ALLOMAP + i, `page ${i} is present but the allocation map marks it absent (64)`);
      else if (a !== free) add('DIR_ALLOC_MAP', ALLOMAP + i, `allocation map gives page ${i} ${a} free blobs, its page header ${free}`);
    } else if (a !== EPP) {
      add('DIR_ALLOC_MAP', ALLOMAP + i, `page ${i} does not exist (${n} pages) but the allocation map gives it ${a} free blobs, not 64`);
    }
  }

  // Walk the hash chains; mark the blobs every entry uses.
  const { inUse, reachedBy, firstOfHash, nextOfHash, nameLengthOf, blobs, nameLengths } = scratch;
  inUse.fill(0, 0, nBlobs);
  inUse.fill(1, 0, DIR_FIRST_ENTRY_BLOB);
  for (let p = 1; p < n; p++) inUse[p * EPP] = 1;
  reachedBy.fill(-1, 0, nBlobs);
  firstOfHash.fill(-1);
  let count = 0;
  let dot = -1; // blob of the first "." entry
  let dotdot = -1; // and of the first ".."
  for (let chain = 0; chain < DIR_NHASH; chain++) {
    let ptr = HASHTAB + 2 * chain;
    let blob = pages.readUInt16BE(ptr);
    while (blob !== 0) {
      if (blob >= nBlobs || (blob & (EPP - 1)) === 0 || blob < DIR_FIRST_ENTRY_BLOB) {
        const why = blob >= nBlobs ? `beyond the last page (${n} pages, ${nBlobs} blobs)` : 'into a page or directory header';
        add('DIR_CHAIN_RANGE', ptr, `chain ${chain}: ${pointerName(ptr, chain)} points to blob ${blob}, ${why}`);
        break;
      }
      if (reachedBy[blob] >= 0) {
        const how = reachedBy[blob] === chain ? 'which this chain already passed (a loop)' : `which chain ${reachedBy[blob]} already reached`;
        add('DIR_CHAIN_CYCLE', ptr, `chain ${chain}: ${pointerName(ptr, chain)} points to blob ${blob}, ${how}`);
        break;
      }
      reachedBy[blob] = chain;
      const off = blob * BLOB;
      if (pages[off] !== 1) {
        add('DIR_CHAIN_NOT_FIRST', ptr, `chain ${chain}: ${pointerName(ptr, chain)} points to blob ${blob}, whose flag is ${pages[off]}, not 1 (first blob of an entry)`);
        break;
      }
      const inPage = blob & (EPP - 1);
      const start = off + 12;
      const pageEnd = off - inPage * BLOB + PAGE;
      const limit = Math.min(start + DIR_MAX_NAME + 1, pageEnd);
      // The name's end, and its hash (dirHashBytes) on the way.
      let z = start;
      let hash = 0;
      for (; z < limit; z++) {
        const c = pages[z];
        if (c === 0) break;
        hash = dirHashStep(hash, c);
      }
      const len = z - start;
      // Blobs this entry uses: as Coda counts them, cut at the page end; just the first if the name never ends.
      let end = blob + 1;
      if (z === limit) {
        add('DIR_NAME_LENGTH', start, limit === pageEnd
          ? `entry at blob ${blob}: name runs past the end of page ${blob >> 6} without a NUL`
          : `entry at blob ${blob}: name longer than ${DIR_MAX_NAME} bytes (no NUL within ${DIR_MAX_NAME + 1})`);
      } else {
        const nb = nameBlobs(len);
        if (inPage + nb > EPP) {
          add('DIR_NAME_LENGTH', start, `entry at blob ${blob}: a ${len}-byte name needs ${nb} blobs, only ${EPP - inPage} remain in its page`);
        }
        end = Math.min(blob + nb, blob - inPage + EPP);
      }
      let reused = false;
      for (let b = blob; b < end; b++) {
        if (inUse[b] && !reused) {
          add('DIR_BLOB_REUSED', b * BLOB, `entry at blob ${blob} uses blob ${b}, which another entry uses too`);
          reused = true;
        }
        inUse[b] = 1;
      }
      if (z < limit && len === 0) {
        add('DIR_NAME_EMPTY', start, `entry at blob ${blob} has an empty name`);
      } else if (z < limit) {
        const h = dirHashChain(hash);
        if (h !== chain) add('DIR_WRONG_CHAIN', start, `entry at blob ${blob} (${JSON.stringify(pages.toString('latin1', start, z))}) is on chain ${chain}, its name hashes to ${h}`);
        let first = firstOfHash[h];
        while (first >= 0 && !(nameLengthOf[first] === len && sameBytes(pages, first * BLOB + 12, start, len))) first = nextOfHash[first];
        if (first >= 0) {
          add('DIR_NAME_DUPLICATE', start, `entry at blob ${blob}: name ${JSON.stringify(pages.toString('latin1', start, z))} already at blob ${first}`);
        } else {
          nameLengthOf[blob] = len;
          nextOfHash[blob] = firstOfHash[h];
          firstOfHash[h] = blob;
          if (pages[start] === 0x2e && (len === 1 || (len === 2 && pages[start + 1] === 0x2e))) {
            if (len === 1) dot = blob;
            else dotdot = blob;
          }
        }
        blobs[count] = blob;
        nameLengths[count] = len;
        count++;
      }
      ptr = off + 2;
      blob = pages.readUInt16BE(ptr);
    }
  }

  // Bitmaps against the blobs actually used.
  for (let p = 0; p < n; p++) {
    for (let j = 0; j < 8; j++) {
      let want = 0;
      const b0 = p * EPP + j * 8;
      for (let k = 0; k < 8; k++) want |= inUse[b0 + k] << k;
      const have = pages[p * PAGE + 5 + j];
      if (have !== want) {
        const extra = have & ~want;
        const missing = want & ~have;
        const list = (m: number): string => [0, 1, 2, 3, 4, 5, 6, 7].filter((k) => (m >> k) & 1).map((k) => b0 + k).join(', ');
        const parts: string[] = [];
        if (extra) parts.push(`blobs ${list(extra)} marked in use but used by nothing`);
        if (missing) parts.push(`blobs ${list(missing)} used but marked free`);
        add('DIR_BITMAP', p * PAGE + 5 + j, `page ${p} bitmap byte ${j} is 0x${have.toString(16).padStart(2, '0')}, expected 0x${want.toString(16).padStart(2, '0')}: ${parts.join('; ')}`);
      }
    }
  }

  // `.` and `..`.
  const dots: [string, number, DirProblemCode, DirProblemCode, DirFid | undefined, string][] = [
    ['.', dot, 'DIR_NO_DOT', 'DIR_DOT_FID', opts.self, 'the directory itself'],
    ['..', dotdot, 'DIR_NO_DOTDOT', 'DIR_DOTDOT_FID', opts.parent, 'the parent'],
  ];
  for (const [name, blob, missing, wrong, want, what] of dots) {
    if (blob < 0) {
      add(missing, HASHTAB + 2 * dirHash(name), `no "${name}" entry`);
    } else if (want) {
      const v = pages.readUInt32BE(blob * BLOB + 4);
      const u = pages.readUInt32BE(blob * BLOB + 8);
      if (v !== want.vnode || u !== want.unique) {
        add(wrong, blob * BLOB + 4, `"${name}" names ${vnodeKey(v, u)}, expected ${what} ${vnodeKey(want.vnode, want.unique)}`);
      }
    }
  }

  problems.sort((a, b) => a.offset - b.offset);
  return { count, blobs: blobs.slice(0, count), nameLengths: nameLengths.slice(0, count), problems };
}

/**
 * Coda's dir_FindBlobs on a bare allocation state: the first page (lowest
 * number) whose allocation map promises `nb` free blobs and holds a run of
 * `nb` free consecutive blobs, lowest blob first; an absent page (map 64) is
 * added when reached. Returns the first blob number, or -1 when the
 * directory is full. `commit` = false only looks.
 */
function findBlobs(allo: Uint8Array, bits: Uint8Array, nb: number, commit: boolean): number {
  for (let i = 0; i < DIR_MAX_PAGES; i++) {
    if (allo[i] < nb) continue;
    if (allo[i] === EPP) {
      // A new page: only its header blob is in use.
      if (commit) {
        allo[i] = EPP - 1 - nb;
        bits[i * 8] = 1;
        for (let k = 1; k <= nb; k++) bits[i * 8 + (k >> 3)] |= 1 << (k & 7);
      }
      return i * EPP + 1;
    }
    const base = i * 8;
    for (let j = 0; j <= EPP - nb; j++) {
      let k = 0;
      while (k < nb && !((bits[base + ((j + k) >> 3)] >> ((j + k) & 7)) & 1)) k++;
      if (k === nb) {
        if (commit) {
          allo[i] -= nb;
          for (k = j; k < j + nb; k++) bits[base + (k >> 3)] |= 1 << (k & 7);
        }
        return i * EPP + j;
      }
    }
  }
  return -1;
}

/** A fresh directory's allocation state (DIR_MakeDir): page 0 with blobs 0..12 in use. */
function freshState(): { allo: Uint8Array; bits: Uint8Array } {
  const allo = new Uint8Array(DIR_MAX_PAGES).fill(EPP);
  const bits = new Uint8Array(DIR_MAX_PAGES * 8);
  allo[0] = EPP - DIR_FIRST_ENTRY_BLOB;
  bits[0] = 0xff;
  bits[1] = 0x1f;
  return { allo, bits };
}

function checkEntry(e: DirEntry, i: number): void {
  const bad = (why: string): DumpError => new DumpError('BAD_VALUE', `directory entry ${i} (${JSON.stringify(e.name)}): ${why}`);
  const len = e.name.length;
  if (len === 0) throw bad('empty name');
  if (len > DIR_MAX_NAME) throw bad(`name of ${len} bytes; at most ${DIR_MAX_NAME}`);
  for (let k = 0; k < len; k++) {
    const c = e.name.charCodeAt(k);
    if (c === 0 || c > 0xff) throw bad(c === 0 ? 'name contains a NUL byte' : 'name is not a binary (latin1) string');
  }
  for (const [what, v] of [['vnode', e.vnode], ['uniquifier', e.unique]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw bad(`${what} ${v} is not a 32-bit unsigned integer`);
  }
}

/**
 * Build directory pages exactly as Coda does: a fresh directory (DIR_MakeDir),
 * then DIR_Create for each entry in the given order (pass `.` and `..` first).
 * Each entry takes first-fit blobs, goes on the head of its hash chain; free
 * counts, bitmaps and allocation map are kept; all other bytes (the length
 * byte, padding, free blobs, the tail of a name's last blob) are zero, as in
 * Coda's freshly allocated pages. Throws a DumpError for an empty, over-long,
 * NUL-containing or duplicate name, a bad fid, or when 128 pages are full.
 */
export function encodeDirectory(entries: readonly DirEntry[]): Buffer {
  const { allo, bits } = freshState();
  let buf = Buffer.alloc(PAGE);
  const seen = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    checkEntry(e, i);
    if (seen.has(e.name)) throw new DumpError('BAD_VALUE', `directory entry ${i}: name ${JSON.stringify(e.name)} is already in the directory`);
    seen.add(e.name);
    const blob = findBlobs(allo, bits, nameBlobs(e.name.length), true);
    if (blob < 0) throw new DumpError('BAD_VALUE', `directory entry ${i} (${JSON.stringify(e.name)}): directory is full (${DIR_MAX_PAGES} pages)`);
    const need = ((blob >> 6) + 1) * PAGE;
    if (need > buf.length) {
      const grown = Buffer.alloc(Math.min(Math.max(need, buf.length * 2), DIR_MAX_PAGES * PAGE));
      buf.copy(grown);
      buf = grown;
    }
    const off = blob * BLOB;
    const h = HASHTAB + 2 * dirHash(e.name);
    buf[off] = 1;
    buf.writeUInt16BE(buf.readUInt16BE(h), off + 2);
    buf.writeUInt32BE(e.vnode, off + 4);
    buf.writeUInt32BE(e.unique, off + 8);
    buf.write(e.name, off + 12, 'latin1');
    buf.writeUInt16BE(blob, h);
  }
  let n = 0;
  while (n < DIR_MAX_PAGES && allo[n] !== EPP) n++;
  for (let p = 0; p < n; p++) {
    buf.writeUInt32BE(DIR_PAGE_TAG, p * PAGE);
    buf[p * PAGE + 4] = allo[p];
    for (let j = 0; j < 8; j++) buf[p * PAGE + 5 + j] = bits[p * 8 + j];
  }
  for (let i = 0; i < DIR_MAX_PAGES; i++) buf[ALLOMAP + i] = allo[i];
  return buf.length === n * PAGE ? buf : Buffer.from(buf.subarray(0, n * PAGE));
}

/**
 * Recover an order of creation that explains a directory's layout: an order
 * in which Coda's first-fit allocation puts every entry at its blob and
 * head-of-chain insertion gives every chain its order. Entries of one page
 * were created in blob order (with no deletions the free blobs of a page are
 * always one run at its end); across pages, a later small entry can still
 * fill the end of an earlier page, so the pages are interleaved by replaying
 * the allocation. Returns null when no such order exists (the directory is
 * damaged, or entries were deleted and their blobs reused or left as holes).
 * Encoding the result gives the same pages, except for bytes Coda leaves
 * stale (a deleted name's bytes under a reused blob).
 */
export function creationOrder(pages: Buffer): DirEntry[] | null {
  const { entries, problems } = validateDirectory(pages);
  if (problems.length > 0) return null;
  const nPages = pages.length / PAGE;
  const queues: DirEntry[][] = Array.from({ length: nPages }, () => []);
  for (const e of entries) queues[(e.blob as number) >> 6].push(e);
  for (const q of queues) q.sort((a, b) => (a.blob as number) - (b.blob as number));
  const heads = new Int32Array(nPages);
  const placed = new Uint8Array(nPages * EPP);
  const { allo, bits } = freshState();
  const order: DirEntry[] = [];
  while (order.length < entries.length) {
    let found = false;
    for (let p = 0; p < nPages && !found; p++) {
      const e = queues[p][heads[p]];
      if (!e) continue;
      const blob = e.blob as number;
      const older = pages.readUInt16BE(blob * BLOB + 2);
      if (older !== 0 && !placed[older]) continue;
      const nb = nameBlobs(e.name.length);
      if (findBlobs(allo, bits, nb, false) !== blob) continue;
      findBlobs(allo, bits, nb, true);
      placed[blob] = 1;
      heads[p]++;
      order.push(e);
      found = true;
    }
    if (!found) return null;
  }
  return order;
}

/**
 * How many of `names`, created in this order in a fresh directory (pass
 * `.` and `..` first), fit in its 128 pages: encodeDirectory takes the
 * first `n` of them and is full at the next one (first-fit allocation, as
 * Coda's DIR_Create). Names are not checked here.
 */
export function entriesThatFit(names: readonly string[]): number {
  const { allo, bits } = freshState();
  for (let i = 0; i < names.length; i++) if (findBlobs(allo, bits, nameBlobs(names[i].length), true) < 0) return i;
  return names.length;
}
