/**
 * The append writer's fast transport: a ring of chunk-sized slots in a
 * SharedArrayBuffer, filled in stream order on the calling thread and
 * consumed, without further copies, by two worker threads:
 *
 *   - the *write* worker appends each slot to the output's temporary file
 *     at its own running 64-bit position (never a received offset: those
 *     were checked by the AppendWriter in front of the ring); or, with
 *     `gzip`, feeds each slot in order to one zlib gzip stream and appends
 *     what comes out (the slots are already in stream order: nothing to
 *     reorder, nothing to seek);
 *   - the *hash* worker feeds each slot to SHA-256.
 *
 * and, on the calling thread, by the caller's `onSlot` hook (redump's
 * streaming verifier), which must be done with a slot when its promise
 * settles. A slot is filled again only once both workers are past it, so
 * reading, writing, hashing and verifying overlap while memory stays fixed
 * (`slots * slotSize`, 16 MiB by default).
 *
 * Bytes arrive either as Buffers that are copied into the ring (write()),
 * or are read straight into a slot (nextSlot(), then write() of that very
 * view: published in place, no copy; readSlots() does this for raw input).
 * Reading standard input with blocking reads into slots is what makes
 * `redump -` run at pipe speed.
 *
 * Direct I/O: unless `direct: false`, the temporary file is also opened with
 * O_DIRECT and every slot-aligned run of 4096-byte blocks is written through
 * it, bypassing the page cache (a dump being archived is not read back soon,
 * and on a busy machine copying it into the page cache costs more CPU than
 * anything else redump does). Where O_DIRECT is refused (tmpfs, some network
 * file systems) or the ring's memory cannot be aligned for it, every write
 * is buffered. Either way the bytes and the file are the same.
 *
 * Memory: where koffi is available (io/native.ts) the ring is advised to use
 * transparent huge pages and the slots start on a 2 MiB boundary, which is
 * also aligned for direct I/O.
 *
 * Waiting: the calling thread waits for free slots with Atomics.wait (it has
 * nothing else to do then: its own consumer has caught up), but returns to
 * the event loop at least every YIELD_MS so signals, timers and worker
 * messages are handled.
 */
