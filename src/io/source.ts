/**
 * Byte sources for the dump reader: a file read at explicit 64-bit
 * positions (can skip without reading), or any non-seekable stream
 * (stdin, a pipe, a child process) consumed in order.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DumpError, ioError } from '../format/errors.js';

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
}

export interface FileSourceOptions {
  /**
   * Called with every byte of the file exactly once, in order (e.g. to hash
   * the whole input): bytes a read skips over are read first, and `drain()`
   * reads the rest.
   */
  tap?: (chunk: Buffer) => void;
}

export class FileSource implements ByteSource {
  readonly seekable = true;
  /** With a tap: bytes before this position went to it. */
  private tapped = 0;
  /** With a tap: the read in progress (reads are made one at a time, in order). */
  private inFlight: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly name: string,
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly tap: ((chunk: Buffer) => void) | undefined,
    /** A regular file (not a pipe or a device, whose size says nothing). */
    readonly regular: boolean,
  ) {}

  /** The open file's descriptor (for positional reads or kernel copies made elsewhere). */
  get fd(): number {
    return this.fh.fd;
  }

  static async open(path: string, opts: FileSourceOptions = {}): Promise<FileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw ioError(e, path);
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new DumpError('IO', 'is a directory', undefined, path);
      return new FileSource(path, fh, st.size, opts.tap, st.isFile());
    } catch (e) {
      await fh.close();
      throw ioError(e, path);
    }
  }

  async read(buf: Buffer, at: number, len: number, position: number): Promise<number> {
    if (!this.tap) return this.readAt(buf, at, len, position);
    const done = this.inFlight.then(() => this.readTapped(buf, at, len, position));
    this.inFlight = done.catch(() => undefined);
    return done;
  }

  private async readAt(buf: Buffer, at: number, len: number, position: number): Promise<number> {
    if (position >= this.size || len <= 0) return 0;
    try {
      const { bytesRead } = await this.fh.read(buf, at, len, position);
      return bytesRead;
    } catch (e) {
      throw ioError(e, this.name);
    }
  }

  private async readTapped(buf: Buffer, at: number, len: number, position: number): Promise<number> {
    if (position > this.tapped) await this.tapUpTo(position);
    const n = await this.readAt(buf, at, len, position);
    if (position + n > this.tapped && position <= this.tapped) {
      this.tap!(buf.subarray(at + (this.tapped - position), at + n));
      this.tapped = position + n;
    }
    return n;
  }

  /** Read and tap the bytes from the tapped position to `end`. */
  private async tapUpTo(end: number): Promise<void> {
    if (end <= this.tapped) return;
    const buf = Buffer.allocUnsafe(Math.min(1 << 20, end - this.tapped));
    while (this.tapped < end) {
      const n = await this.readAt(buf, 0, Math.min(buf.length, end - this.tapped), this.tapped);
      if (n === 0) break;
      this.tap!(buf.subarray(0, n));
      this.tapped += n;
    }
  }

  /** With a tap: read what is left of the file, so the tap has seen every byte. */
  async drain(): Promise<void> {
    if (!this.tap) return;
    const done = this.inFlight.then(() => this.tapUpTo(this.size));
    this.inFlight = done.catch(() => undefined);
    await done;
  }

  async discard(n: number, position: number): Promise<number> {
    return Math.max(0, Math.min(n, this.size - position));
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export interface StreamSourceOptions {
  /** Called with every chunk as it arrives, in order (e.g. to hash the whole input). */
  tap?: (chunk: Buffer) => void;
  /** Known size, if any (e.g. a file read as a stream). */
  size?: number;
}

/** A non-seekable source over any async iterable of bytes (a Readable is one). */
export class StreamSource implements ByteSource {
  readonly seekable = false;
  readonly size: number | undefined;
  private readonly it: AsyncIterator<Buffer | Uint8Array | string> | Iterator<Buffer | Uint8Array | string>;
  private pending: Buffer | null = null;
  private pendingPos = 0;
  private consumed = 0;
  private done = false;
  private readonly tap: ((chunk: Buffer) => void) | undefined;

  constructor(
    readonly name: string,
    input: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
    opts: StreamSourceOptions = {},
  ) {
    this.it = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
    this.tap = opts.tap;
    this.size = opts.size;
  }

  private async pull(): Promise<boolean> {
    while (!this.done) {
      let r: IteratorResult<Buffer | Uint8Array | string>;
      try {
        r = await this.it.next();
      } catch (e) {
        throw ioError(e, this.name);
      }
      if (r.done) {
        this.done = true;
        return false;
      }
      const v = r.value;
      const b = typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (b.length === 0) continue;
      this.tap?.(b);
      this.pending = b;
      this.pendingPos = 0;
      return true;
    }
    return false;
  }

  private checkPosition(position: number): void {
    if (position !== this.consumed) {
      throw new DumpError('IO', `internal: stream read at ${position} but stream is at ${this.consumed}`, position, this.name);
    }
  }

  async read(buf: Buffer, at: number, len: number, position: number): Promise<number> {
    this.checkPosition(position);
    let got = 0;
    while (got < len) {
      if (!this.pending || this.pendingPos >= this.pending.length) {
        // Fill all that was asked for; stop early only at the end of the input.
        if (!(await this.pull())) break;
      }
      const p = this.pending!;
      const n = Math.min(len - got, p.length - this.pendingPos);
      p.copy(buf, at + got, this.pendingPos, this.pendingPos + n);
      this.pendingPos += n;
      got += n;
    }
    this.consumed += got;
    return got;
  }

  async discard(n: number, position: number): Promise<number> {
    this.checkPosition(position);
    let left = n;
    while (left > 0) {
      if (!this.pending || this.pendingPos >= this.pending.length) {
        if (!(await this.pull())) break;
      }
      const avail = this.pending!.length - this.pendingPos;
      const k = Math.min(left, avail);
      this.pendingPos += k;
      left -= k;
    }
    this.consumed += n - left;
    return n - left;
  }

  /** Read and drop everything left (the tap still sees it). */
  async drain(): Promise<void> {
    this.pending = null;
    while (await this.pull()) this.pending = null;
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}
