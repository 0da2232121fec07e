/**
 * Growable columns of numbers and of bytes for the tree walk of `pack`
 * (issue #17): fixed-size blocks, so growing never copies what is kept and
 * never holds a column twice; no object per element.
 */

/** Elements in one block of a NumberColumn. */
const BLOCK_BITS = 15;
const BLOCK = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK - 1;

type Typed = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** The narrowest kind that holds v: 0 Uint8, 1 Uint16, 2 Uint32, 3 Float64. */
function kindOf(v: number): number {
  if (v >>> 0 === v) return v < 0x100 ? 0 : v < 0x10000 ? 1 : 2;
  return 3;
}

const MAKE: ((n: number) => Typed)[] = [
  (n) => new Uint8Array(n),
  (n) => new Uint16Array(n),
  (n) => new Uint32Array(n),
  (n) => new Float64Array(n),
];

/**
 * A column of numbers in blocks of 32,768 elements, each block the
 * narrowest typed array that holds its values (widened, block by block, when
 * a value does not fit): small sizes, modes, owners and times take one to
 * four bytes, not eight. Any number can be stored (other than -0, kept as 0).
 */
export class NumberColumn {
  private readonly blocks: Typed[] = [];
  private readonly kinds: number[] = [];
  length = 0;

  push(v: number): number {
    const i = this.length;
    const b = i >>> BLOCK_BITS;
    if (b === this.blocks.length) {
      const k = kindOf(v);
      this.blocks.push(MAKE[k](BLOCK));
      this.kinds.push(k);
    }
    this.put(b, i & BLOCK_MASK, v);
    this.length = i + 1;
    return i;
  }

  get(i: number): number {
    return this.blocks[i >>> BLOCK_BITS][i & BLOCK_MASK];
  }

  set(i: number, v: number): void {
    this.put(i >>> BLOCK_BITS, i & BLOCK_MASK, v);
  }

  private put(b: number, at: number, v: number): void {
    const k = kindOf(v);
    if (k > this.kinds[b]) {
      const wide = MAKE[k](BLOCK);
      wide.set(this.blocks[b]);
      this.blocks[b] = wide;
      this.kinds[b] = k;
    }
    this.blocks[b][at] = v;
  }

  /** Bytes held. */
  get bytes(): number {
    let n = 0;
    for (const b of this.blocks) n += b.byteLength;
    return n;
  }
}

/** Bytes of one chunk of a ByteStore; a longer piece gets a chunk of its own. */
const CHUNK_BITS = 20;
const CHUNK = 1 << CHUNK_BITS;

/**
 * Short byte strings (names, link targets) one after another in chunks of
 * 1 MiB. A piece never straddles two chunks; it is found again by the
 * position `add` returned (chunk number * 2^20 + place in the chunk, for a
 * piece of at most 1 MiB) and its length.
 */
export class ByteStore {
  private readonly chunks: Buffer[] = [];
  private used = CHUNK;

  /** Store `b`; its position. */
  add(b: Uint8Array): number {
    if (b.length > CHUNK) {
      // A piece longer than a chunk (never a file name): a chunk of its own, then a fresh one.
      this.chunks.push(Buffer.from(b));
      this.used = CHUNK;
      return (this.chunks.length - 1) * CHUNK;
    }
    if (this.used + b.length > CHUNK) {
      this.chunks.push(Buffer.allocUnsafe(CHUNK));
      this.used = 0;
    }
    const at = this.used;
    this.chunks[this.chunks.length - 1].set(b, at);
    this.used += b.length;
    return (this.chunks.length - 1) * CHUNK + at;
  }

  /** Store a binary (latin1) string's bytes; its position. */
  addLatin1(s: string): number {
    if (s.length > CHUNK) return this.add(Buffer.from(s, 'latin1'));
    if (this.used + s.length > CHUNK) {
      this.chunks.push(Buffer.allocUnsafe(CHUNK));
      this.used = 0;
    }
    const at = this.used;
    this.chunks[this.chunks.length - 1].write(s, at, 'latin1');
    this.used += s.length;
    return (this.chunks.length - 1) * CHUNK + at;
  }

  /** The bytes at `pos` (a view, not a copy). */
  view(pos: number, length: number): Buffer {
    const c = Math.floor(pos / CHUNK);
    const at = pos - c * CHUNK;
    return this.chunks[c].subarray(at, at + length);
  }

  /** The bytes at `pos` as a binary (latin1) string. */
  latin1(pos: number, length: number): string {
    const c = Math.floor(pos / CHUNK);
    const at = pos - c * CHUNK;
    return this.chunks[c].toString('latin1', at, at + length);
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.chunks) n += b.length;
    return n;
  }
}