import { constants as fsc, closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { TWO_32 } from '../format/constants.js';
import { ioError } from '../format/errors.js';
import { DIRECT_BLOCK, type AtomicOutput } from './atomic-output.js';
import { SPARSE_BLOCK, sparseRuns } from './sparse.js';
import { SERVER_CHUNK_SIZE } from './chunker.js';
import { HUGE_PAGE, adviseHugePages } from './native.js';

/**
 * Control words (Int32Array indices). Slot counts are 32-bit: 2^31 slots of
 * 512,000 bytes is about a petabyte, far past any dump; byte
 * positions are never kept here (each side keeps its own as a JS number).
 */
const PUB = 0; // slots published by the producer
const END = 1; // 1 once the producer has published its last slot
const HASHED = 2; // slots the hash worker is done with
const WRITTEN = 3; // slots the write worker is done with
const FAILED = 4; // 1 once a worker failed
const STOP = 5; // 1: workers quit at once (abort)
const PSEQ = 6; // bumped on every publish and on END: what workers wait on
const CSEQ = 7; // bumped whenever a worker moves on or fails: what the producer waits on
const CONTROL_WORDS = 8;

/** Direct I/O block size (AtomicOutput's): positions, lengths and memory addresses are aligned to it. */
export { DIRECT_BLOCK };

/** Longest the calling thread goes without returning to the event loop. */
const YIELD_MS = 50;

/**
 * Both workers, as CommonJS evaluated from a string (no file of their own:
 * the same code runs from dist/ and under the test runner's TypeScript).
 */
const WORKER_CODE = `
'use strict';
const { parentPort, workerData: d } = require('node:worker_threads');
const fs = require('node:fs');
const ctl = new Int32Array(d.control);
const lens = new Int32Array(d.lens);
const ring = Buffer.from(d.ring);
const [PUB, END, HASHED, WRITTEN, FAILED, STOP, PSEQ, CSEQ] = [0, 1, 2, 3, 4, 5, 6, 7];

function moved() {
  Atomics.add(ctl, CSEQ, 1);
  Atomics.notify(ctl, CSEQ);
}

/** Calls fn(start, length) for each published slot, in order; true when the producer ended, false on STOP. */
function consume(counter, fn) {
  let n = 0;
  for (;;) {
    if (Atomics.load(ctl, STOP) !== 0) return false;
    const seq = Atomics.load(ctl, PSEQ);
    if (n < Atomics.load(ctl, PUB)) {
      const s = n % d.slots;
      fn(s, d.base + s * d.slotSize, lens[s]);
      n++;
      Atomics.store(ctl, counter, n);
      moved();
      continue;
    }
    if (Atomics.load(ctl, END) !== 0) return true;
    Atomics.wait(ctl, PSEQ, seq, 200);
  }
}

/** consume() for a consumer that awaits its work (the gzip writer): waits with Atomics.waitAsync, so zlib's callbacks run. */
async function consumeAsync(counter, fn) {
  let n = 0;
  for (;;) {
    if (Atomics.load(ctl, STOP) !== 0) return false;
    const seq = Atomics.load(ctl, PSEQ);
    if (n < Atomics.load(ctl, PUB)) {
      const s = n % d.slots;
      await fn(s, d.base + s * d.slotSize, lens[s]);
      n++;
      Atomics.store(ctl, counter, n);
      moved();
      continue;
    }
    if (Atomics.load(ctl, END) !== 0) return true;
    const w = Atomics.waitAsync(ctl, PSEQ, seq, 200);
    if (w.async) await w.value;
  }
}

function fail(e) {
  if (Atomics.compareExchange(ctl, FAILED, 0, 1) === 0) {
    parentPort.postMessage({ error: { code: e && e.code, message: String((e && e.message) || e) } });
  }
  moved();
}

function enospc() {
  const e = new Error('ENOSPC: no space left on device, write');
  e.code = 'ENOSPC';
  return e;
}

if (d.role === 'hash') {
  try {
    const h = require('node:crypto').createHash('sha256');
    if (consume(HASHED, (s, start, len) => h.update(ring.subarray(start, start + len)))) {
      parentPort.postMessage({ digest: h.digest('hex') });
    }
  } catch (e) {
    fail(e);
  }
} else {
  let pos = 0; // true 64-bit position of the next byte: the file offset it goes to
  let stored = 0; // bytes actually written (holes excluded)
  const zero = Buffer.alloc(${SPARSE_BLOCK});
  const dfd = d.directFd;
  // Write buf[start, end) at file position at; runs of whole ring blocks at aligned positions go direct.
  function run(start, end, at, buf = ring) {
    while (start < end) {
      let len = end - start;
      let fd = d.fd;
      if (dfd >= 0 && buf === ring && at % ${DIRECT_BLOCK} === 0 && (start - d.base) % ${DIRECT_BLOCK} === 0 && len >= ${DIRECT_BLOCK}) {
        fd = dfd;
        len -= len % ${DIRECT_BLOCK};
      }
      let limited = false;
      if (d.failAfter >= 0 && stored + len > d.failAfter) {
        len = d.failAfter - stored;
        limited = true;
        if (len <= 0) throw enospc();
        fd = d.fd;
      }
      const n = fs.writeSync(fd, buf, start, len, at);
      if (n <= 0) throw enospc();
      start += n;
      at += n;
      stored += n;
      if (limited && n === len && start < end) throw enospc();
    }
  }
  // io/sparse.ts, the one zero-skip, as source text.
  ${sparseRuns.toString()}
  if (d.gzip) {
    // One gzip stream (RFC 1952, one member): each slot, in stream order, is
    // fed to zlib, and what it gives back is appended at the file's own
    // running position. A slot is released once zlib has consumed it.
    const zlib = require('node:zlib');
    const gz = zlib.createGzip({ level: d.gzip.level, chunkSize: 256 << 10 });
    let zpos = 0; // compressed bytes appended: the file offset the next goes to
    let failure = null;
    gz.on('data', (b) => {
      if (failure) return;
      try {
        run(0, b.length, zpos, b);
        zpos += b.length;
      } catch (e) {
        failure = e;
      }
    });
    gz.on('error', (e) => (failure = failure || e));
    const ended = new Promise((res) => {
      gz.once('end', res);
      gz.once('close', res);
    });
    const feed = (view) => new Promise((res, rej) => gz.write(view, (e) => (e || failure ? rej(e || failure) : res())));
    // A pending Atomics.waitAsync does not keep a worker alive: this timer does, until the end.
    const alive = setInterval(() => {}, 1 << 30);
    consumeAsync(WRITTEN, async (s, start, len) => {
      await feed(ring.subarray(start, start + len));
      pos += len;
    }).then(async (ok) => {
      if (!ok) return;
      gz.end();
      await ended;
      if (failure) throw failure;
      parentPort.postMessage({ written: pos, stored: zpos });
    }).catch((e) => {
      gz.destroy();
      fail(e);
    }).finally(() => clearInterval(alive));
  } else {
    try {
      if (consume(WRITTEN, (s, start, len) => {
        if (!d.sparse) run(start, start + len, pos);
        else sparseRuns(ring, start, start + len, zero, (s, e) => run(s, e, pos + (s - start)), () => {});
        pos += len;
      })) {
        parentPort.postMessage({ written: pos });
      }
    } catch (e) {
      fail(e);
    }
  }
}
`;

export interface RingWriterOptions {
  /** Slots in the ring (default 32). */
  slots?: number;
  /** Bytes per slot (default 512,000, the server's chunk size; a multiple of 4096 for direct I/O). */
  slotSize?: number;
  /** Write whole aligned blocks with O_DIRECT where the file system allows it (default true). */
  direct?: boolean;
  /** All-zero 64 KiB blocks become holes (the output must then be committed with its size set). */
  sparse?: boolean;
  /**
   * Write one gzip stream instead of the bytes as they are: the write worker
   * feeds each slot, in order, to zlib and appends its output (no direct
   * I/O, no holes). Positions, the digest and onSlot stay those of the
   * uncompressed stream; the result's `storedBytes` is the file's size.
   */
  gzip?: { level?: number };
  /** Test hook: ENOSPC once more than this many bytes would have been stored. */
  failAfterBytes?: number;
  /** Hash on a worker thread (default true); false hashes each slot on the calling thread. */
  hashInWorker?: boolean;
  /**
   * Ask for transparent huge pages for the ring (default true; Linux with
   * koffi only, see io/native.ts). The slots then start on a 2 MiB boundary.
   */
  hugePages?: boolean;
  /**
   * Each slot as it is published, with its stream position. The view is
   * valid only until the returned promise settles (or the call returns).
   */
  onSlot?: (view: Buffer, position: number) => Promise<void> | void;
}

export interface RingWriterResult {
  /** Bytes appended (the output's size). */
  bytes: number;
  /** SHA-256 of those bytes, hex. */
  sha256: string;
  /** True when O_DIRECT was in use. */
  direct: boolean;
  /** Bytes stored in the file: `bytes`, or the compressed size with `gzip`. */
  storedBytes: number;
}

interface WorkerDone {
  digest?: string;
  written?: number;
  /** gzip: compressed bytes stored. */
  stored?: number;
}

/** A worker's message, or how it failed. */
type WorkerEnd = { ok: WorkerDone } | { error: Error };

/**
 * Append-only writer of one output through the ring. Use: write() (or
 * nextSlot() + write() of the slot) for every byte in order, then finish();
 * on any failure close() (the caller then aborts its AtomicOutput).
 */
export class RingWriter {
  readonly slots: number;
  readonly slotSize: number;
  private readonly output: AtomicOutput;
  private readonly sab: SharedArrayBuffer;
  private readonly ring: Buffer;
  /** Byte index in `ring` of slot 0 (aligned for direct I/O when in use). */
  private readonly base: number;
  /** True when the ring was advised to use transparent huge pages (its slots start at a 2 MiB boundary). */
  readonly hugePages: boolean;
  /** True when the output is one gzip stream of the bytes written. */
  readonly gzip: boolean;
  private readonly ctl: Int32Array;
  private readonly lens: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ends: Promise<WorkerEnd>[] = [];
  private readonly inlineHash: Hash | undefined;
  private readonly onSlot: RingWriterOptions['onSlot'];
  private directFd = -1;
  /** Slots published. */
  private published = 0;
  /** Bytes in the slot being filled (slot number `published`). */
  private fill = 0;
  /** Stream position of the slot being filled. */
  private slotPos = 0;
  private lastYield = 0;
  private closed = false;
  private failure: Error | undefined;

  constructor(output: AtomicOutput, opts: RingWriterOptions = {}) {
    if (output.bytesWritten !== 0) throw new Error('RingWriter: the output must be empty');
    this.output = output;
    this.slots = opts.slots ?? 32;
    this.slotSize = opts.slotSize ?? SERVER_CHUNK_SIZE;
    if (!Number.isInteger(this.slots) || this.slots < 2) throw new RangeError(`invalid slot count ${this.slots}`);
    if (!Number.isInteger(this.slotSize) || this.slotSize < 1 || this.slotSize * this.slots > 1 << 30) {
      throw new RangeError(`invalid slot size ${this.slotSize}`);
    }
    this.onSlot = opts.onSlot;
    // Room to start the slots at a 2 MiB boundary (huge pages) or, failing that, a 4096-byte one (direct I/O).
    const huge = opts.hugePages ?? true;
    this.sab = new SharedArrayBuffer(this.slots * this.slotSize + (huge ? HUGE_PAGE : DIRECT_BLOCK));
    this.ring = Buffer.from(this.sab);
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
    this.lens = new Int32Array(new SharedArrayBuffer(4 * this.slots));
    const hugeBase = huge ? adviseHugePages(this.ring) : undefined;
    this.hugePages = hugeBase !== undefined;
    this.base = hugeBase ?? 0;
    this.gzip = opts.gzip !== undefined;
    if ((opts.direct ?? true) && !this.gzip && this.slotSize % DIRECT_BLOCK === 0) this.base = this.openDirect(hugeBase);
    const common = {
      control: this.ctl.buffer,
      lens: this.lens.buffer,
      ring: this.sab,
      slots: this.slots,
      slotSize: this.slotSize,
      base: this.base,
    };
    const gzip = opts.gzip ? { level: opts.gzip.level ?? 6 } : null;
    this.start({ ...common, role: 'write', fd: output.descriptor, directFd: this.directFd, sparse: !gzip && (opts.sparse ?? false), failAfter: opts.failAfterBytes ?? -1, gzip });
    if (opts.hashInWorker ?? true) this.start({ ...common, role: 'hash' });
    else this.inlineHash = createHash('sha256');
    this.lastYield = performance.now();
  }

  /**
   * Open the temporary file a second time with O_DIRECT and find where in
   * the ring a direct write is accepted (memory alignment cannot be asked
   * for in JavaScript, so it is probed: a 4096-byte write at file offset 0
   * from the still all-zero ring, which the dump's first bytes overwrite,
   * or which stays as the zeros a sparse output has there, and which
   * commit's truncation trims from an output shorter than that).
   * A base already known to be 2 MiB-aligned (`first`) is tried first.
   * Returns the slot base; leaves directFd at -1 when direct I/O is out.
   */
  private openDirect(first?: number): number {
    const fallback = first ?? 0;
    const O_DIRECT = fsc.O_DIRECT;
    if (O_DIRECT === undefined) return fallback;
    let fd: number;
    try {
      fd = openSync(this.output.tempPath, fsc.O_WRONLY | O_DIRECT);
    } catch {
      return fallback;
    }
    const candidates = first === undefined ? [] : [first];
    for (let at = 0; at < DIRECT_BLOCK; at += 16) candidates.push(at);
    for (const at of candidates) {
      try {
        writeSync(fd, this.ring, at, DIRECT_BLOCK, 0);
        this.directFd = fd;
        return at;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') break;
      }
    }
    closeSync(fd);
    return fallback;
  }

  /** True when whole blocks go to the file with O_DIRECT. */
  get direct(): boolean {
    return this.directFd >= 0;
  }

  /** Stream position of the next byte to be written. */
  get position(): number {
    return this.slotPos + this.fill;
  }

  private start(workerData: Record<string, unknown>): void {
    const w = new Worker(WORKER_CODE, { eval: true, workerData });
    const role = workerData.role as string;
    let answered = false;
    this.ends.push(
      new Promise<WorkerEnd>((resolve) => {
        w.on('message', (m: WorkerDone & { error?: { code?: string; message: string } }) => {
          answered = true;
          if (m.error) {
            const e = new Error(m.error.message) as NodeJS.ErrnoException;
            if (m.error.code) e.code = m.error.code;
            this.noteFailure(e);
            resolve({ error: e });
          } else resolve({ ok: m });
        });
        w.on('error', (e) => {
          const err = new Error(`${role} worker failed: ${e.message}`);
          this.noteFailure(err);
          resolve({ error: err });
        });
        w.on('exit', (code) => {
          // After its answer a worker ends by itself; before it, only close() ends it.
          if (answered) return;
          const err = new Error(`${role} worker exited with code ${code}`);
          if (!this.closed) this.noteFailure(err);
          resolve({ error: err });
        });
      }),
    );
    this.workers.push(w);
  }

  private noteFailure(e: Error): void {
    this.failure ??= e;
    Atomics.store(this.ctl, FAILED, 1);
    Atomics.add(this.ctl, CSEQ, 1);
  }

  /** The first worker failure, as the error to throw (waits for its message). */
  private async workerError(): Promise<Error> {
    if (!this.failure) await Promise.race(this.ends);
    return this.failure ?? new Error('a worker failed');
  }

  private async maybeYield(): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < YIELD_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
  }

  /** Wait until slot number `n` may be (re)filled: both workers are past slot n - slots. */
  private async free(n: number): Promise<void> {
    const need = n - this.slots + 1;
    for (;;) {
      if (this.closed) throw new Error('ring writer closed');
      const seq = Atomics.load(this.ctl, CSEQ);
      if (Atomics.load(this.ctl, FAILED) !== 0) throw await this.workerError();
      const hashed = this.inlineHash ? Infinity : Atomics.load(this.ctl, HASHED);
      if (need <= 0 || Math.min(hashed, Atomics.load(this.ctl, WRITTEN)) >= need) return;
      Atomics.wait(this.ctl, CSEQ, seq, YIELD_MS);
      await this.maybeYield();
    }
  }

  private slotStart(n: number): number {
    return this.base + (n % this.slots) * this.slotSize;
  }

  /**
   * The next slot, empty and free, for reading bytes straight into it; pass
   * the filled part (a prefix of this view) to write() to publish it in
   * place. Only while nothing has been copied into the current slot.
   */
  async nextSlot(): Promise<Buffer> {
    if (this.fill !== 0) throw new Error('RingWriter.nextSlot: the current slot is partly filled');
    await this.free(this.published);
    const at = this.slotStart(this.published);
    return this.ring.subarray(at, at + this.slotSize);
  }

  /** Hand slot `published` (fill bytes) to the consumers. */
  private async publish(): Promise<void> {
    const n = this.published;
    const s = n % this.slots;
    const at = this.slotStart(n);
    const view = this.ring.subarray(at, at + this.fill);
    this.lens[s] = this.fill;
    this.inlineHash?.update(view);
    this.published = n + 1;
    Atomics.store(this.ctl, PUB, this.published);
    Atomics.add(this.ctl, PSEQ, 1);
    Atomics.notify(this.ctl, PSEQ);
    const pos = this.slotPos;
    this.slotPos += this.fill;
    this.fill = 0;
    const r = this.onSlot?.(view, pos);
    if (r !== undefined) await r;
    await this.maybeYield();
  }

  /**
   * Append bytes: copied into the ring, or published in place when `data`
   * is the view nextSlot() returned (or a prefix of it).
   */
  async write(data: Buffer): Promise<void> {
    if (this.closed) throw new Error('ring writer closed');
    if (data.length === 0) return;
    if (data.buffer === this.sab && this.fill === 0 && data.byteOffset === this.slotStart(this.published) && data.length <= this.slotSize) {
      this.fill = data.length; // nextSlot() already waited for this slot
      await this.publish();
      return;
    }
    let off = 0;
    while (off < data.length) {
      if (this.fill === 0) await this.free(this.published);
      const at = this.slotStart(this.published) + this.fill;
      const n = Math.min(data.length - off, this.slotSize - this.fill);
      data.copy(this.ring, at, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.slotSize) await this.publish();
    }
  }

  /** Publish the slot being filled, if any (the stream's last, short chunk); write() may go on after it. */
  async flush(): Promise<void> {
    if (this.closed) throw new Error('ring writer closed');
    if (this.fill > 0) await this.publish();
  }

  /**
   * Publish what is left, wait for both workers to finish, and return the
   * size and digest. The output is then complete on disk but not committed:
   * the caller commits (or aborts) its AtomicOutput.
   */
  async finish(): Promise<RingWriterResult> {
    await this.flush();
    Atomics.store(this.ctl, END, 1);
    Atomics.add(this.ctl, PSEQ, 1);
    Atomics.notify(this.ctl, PSEQ);
    const ends = await Promise.all(this.ends);
    for (const e of ends) if ('error' in e) throw await this.workerError();
    let digest = this.inlineHash?.digest('hex');
    let written = -1;
    let stored: number | undefined;
    for (const e of ends) {
      if ('ok' in e) {
        digest ??= e.ok.digest;
        if (e.ok.written !== undefined) written = e.ok.written;
        if (e.ok.stored !== undefined) stored = e.ok.stored;
      }
    }
    const bytes = this.position;
    if (digest === undefined || written !== bytes) throw new Error(`internal: writer stored ${written} of ${bytes} bytes`);
    if (this.gzip && stored === undefined) throw new Error('internal: the gzip writer did not say how much it stored');
    const storedBytes = stored ?? bytes;
    this.output.wroteExternally(storedBytes);
    const direct = this.direct;
    await this.close();
    return { bytes, sha256: digest, direct, storedBytes };
  }

  /** Stop the workers and close the direct descriptor. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, PSEQ, 1);
    Atomics.notify(this.ctl, PSEQ);
    await Promise.all(this.workers.map((w) => w.terminate().catch(() => undefined)));
    if (this.directFd >= 0) {
      try {
        closeSync(this.directFd);
      } catch {
        /* ignore */
      }
      this.directFd = -1;
    }
  }
}

