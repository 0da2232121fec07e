/**
 * A small single-producer, single-consumer byte queue with backpressure:
 * the bridge between the writing side of `redump` (chunks appended to the
 * output) and the verifying side (a DumpReader over a StreamSource that
 * iterates this queue). The same Buffers are handed over, never copied; the
 * producer must not reuse a Buffer it pushed (the chunker never does).
 *
 * - push(b) returns undefined while fewer than `highWater` bytes wait, or a
 *   promise that settles once the consumer has drained the queue below the
 *   mark (so a fast writer cannot run ahead of the verifier by more than
 *   about `highWater` bytes).
 * - end() ends the stream after the queued bytes; fail(e) makes the
 *   consumer's next read reject with `e`.
 * - When the consumer stops iterating (return(): the verifier gave up or
 *   finished), `abandoned` becomes true, queued bytes are dropped and every
 *   later push is a no-op that never waits: the producer must not hang on
 *   a consumer that is gone.
 */
export class ByteQueue implements AsyncIterable<Buffer> {
  readonly highWater: number;
  private items: Buffer[] = [];
  private head = 0;
  private queued = 0;
  private ended = false;
  private error: unknown = undefined;
  private gone = false;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;
  private producerWait: Promise<void> | null = null;
  private drainWaiters: (() => void)[] = [];

  constructor(highWater = 8 << 20) {
    if (!Number.isSafeInteger(highWater) || highWater <= 0) throw new RangeError(`invalid highWater ${highWater}`);
    this.highWater = highWater;
  }

  /** Bytes pushed and not yet taken by the consumer. */
  get bufferedBytes(): number {
    return this.queued;
  }

  /**
   * Settles once the consumer has taken every pushed Buffer and is waiting
   * for more, or has stopped iterating. A consumer that reads each Buffer
   * to its end before asking for the next (StreamSource does) is then done
   * with all of them: the producer may reuse their memory.
   */
  whenDrained(): Promise<void> {
    if (this.gone || (this.wakeConsumer !== null && this.head >= this.items.length)) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private signalDrained(): void {
    const ws = this.drainWaiters;
    if (ws.length === 0) return;
    this.drainWaiters = [];
    for (const w of ws) w();
  }

  /** True once the consumer stopped iterating. */
  get abandoned(): boolean {
    return this.gone;
  }

  push(b: Buffer): Promise<void> | undefined {
    if (this.gone) return undefined;
    if (this.ended) throw new Error('ByteQueue: push after end');
    if (b.length === 0) return undefined;
    this.items.push(b);
    this.queued += b.length;
    this.signalConsumer();
    if (this.queued < this.highWater) return undefined;
    this.producerWait ??= new Promise<void>((resolve) => {
      this.wakeProducer = resolve;
    });
    return this.producerWait;
  }

  end(): void {
    this.ended = true;
    this.signalConsumer();
  }

  fail(e: unknown): void {
    if (this.ended) return;
    this.error = e ?? new Error('ByteQueue failed');
    this.ended = true;
    this.signalConsumer();
  }

  private signalConsumer(): void {
    const w = this.wakeConsumer;
    if (w) {
      this.wakeConsumer = null;
      w();
    }
  }

  private signalProducer(): void {
    const w = this.wakeProducer;
    if (w) {
      this.wakeProducer = null;
      this.producerWait = null;
      w();
    }
  }

  private take(): Buffer | undefined {
    if (this.head >= this.items.length) return undefined;
    const b = this.items[this.head];
    this.items[this.head++] = undefined as unknown as Buffer;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.queued -= b.length;
    if (this.queued < this.highWater) this.signalProducer();
    return b;
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    for (;;) {
      const b = this.take();
      if (b !== undefined) return { value: b, done: false };
      if (this.ended) {
        if (this.error !== undefined) {
          const e = this.error;
          this.error = undefined;
          throw e;
        }
        return { value: undefined, done: true };
      }
      const woken = new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
      this.signalDrained();
      await woken;
    }
  }

  private abandon(): void {
    this.gone = true;
    this.items = [];
    this.head = 0;
    this.queued = 0;
    this.signalProducer();
    this.signalDrained();
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () => this.next(),
      return: async () => {
        this.abandon();
        return { value: undefined, done: true };
      },
    };
  }
}
