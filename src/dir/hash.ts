/**
 * Coda's directory name hash (FORMAT.md 3.6, Coda's DIR_Hash).
 *
 * `name` is a binary string (one latin1 char per byte). Each byte is taken as
 * a signed char and folded in with 32-bit two's-complement arithmetic:
 * `h = h*173 + c`. The chain is `t = h & 127`, except that a non-zero `t` of a
 * negative `h` becomes `128 - t`. The result is always in 0..127.
 */
export function dirHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = dirHashStep(h, name.charCodeAt(i) & 0xff);
  return dirHashChain(h);
}

/** dirHash of the name held in `buf[start, end)` (bytes, no string made). */
export function dirHashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = dirHashStep(h, buf[i]);
  return dirHashChain(h);
}

/** dirHash in steps: fold byte `c` (0..255) into `h` (start at 0)... */
export function dirHashStep(h: number, c: number): number {
  return (Math.imul(h, 173) + ((c << 24) >> 24)) | 0;
}

/** ...then the chain of the final `h`. */
export function dirHashChain(h: number): number {
  const t = h & 127;
  return t !== 0 && h < 0 ? 128 - t : t;
}
