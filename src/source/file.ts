/**
 * A file read at explicit 64-bit positions: skipping costs nothing.
 */
import { DumpError, ioError, isSystemError } from '../diagnostics/errors.js';
import type { ByteSource } from './byte-source.js';
import { fileSystem, type FileSystem, type ReadHandle } from './fs.js';

export interface FileSourceOptions {
  /** The name used in messages (default: the path), e.g. the original of a decoded temporary copy. */
  name?: string;
  /**
   * Called with every byte of the file exactly once, in order (e.g. to hash
   * the whole input): bytes a read skips over are read first, and `drain()`
   * reads the rest.
   */
  tap?: (chunk: Buffer) => void;
  /** The file-system seam (default node:fs; tests pass one that fails). */
  fs?: Partial<FileSystem>;
}

/** A failed file-system call as a DumpError; what is no system error (a bug) is thrown as it is. */
function bugOrIoError(e: unknown, file: string): unknown {
  if (e instanceof DumpError || isSystemError(e)) return ioError(e, file);
  return e;
}

export class FileSource implements ByteSource {
  readonly seekable = true;
  /** With a tap: bytes before this position went to it. */
  private tapped = 0;
  /** With a tap: the read in progress (reads are made one at a time, in order). */
  private inFlight: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly name: string,
    private readonly fh: ReadHandle,
    readonly size: number,
    private readonly tap: ((chunk: Buffer) => void) | undefined,
    /** A regular file (not a pipe or a device, whose size says nothing). */
    readonly regular: boolean,
  ) {}

  /** The open file's descriptor (for positional reads or kernel copies made elsewhere). */
  /** False when the file-system seam gave a handle without a descriptor (then read() only). */
  get hasFd(): boolean {
    return this.fh.fd !== undefined;
  }

  get fd(): number {
    if (this.fh.fd === undefined) throw new DumpError('IO', 'no file descriptor (a file-system seam without one)', undefined, this.name);
    return this.fh.fd;
  }

  static async open(path: string, opts: FileSourceOptions = {}): Promise<FileSource> {
    let fh: ReadHandle;
    try {
      fh = await fileSystem(opts.fs).open(path);
    } catch (e) {
      throw bugOrIoError(e, path);
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new DumpError('IO', 'is a directory', undefined, path);
      return new FileSource(opts.name ?? path, fh, st.size, opts.tap, st.isFile());
    } catch (e) {
      await fh.close();
      throw bugOrIoError(e, path);
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
      // Name the byte the failed read started at (EIO on a bad sector).
      const d = bugOrIoError(e, this.name);
      if (!(d instanceof DumpError)) throw d;
      throw d.offset === undefined ? new DumpError(d.code, d.message, position, this.name) : d;
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

  /** The file's size now (it may have grown or shrunk since it was opened). */
  async currentSize(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

