/** io/pipe: growing a pipe's buffer with F_SETPIPE_SZ (Linux, through koffi). */
import { spawnSync } from 'node:child_process';
import { closeSync, constants as fsc, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PIPE_BYTES, enlargePipe } from '../../src/io/pipe.js';
import { tempDir } from '../helpers.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir('codadump-pipe-');
});
afterEach(() => t.cleanup());

/** A FIFO opened read-write (on Linux that does not block): a pipe of our own, default size. */
function fifo(): number {
  const path = join(t.dir, 'fifo');
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return openSync(path, fsc.O_RDWR);
}

const maxSize = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'ascii').trim());

describe('enlargePipe', () => {
  it('grows a default 64 KiB pipe to 1 MiB (or the system limit)', () => {
    expect(PIPE_BYTES).toBe(1048576);
    const fd = fifo();
    try {
      expect(enlargePipe(fd)).toEqual({ before: 65536, after: Math.min(1048576, maxSize) });
      // Asked again: already that size, nothing changes.
      expect(enlargePipe(fd)).toEqual({ before: Math.min(1048576, maxSize), after: Math.min(1048576, maxSize) });
    } finally {
      closeSync(fd);
    }
  });

  it('never shrinks a pipe, and rounds up as the kernel does (to pages, then a power of two)', () => {
    const fd = fifo();
    try {
      expect(enlargePipe(fd, 4096)).toEqual({ before: 65536, after: 65536 });
      expect(enlargePipe(fd, 200_000)).toEqual({ before: 65536, after: 262144 });
    } finally {
      closeSync(fd);
    }
  });

  it('does not go past the system limit (pipe-max-size)', () => {
    const fd = fifo();
    try {
      expect(enlargePipe(fd, maxSize * 4)).toEqual({ before: 65536, after: maxSize });
    } finally {
      closeSync(fd);
    }
  });

  it('leaves what is not a pipe alone: a regular file, /dev/null, a socket, a descriptor that is not open', async () => {
    const file = join(t.dir, 'f');
    writeFileSync(file, 'x');
    const fd = openSync(file, 'r');
    const nul = openSync('/dev/null', 'r');
    try {
      expect(enlargePipe(fd)).toBeUndefined();
      expect(enlargePipe(nul)).toBeUndefined();
    } finally {
      closeSync(fd);
      closeSync(nul);
    }
    expect(enlargePipe(2 ** 30)).toBeUndefined(); // EBADF, not thrown

    const sock = join(t.dir, 's');
    const server = createServer((c) => c.end());
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    const client = connect(sock);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    try {
      const handle = (client as unknown as { _handle: { fd: number } })._handle;
      expect(handle.fd).toBeGreaterThanOrEqual(0);
      expect(enlargePipe(handle.fd)).toBeUndefined();
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
