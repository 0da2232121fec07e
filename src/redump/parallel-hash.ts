/**
 * SHA-256 computed on a worker thread, so hashing (the costliest CPU step of
 * redump, 0.6 to 1 s per GiB) overlaps with reading, writing and verifying
 * on the main thread.
 *
 * The bytes travel through a ring in a SharedArrayBuffer: update() copies
 * them into free ring space (one memcpy; the caller keeps its Buffer).
 * Adjacent pieces are gathered into one region and posted as `[start,
 * length]` once it reaches `batch` bytes (cross-thread messages are costly,
 * so there are few of them); the worker hashes that view and acks, which
 * frees the region. Regions are freed in posting order. When the ring is
 * full, update() posts what it gathered and returns a promise that settles
 * once there is room (backpressure); otherwise undefined.
 *
 * The worker is plain CommonJS evaluated from a string, so it needs no file
 * of its own (works the same from dist/ and from the TypeScript sources).
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const h = require('node:crypto').createHash(workerData.algorithm);
const ring = new Uint8Array(workerData.ring);
parentPort.on('message', (m) => {
  if (m === null) {
    parentPort.postMessage({ digest: h.digest('hex') });
    return;
  }
  h.update(ring.subarray(m[0], m[0] + m[1]));
  parentPort.postMessage(m[1]);
});
`;

export interface ParallelHashOptions {
  algorithm?: string;
  /** Ring size in bytes: how far hashing may lag behind (default 16 MiB). */
  ringSize?: number;
  /** Bytes gathered before they are posted to the worker (default ringSize / 4). */
  batch?: number;
}

/** A ring region: posted to the worker (awaiting its ack) or still being gathered. */
interface Region {
  start: number;
  length: number;
  posted: boolean;
}

export class ParallelHash {
  private readonly worker: Worker;
  private readonly ring: Buffer;
  private readonly batch: number;
  /** Occupied regions, oldest first; only the last one may be unposted. */
  private readonly regions: Region[] = [];
  private first = 0;
  private head = 0;
  private waiter: (() => void) | null = null;
  private digestResolve: ((hex: string) => void) | null = null;
  private failure: Error | null = null;
  private failReject: ((e: Error) => void) | null = null;
  private done = false;

  constructor(opts: ParallelHashOptions = {}) {
    const size = opts.ringSize ?? 16 << 20;
    this.batch = Math.max(1, Math.min(opts.batch ?? size >> 2, size >> 2));
    const sab = new SharedArrayBuffer(size);
    this.ring = Buffer.from(sab);
    this.worker = new Worker(WORKER_CODE, { eval: true, workerData: { algorithm: opts.algorithm ?? 'sha256', ring: sab } });
    this.worker.on('message', (m: number | { digest: string }) => {
      if (typeof m === 'number') {
        // Acks come in posting order: free the oldest region.
        this.first++;
        if (this.first === this.regions.length) {
          this.regions.length = 0;
          this.first = 0;
        }
        this.wake();
      } else {
        this.digestResolve?.(m.digest);
        this.digestResolve = null;
      }
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (!this.done) this.fail(new Error(`hash worker exited with code ${code}`));
    });
  }

  private wake(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w();
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.wake();
    this.failReject?.(e);
  }

  /** Where `len` bytes fit in the ring now, or -1. */
  private place(len: number): number {
    if (this.first === this.regions.length) return 0;
    const tail = this.regions[this.first].start;
    if (this.head > tail) {
      if (this.head + len <= this.ring.length) return this.head;
      return len <= tail ? 0 : -1; // wrap
    }
    return this.head + len <= tail ? this.head : -1;
  }

  /** Post the region being gathered, if any. */
  private flush(): void {
    const last = this.regions[this.regions.length - 1];
    if (last && !last.posted && this.regions.length > this.first) {
      last.posted = true;
      this.worker.postMessage([last.start, last.length]);
    }
  }

  private put(b: Buffer, at: number): void {
    b.copy(this.ring, at);
    const last = this.regions.length > this.first ? this.regions[this.regions.length - 1] : undefined;
    if (last && !last.posted && last.start + last.length === at) {
      last.length += b.length;
    } else {
      this.flush();
      this.regions.push({ start: at, length: b.length, posted: false });
    }
    this.head = at + b.length;
    if (this.regions[this.regions.length - 1].length >= this.batch) this.flush();
  }

  /** Hash `b` (copied now). Returns a promise when the ring is full; undefined otherwise. */
  update(b: Buffer): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    const max = this.ring.length >> 2;
    for (let off = 0; off < b.length; off += max) {
      const piece = b.subarray(off, Math.min(b.length, off + max));
      const at = this.place(piece.length);
      if (at < 0) return this.updateLater(b.subarray(off));
      this.put(piece, at);
    }
    return undefined;
  }

  private async updateLater(b: Buffer): Promise<void> {
    const max = this.ring.length >> 2;
    for (let off = 0; off < b.length; off += max) {
      const piece = b.subarray(off, Math.min(b.length, off + max));
      let at: number;
      while ((at = this.place(piece.length)) < 0) {
        if (this.failure) throw this.failure;
        this.flush(); // let the worker free what we wait for
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
      }
      if (this.failure) throw this.failure;
      this.put(piece, at);
    }
  }

  /** The hex digest of everything updated; ends the worker. */
  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    this.flush();
    const hex = await new Promise<string>((resolve, reject) => {
      this.digestResolve = resolve;
      this.failReject = reject;
      this.worker.postMessage(null);
    });
    this.done = true;
    await this.worker.terminate();
    return hex;
  }

  /** Stop the worker without a digest (failure paths). Idempotent. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.worker.terminate();
  }
}

/** The same interface on the calling thread (small inputs, or where workers are unwanted). */
export class InlineHash {
  private readonly h: Hash;
  constructor(algorithm = 'sha256') {
    this.h = createHash(algorithm);
  }
  update(b: Buffer): undefined {
    this.h.update(b);
    return undefined;
  }
  async digest(): Promise<string> {
    return this.h.digest('hex');
  }
  async close(): Promise<void> {}
}
