/**
 * What extract keeps between the directory records and the file records
 * (issue #17): the directories' entries packed (format/packed.ts), a table
 * from file pairs to flags and the last reference to an entry naming them,
 * and those references: a file's paths are made into strings only when its
 * data arrives.
 */

/** A pair was named by an entry of a placed directory. */
export const NAMED = 1;
/** A vnode record with the pair arrived. */
export const SEEN = 2;

const REF_BITS = 14;
const REF_MASK = (1 << REF_BITS) - 1;

/**
 * References to directory entries (directory index, entry position), in
 * the order they were added; those of one file form a ring (each names the
 * next, the last names the first), so that a file's paths are found from
 * its last reference and one is added in constant time. They are made into
 * path strings only when the file's data arrives. 12 bytes a reference, in
 * chunks (growing copies nothing).
 */
export class EntryRefs {
  length = 0;
  private readonly chunks: Int32Array[] = [];

  /** Add a reference after `last`, the last one of the same file (-1: the file's first). Returns its number. */
  add(dir: number, entry: number, last: number): number {
    const i = this.length++;
    const j = i & REF_MASK;
    if (j === 0) this.chunks.push(new Int32Array(3 << REF_BITS));
    const c = this.chunks[i >> REF_BITS];
    c[3 * j] = dir;
    c[3 * j + 1] = entry;
    if (last < 0) c[3 * j + 2] = i;
    else {
      c[3 * j + 2] = this.next(last); // the first
      this.chunks[last >> REF_BITS][3 * (last & REF_MASK) + 2] = i;
    }
    return i;
  }

  dir(i: number): number {
    return this.chunks[i >> REF_BITS][3 * (i & REF_MASK)];
  }

  entry(i: number): number {
    return this.chunks[i >> REF_BITS][3 * (i & REF_MASK) + 1];
  }

  /** The next reference of the same file (after the last: the first). */
  next(i: number): number {
    return this.chunks[i >> REF_BITS][3 * (i & REF_MASK) + 2];
  }
}
