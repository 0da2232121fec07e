/**
 * The one progress renderer: a cli-progress line on standard error, shown
 * only when standard error is a terminal. verify draws a bar over a known
 * number of bytes (byteProgress); redump, whose length is unknown, a running
 * count with its rate (streamProgress). Both throttle before cli-progress
 * sees an update (redump reports every chunk), and clear their line when
 * they stop.
 */
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';

/** cli-progress, loaded when a bar is first shown (never when the output is not a terminal). */
let cliProgress: typeof CliProgress | undefined;

function loadCliProgress(): typeof CliProgress {
  return (cliProgress ??= createRequire(import.meta.url)('cli-progress') as typeof CliProgress);
}

export interface Progress {
  update(value: number): void;
  stop(): void;
}

const NONE: Progress = { update: () => {}, stop: () => {} };

export function humanBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

type Payload = Record<string, string>;

/**
 * A line on standard error drawn by cli-progress from `format`, redrawn at
 * most every `everyMs`; clear() removes it (the next update draws it again).
 */
class Line {
  private bar: CliProgress.SingleBar | undefined;
  private last = 0;

  constructor(
    private readonly format: string,
    private readonly total: number,
    private readonly everyMs: number,
  ) {}

  update(value: number, payload: () => Payload): void {
    const now = Date.now();
    if (now - this.last < this.everyMs && value < this.total) return;
    this.last = now;
    if (this.bar === undefined) {
      const { SingleBar, Presets } = loadCliProgress();
      this.bar = new SingleBar(
        { format: this.format, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
        Presets.shades_classic,
      );
      this.bar.start(this.total, Math.min(value, this.total), payload());
      return;
    }
    this.bar.update(Math.min(value, this.total), payload());
  }

  clear(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.last = 0;
  }
}

const active = (enabled: boolean): boolean => enabled && process.stderr.isTTY === true;

/** A progress bar over `total` bytes; a no-op unless stderr is a TTY (and `enabled`). */
export function byteProgress(total: number, label: string, enabled = true): Progress {
  if (!active(enabled) || total <= 0) return NONE;
  const line = new Line(`${label} [{bar}] {percentage}% | {done} of {all} | {eta_formatted} left`, total, 100);
  const all = humanBytes(total);
  line.update(0, () => ({ done: humanBytes(0), all }));
  return {
    update: (v) => line.update(v, () => ({ done: humanBytes(v), all })),
    stop: () => line.clear(),
  };
}

export interface StreamProgress {
  update(bytes: number, vnodes: number, seconds: number): void;
  /** Remove the line (before other output on standard error); the next update draws it again. */
  clear(): void;
}

/** `LABEL: bytes, vnodes, MB/s` for a stream of unknown length; a no-op unless stderr is a TTY (and `enabled`). */
export function streamProgress(label: string, enabled: boolean): StreamProgress {
  if (!active(enabled)) return { update: () => {}, clear: () => {} };
  const line = new Line(`${label}: {done}, {vnodes} vnodes, {rate} MB/s`, Number.POSITIVE_INFINITY, 200);
  return {
    update: (bytes, vnodes, seconds) =>
      line.update(bytes, () => ({ done: humanBytes(bytes), vnodes: String(vnodes), rate: seconds > 0 ? (bytes / 1e6 / seconds).toFixed(1) : '0.0' })),
    clear: () => line.clear(),
  };
}
