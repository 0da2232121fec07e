/** A byte progress bar on standard error, only when it is a terminal. */
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

function human(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function humanBytes(n: number): string {
  return human(n);
}

/** A progress bar over `total` bytes; a no-op unless stderr is a TTY (and `enabled`). */
export function byteProgress(total: number, label: string, enabled = true): Progress {
  if (!enabled || !process.stderr.isTTY || total <= 0) return NONE;
  const { SingleBar, Presets } = loadCliProgress();
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done} of {all} | {eta_formatted} left`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { done: human(0), all: human(total) });
  let last = 0;
  return {
    update(v: number) {
      const now = Date.now();
      if (now - last < 100 && v < total) return;
      last = now;
      bar.update(Math.min(v, total), { done: human(v) });
    },
    stop() {
      bar.stop();
    },
  };
}
