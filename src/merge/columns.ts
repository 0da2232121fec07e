/**
 * The full dump's vnodes as merge keeps them (issue #17): one entry per
 * vnode in typed-array columns (slot, uniquifier, input, record offset,
 * record size, file data length, canonical), 27 bytes an entry, instead of
 * an object of about 80. The columns grow in chunks of CHUNK entries: no
 * copy when they grow, never more than one chunk unused, and nothing sized
 * by a count the input declares.
 */

/** Entries per chunk (a power of two). */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

/** The most inputs an entry can name (src is 16 bits). */
export const MAX_INPUTS = 0xffff;
/** The longest record an entry can hold (size is 32 bits). */
export const MAX_RECORD = 0xffffffff;

class Chunk {
  readonly slot = new Uint32Array(CHUNK);
  readonly unique = new Uint32Array(CHUNK);
  readonly src = new Uint16Array(CHUNK);
  readonly canonical = new Uint8Array(CHUNK);
  readonly offset = new Float64Array(CHUNK);
  readonly size = new Uint32Array(CHUNK);
  readonly data = new Uint32Array(CHUNK);
}

/** One vnode of the merged table (merge.ts's Entry): which input holds its record, and where. */
export interface EntryFields {
  /** Its slot in its index (the vnode number follows from slot and class). */
  slot: number;
  unique: number;
  /** 0 = the full dump, k = the k-th incremental. */
  src: number;
  /** Offset of the VNODE record in that input. */
  offset: number;
  /** Its encoded size through the DIRPAGES pages or the FILEDATA count (one exact read when writing). */
  size: number;
  /** File data bytes after the record (0 for a directory). */
  data: number;
  /** Its bytes are what codamergedump writes for it (scan.ts): copied as they are, with its file data. */
  canonical: boolean;
}

/**
 * One incremental's record applied to a slot's entries, head first (Coda's
 * table is a stack): an RMVNODE (`rec` null) takes out the entry of
 * `unique`; a vnode already there gets the record's place (it keeps its
 * own), a new one goes on top. The one rule for planMerge and the streaming
 * merge (stream.ts), which must agree entry for entry.
 */
export function applyToSlot(list: EntryFields[], unique: number, rec: EntryFields | null): 'removed' | 'missing' | 'changed' | 'added' {
  const i = list.findIndex((e) => e.unique === unique);
  if (rec === null) {
    if (i < 0) return 'missing';
    list.splice(i, 1);
    return 'removed';
  }
  if (i >= 0) {
    const e = list[i];
    e.src = rec.src;
    e.offset = rec.offset;
    e.size = rec.size;
    e.data = rec.data;
    e.canonical = rec.canonical;
    return 'changed';
  }
  list.unshift(rec);
  return 'added';
}

export class EntryColumns {
  private chunks: Chunk[] = [];
  length = 0;

  push(slot: number, unique: number, src: number, offset: number, size: number, data: number, canonical: boolean): void {
    const i = this.length;
    if ((i & MASK) === 0) this.chunks.push(new Chunk());
    const c = this.chunks[i >>> CHUNK_BITS];
    const k = i & MASK;
    c.slot[k] = slot;
    c.unique[k] = unique;
    c.src[k] = src;
    c.canonical[k] = canonical ? 1 : 0;
    c.offset[k] = offset;
    c.size[k] = size;
    c.data[k] = data;
    this.length = i + 1;
  }

  slot(i: number): number {
    return this.chunks[i >>> CHUNK_BITS].slot[i & MASK];
  }

  unique(i: number): number {
    return this.chunks[i >>> CHUNK_BITS].unique[i & MASK];
  }

  /** Entry `i` into `e` (returned). */
  read<T extends EntryFields>(i: number, e: T): T {
    const c = this.chunks[i >>> CHUNK_BITS];
    const k = i & MASK;
    e.slot = c.slot[k];
    e.unique = c.unique[k];
    e.src = c.src[k];
    e.canonical = c.canonical[k] === 1;
    e.offset = c.offset[k];
    e.size = c.size[k];
    e.data = c.data[k];
    return e;
  }

  /** Point entry `i` at another record (its slot and uniquifier stay). */
  update(i: number, src: number, offset: number, size: number, data: number, canonical: boolean): void {
    const c = this.chunks[i >>> CHUNK_BITS];
    const k = i & MASK;
    c.src[k] = src;
    c.canonical[k] = canonical ? 1 : 0;
    c.offset[k] = offset;
    c.size[k] = size;
    c.data[k] = data;
  }

  /** Exchange entries `i` and `j`. */
  swap(i: number, j: number): void {
    const a = this.chunks[i >>> CHUNK_BITS];
    const b = this.chunks[j >>> CHUNK_BITS];
    const x = i & MASK;
    const y = j & MASK;
    let t: number;
    t = a.slot[x]; a.slot[x] = b.slot[y]; b.slot[y] = t;
    t = a.unique[x]; a.unique[x] = b.unique[y]; b.unique[y] = t;
    t = a.src[x]; a.src[x] = b.src[y]; b.src[y] = t;
    t = a.canonical[x]; a.canonical[x] = b.canonical[y]; b.canonical[y] = t;
    t = a.offset[x]; a.offset[x] = b.offset[y]; b.offset[y] = t;
    t = a.size[x]; a.size[x] = b.size[y]; b.size[y] = t;
    t = a.data[x]; a.data[x] = b.data[y]; b.data[y] = t;
  }

  /** The entries sorted by slot, stably (a slot's entries keep their order): new columns. */
  sortedBySlot(): EntryColumns {
    const n = this.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => this.slot(a) - this.slot(b) || a - b);
    const out = new EntryColumns();
    const e: EntryFields = { slot: 0, unique: 0, src: 0, offset: 0, size: 0, data: 0, canonical: false };
    for (let i = 0; i < n; i++) {
      this.read(order[i], e);
      out.push(e.slot, e.unique, e.src, e.offset, e.size, e.data, e.canonical);
    }
    return out;
  }
}
