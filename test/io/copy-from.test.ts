/**
 * AtomicOutput.copyFrom: file ranges appended without passing through the
 * process (copy_file_range through koffi), or read and written here
 * (kernelCopy: false, as where koffi is missing); the same bytes either way,
 * and in sparse mode the input's holes stay holes.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, readdirSync as readdir, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtomicOutput } from '../../src/io/atomic-output.js';
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

/** A file of `size` bytes that is a hole except for `parts` ([position, bytes]). */
function holey(path: string, size: number, parts: [number, Buffer][]): Buffer {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  const want = Buffer.alloc(size);
  for (const [pos, b] of parts) {
    writeSync(fd, b, 0, b.length, pos);
    b.copy(want, pos);
  }
  closeSync(fd);
  return want;
}

describe('AtomicOutput.copyFrom', () => {
  for (const kernel of [true, false]) {
    const how = kernel ? 'in the kernel (copy_file_range)' : 'read and written here (kernelCopy: false)';

    it(`appends the range between buffered writes, ${how}`, () => {
      const input = join(t.dir, 'in.bin');
      const data = noise(3 * MiB + 777, 7);
      writeFileSync(input, data);
      const spy = vi.spyOn(libc()!, 'copyFileRange');
      const p = join(t.dir, 'out.bin');
      const out = new AtomicOutput(p, { kernelCopy: kernel });
      const fd = openSync(input, 'r');
      try {
        out.write(Buffer.from('head'));
        expect(out.copyFrom(fd, 100, 3 * MiB)).toBe(3 * MiB);
        out.write(Buffer.from('tail'));
        expect(out.bytesWritten).toBe(4 + 3 * MiB + 4);
        out.commit();
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(p).equals(Buffer.concat([Buffer.from('head'), data.subarray(100, 100 + 3 * MiB), Buffer.from('tail')]))).toBe(true);
      expect(spy.mock.calls.length > 0).toBe(kernel);
    });

    it(`stops where the input ends and says how much it appended, ${how}`, () => {
      const input = join(t.dir, 'in.bin');
      writeFileSync(input, noise(5000, 3));
      const p = join(t.dir, 'out.bin');
      const out = new AtomicOutput(p, { kernelCopy: kernel });
      const fd = openSync(input, 'r');
      try {
        expect(out.copyFrom(fd, 1000, 2 * MiB)).toBe(4000);
        expect(out.copyFrom(fd, 5000, 10)).toBe(0);
        out.commit();
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(p).equals(noise(5000, 3).subarray(1000))).toBe(true);
    });

    it(`sparse: the copy reads back identical and the input's holes stay holes, ${how}`, () => {
      const input = join(t.dir, 'holey.bin');
      const want = holey(input, 24 * MiB, [[4 * MiB + 5, noise(70000, 1)], [20 * MiB, noise(MiB, 2)]]);
      const p = join(t.dir, 'out.bin');
      const out = new AtomicOutput(p, { sparse: true, kernelCopy: kernel });
      const fd = openSync(input, 'r');
      try {
        out.write(Buffer.from('x'));
        expect(out.copyFrom(fd, 3, 24 * MiB - 3 - 1000)).toBe(24 * MiB - 1003);
        out.write(Buffer.from('y'));
        out.commit();
      } finally {
        closeSync(fd);
      }
      const got = readFileSync(p);
      expect(got.length).toBe(24 * MiB - 1001);
      expect(got.equals(Buffer.concat([Buffer.from('x'), want.subarray(3, 24 * MiB - 1000), Buffer.from('y')]))).toBe(true);
      expect(statSync(p).blocks * 512).toBeLessThan(4 * MiB);
    });
  }

  it('never copies in the kernel with a replaced file system (fsImpl: the test sees every write)', () => {
    const input = join(t.dir, 'in.bin');
    writeFileSync(input, noise(2 * MiB, 9));
    const spy = vi.spyOn(libc()!, 'copyFileRange');
    const writes: number[] = [];
    const p = join(t.dir, 'out.bin');
    const out = new AtomicOutput(p, {
      bufferSize: 0,
      fsImpl: { writeSync: (fd, buf, off, len, pos) => (writes.push(len), writeSync(fd, buf, off, len, pos)) },
    });
    const fd = openSync(input, 'r');
    try {
      expect(out.copyFrom(fd, 0, 2 * MiB)).toBe(2 * MiB);
      out.commit();
    } finally {
      closeSync(fd);
    }
    expect(spy).not.toHaveBeenCalled();
    expect(writes).toEqual([MiB, MiB]);
    expect(readFileSync(p).equals(noise(2 * MiB, 9))).toBe(true);
  });

  it('a failed copy aborts the output (no temporary file left) with an IO error naming it', () => {
    const p = join(t.dir, 'out.bin');
    const out = new AtomicOutput(p);
    expect(() => out.copyFrom(987654, 0, 2 * MiB)).toThrow(expect.objectContaining({ code: 'IO', file: p }));
    expect(readdir(t.dir)).toEqual([]);
  });
});
