/**
 * The byte-source seam: what every reader of dump bytes reads from. It sits
 * below format/ (which decodes records from a ByteSource) and io/ (which
 * writes outputs): a file read at explicit 64-bit positions, any stream
 * consumed in order, or a decompressed container (gzip, an Amanda holding
 * file, an external decompressor) that says what it was unwrapped from.
 */
import type { ContainerInfo } from './container.js';

export type { ContainerInfo };

export interface ByteSource {
  /** Name used in messages: the path, or `-` for standard input. */
  readonly name: string;
  /** True when skipping costs nothing (reads are positional). */
  readonly seekable: boolean;
  /** Total size in bytes when known (files). */
  readonly size: number | undefined;
  /**
   * Read up to `len` bytes from absolute `position` into `buf` at `at`.
   * Resolves to the number of bytes read; 0 means end of input. A stream
   * source requires `position` to be exactly where the previous read or
   * discard ended.
   */
  read(buf: Buffer, at: number, len: number, position: number): Promise<number>;
  /** Move past `n` bytes from `position`; resolves to how many existed. */
  discard(n: number, position: number): Promise<number>;
  close(): Promise<void>;
  /**
   * Set when the bytes are decoded from a container (gzip, Amanda, ...): what
   * it was, and what is wrong with it (findings at compressed offsets).
   */
  readonly container?: ContainerInfo;
}
