/**
 * AtomicOutput's write-behind (repair's output): every 64 MiB stored, the
 * step is sent to disk (sync_file_range WRITE) and the step before it is
 * waited for (WAIT_BEFORE | WRITE | WAIT_AFTER = 7); the bytes are the
 * same as without. A sparse input keeps the test's disk use small.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtomicOutput, WRITE_BEHIND } from '../../src/io/atomic-output.js';
import { libc } from '../../src/io/native.js';
import { tempDir } from '../helpers.js';
import { noise } from '../tree.js';

const MiB = 1 << 20;

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => {
  vi.restoreAllMocks();
  t.cleanup();
});

/** 200 MiB, a hole except 4 KiB of noise every 50 MiB. */
function input(path: string): Buffer {
  const size = 200 * MiB;
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  const want = Buffer.alloc(size);
  for (let i = 0; i < 4; i++) {
    const b = noise(4096, 20 + i);
    writeSync(fd, b, 0, b.length, i * 50 * MiB);
    b.copy(want, i * 50 * MiB);
  }
  closeSync(fd);
  return want;
}

describe('AtomicOutput writeBehind', () => {
  it('is 64 MiB', () => {
    expect(WRITE_BEHIND).toBe(64 * MiB);
  });

  for (const on of [true, false]) {
    it(`${on ? 'sends each 64 MiB step to disk and waits for the one before' : 'off: no sync_file_range'}; the same bytes`, () => {
      const src = join(t.dir, 'in.bin');
      const want = input(src);
      const spy = vi.spyOn(libc()!, 'syncFileRange');
      const p = join(t.dir, 'out.bin');
      const out = new AtomicOutput(p, { sparse: true, writeBehind: on });
      const fd = openSync(src, 'r');
      try {
        out.write(Buffer.from('head'));
        expect(out.copyFrom(fd, 0, want.length)).toBe(want.length);
        out.write(Buffer.from('tail'));
        out.commit();
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(p).equals(Buffer.concat([Buffer.from('head'), want, Buffer.from('tail')]))).toBe(true);
      const calls = spy.mock.calls.map(([, offset, nbytes, flags]) => [offset / MiB, nbytes / MiB, flags]);
      // 4 + 200 MiB stored: steps [0, 64), [64, 128), [128, 192) started; the two before the last waited for.
      expect(calls).toEqual(on ? [[0, 64, 2], [64, 64, 2], [0, 64, 7], [128, 64, 2], [64, 64, 7]] : []);
    });
  }
});
