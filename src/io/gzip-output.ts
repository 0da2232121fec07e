/**
 * gzip output through the same atomic path (temporary file, fsync, rename,
 * no overwrite without --force). The stream is written as gzip members of
 * 1 MiB of dump each (RFC 1952 allows any number; gzip -dc and codadump
 * read them as one stream): each member is compressed as it fills, so
 * memory stays at one member and writes stay synchronous like AtomicOutput's.
 */
import { gzipSync } from 'node:zlib';
import { AtomicOutput, type AtomicOutputOptions } from './atomic-output.js';

export const GZIP_MEMBER = 1 << 20;

/** An output name that asks for gzip. */
export function wantsGzip(path: string, gzip?: boolean): boolean {
  return gzip === true || /\.gz$/i.test(path);
}

/** What writers of whole dumps need from an output: plain or gzip. */
export interface DumpOutput {
  write(data: Buffer | Uint8Array): void;
  /** Dump bytes written (uncompressed). */
  readonly bytesWritten: number;
  commit(): void;
  abort(): void;
}

export class GzipOutput implements DumpOutput {
  private readonly out: AtomicOutput;
  private readonly buf = Buffer.allocUnsafe(GZIP_MEMBER);
  private fill = 0;
  private total = 0;

  constructor(finalPath: string, opts: AtomicOutputOptions = {}, private readonly level = 6) {
    // No direct I/O: its writes would need drain() before commit(), and a compressed output is small.
    this.out = new AtomicOutput(finalPath, { ...opts, sparse: false, direct: false });
  }

  get bytesWritten(): number {
    return this.total;
  }

  /** Compressed bytes stored so far. */
  get compressedBytes(): number {
    return this.out.bytesWritten;
  }

  write(data: Buffer | Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      const n = Math.min(data.length - at, GZIP_MEMBER - this.fill);
      this.buf.set(data.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      this.total += n;
      if (this.fill === GZIP_MEMBER) this.flushMember();
    }
  }

  private flushMember(): void {
    if (this.fill === 0) return;
    this.out.write(gzipSync(this.buf.subarray(0, this.fill), { level: this.level }));
    this.fill = 0;
  }

  commit(): void {
    this.flushMember();
    if (this.total === 0) this.out.write(gzipSync(Buffer.alloc(0)));
    this.out.commit();
  }

  abort(): void {
    this.out.abort();
  }
}

/** A plain AtomicOutput, or a GzipOutput when asked (`gzip`, or a name ending in .gz). */
export function openDumpOutput(path: string, opts: AtomicOutputOptions & { gzip?: boolean } = {}): DumpOutput {
  const { gzip, ...rest } = opts;
  return wantsGzip(path, gzip) ? new GzipOutput(path, rest) : new AtomicOutput(path, rest);
}
