/**
 * Any non-seekable stream (stdin, a pipe, a child process, a decompressor)
 * consumed in order.
 */
import { DumpError, ioError } from '../diagnostics/errors.js';
import type { ByteSource, ContainerInfo } from './byte-source.js';

export interface StreamSourceOptions {
  /** Called with every chunk as it arrives, in order (e.g. to hash the whole input). */
  tap?: (chunk: Buffer) => void;
  /** Known size, if any (e.g. a file read as a stream). */
  size?: number;
  /** What the bytes were decoded from, when they come out of a container. */
  container?: ContainerInfo;
}

/** A non-seekable source over any async iterable of bytes (a Readable is one). */
export class StreamSource implements ByteSource {
  readonly seekable = false;
  readonly size: number | undefined;
  readonly container: ContainerInfo | undefined;
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
    this.container = opts.container;
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