export interface ReadSlotsOptions {
  /** The input's name in read errors (default `-`). */
  name?: string;
  /** The blocking read (default fs.readSync); tests replace it. */
  readSync?: (fd: number, buf: Buffer, offset: number, length: number, position: null) => number;
  /** The stream a descriptor is read through once a read says EAGAIN (default: a net.Socket over it). */
  streamFor?: (fd: number) => AsyncIterable<Buffer>;
  /** Bytes already read from the input (e.g. to sniff what it is): they come first. */
  head?: Buffer;
}

/** Raw dump bytes: a file descriptor, or any stream of bytes. */
export type SlotInput = number | AsyncIterable<Buffer | Uint8Array | string>;

function toBuffer(b: Buffer | Uint8Array | string): Buffer {
  if (typeof b === 'string') return Buffer.from(b, 'latin1');
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Fill ring slots with raw dump bytes, in order, and yield each filled slot
 * as one chunk (the last one short) with its 32-bit offset, exactly as a
 * Coda server would cut the stream: every chunk 512,000 bytes but the last.
 *
 * A file descriptor (standard input: a pipe, a socket or a file) is read
 * with blocking reads straight into the slots, no copy. One left
 * non-blocking by whoever started us (a read fails with EAGAIN) is read on
 * through a net.Socket. A stream's pieces are copied into the slots. Read
 * errors reject as DumpError 'IO' naming the input; the ring's own errors
 * (a failed write) pass through as they are.
 */
export async function* readSlots(ring: RingWriter, input: SlotInput, opts: ReadSlotsOptions = {}): AsyncGenerator<{ offset32: number; data: Buffer }> {
  const name = opts.name ?? '-';
  const read = opts.readSync ?? readSync;
  const fd = typeof input === 'number' ? input : -1;
  let stream: AsyncIterator<Buffer | Uint8Array | string> | undefined = typeof input === 'number' ? undefined : input[Symbol.asyncIterator]();
  let pending: Buffer | undefined;
  let ended = false;
  let pos = 0;
  let head = opts.head && opts.head.length > 0 ? opts.head : undefined;
  /** Up to `len` bytes into slot at `at`; 0 at the end of the input. */
  const fill = async (slot: Buffer, at: number): Promise<number> => {
    if (head) {
      const n = head.copy(slot, at);
      head = n < head.length ? head.subarray(n) : undefined;
      return n;
    }
    for (;;) {
      if (stream === undefined) {
        try {
          return read(fd, slot, at, slot.length - at, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          stream = (opts.streamFor ?? socketFor)(fd)[Symbol.asyncIterator]();
          continue;
        }
      }
      while (pending === undefined || pending.length === 0) {
        if (ended) return 0;
        const r = await stream.next();
        if (r.done) ended = true;
        else pending = toBuffer(r.value);
      }
      const n = pending.copy(slot, at);
      pending = pending.subarray(n);
      return n;
    }
  };
  try {
    for (;;) {
      const slot = await ring.nextSlot();
      let used = 0;
      while (used < slot.length) {
        let n: number;
        try {
          n = await fill(slot, used);
        } catch (e) {
          throw ioError(e, name, 'cannot read input');
        }
        if (n === 0) break;
        used += n;
      }
      if (used === 0) return;
      yield { offset32: pos % TWO_32, data: slot.subarray(0, used) };
      pos += used;
      if (used < slot.length) return;
    }
  } finally {
    await stream?.return?.();
  }
}

function socketFor(fd: number): AsyncIterable<Buffer> {
  return new Socket({ fd, readable: true, writable: false });
}
