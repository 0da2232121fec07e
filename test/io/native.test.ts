/** io/native: libc through koffi, and huge pages for the writer's ring. */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtomicOutput } from '../../src/io/atomic-output.js';
import { HUGE_PAGE, adviseHugePages, libc } from '../../src/io/native.js';
import { RingWriter } from '../../src/io/ring-writer.js';
import { tempDir } from '../helpers.js';
import { noise } from '../tree.js';

const MiB = 1 << 20;

/** The mapping of /proc/self/smaps that starts at `address`: its size in bytes and its VmFlags. */
function mapping(address: bigint): { size: number; flags: string[] } | undefined {
  const lines = readFileSync('/proc/self/smaps', 'ascii').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(lines[i]);
    if (!m || BigInt(`0x${m[1]}`) !== address) continue;
    const size = Number(BigInt(`0x${m[2]}`) - address);
    for (let j = i + 1; j < lines.length && !/^[0-9a-f]+-/.test(lines[j]); j++) {
      if (lines[j].startsWith('VmFlags:')) return { size, flags: lines[j].slice(8).trim().split(/\s+/) };
    }
    return { size, flags: [] };
  }
  return undefined;
}

describe('libc through koffi', () => {
  it('is available here (Linux, koffi installed from the lock file)', () => {
    expect(process.platform).toBe('linux');
    expect(libc()).not.toBeNull();
  });

  it('address() is where the bytes are: read back through /proc/self/mem', () => {
    const view = new Uint8Array(new SharedArrayBuffer(8192)).subarray(100);
    view.set(noise(64, 5), 0);
    const fd = openSync('/proc/self/mem', 'r');
    try {
      const back = Buffer.alloc(64);
      expect(readSync(fd, back, 0, 64, libc()!.address(view))).toBe(64);
      expect(back.equals(noise(64, 5))).toBe(true);
    } finally {
      closeSync(fd);
    }
  });
});

describe('adviseHugePages', () => {
  it('advises the whole huge pages from the first 2 MiB boundary on, and says where that is', () => {
    expect(HUGE_PAGE).toBe(2 * MiB);
    const view = new Uint8Array(new SharedArrayBuffer(7 * MiB));
    const address = libc()!.address(view);
    const skip = adviseHugePages(view);
    expect(skip).toBe(Number((BigInt(2 * MiB) - (address % BigInt(2 * MiB))) % BigInt(2 * MiB)));
    const start = address + BigInt(skip!);
    expect(start % BigInt(2 * MiB)).toBe(0n);
    // The kernel split the advised range off as its own mapping, flagged hg (MADV_HUGEPAGE).
    const m = mapping(start);
    expect(m).toBeDefined();
    expect(m!.flags).toContain('hg');
    expect(m!.size).toBe(Math.floor((7 * MiB - skip!) / (2 * MiB)) * 2 * MiB);
  });

  it('nothing to advise in a view that holds no whole huge page', () => {
    const view = new Uint8Array(new SharedArrayBuffer(3 * MiB));
    const address = libc()!.address(view);
    const skip = Number((BigInt(2 * MiB) - (address % BigInt(2 * MiB))) % BigInt(2 * MiB));
    // Cut the view so that it ends before the first boundary's huge page does.
    const small = view.subarray(0, skip + 2 * MiB - 1);
    expect(adviseHugePages(small)).toBeUndefined();
  });

  it('the ring starts its slots on a 2 MiB boundary with hugePages, and writes the same bytes either way', async () => {
    const t = tempDir('codadump-native-');
    try {
      const data = noise(3 * 512000 + 99, 3);
      for (const hugePages of [true, false]) {
        const path = join(t.dir, `h${hugePages}.out`);
        const out = new AtomicOutput(path, { force: true, bufferSize: 0 });
        const ring = new RingWriter(out, { hugePages });
        expect(ring.hugePages).toBe(hugePages);
        if (hugePages) {
          const slot = await ring.nextSlot();
          expect(libc()!.address(slot) % BigInt(2 * MiB)).toBe(0n);
          data.copy(slot, 0, 0, 512000);
          await ring.write(slot.subarray(0, 512000));
          await ring.write(data.subarray(512000));
        } else {
          await ring.write(data);
        }
        const r = await ring.finish();
        out.commit();
        expect(r.bytes).toBe(data.length);
        expect(readFileSync(path).equals(data)).toBe(true);
      }
    } finally {
      t.cleanup();
    }
  });
});
