/**
 * merge's fast path (src/merge/scan.ts, writeMerged): a vnode whose bytes
 * are already what codamergedump writes for it is copied as it is, with its
 * file data, in runs; any other vnode is decoded and re-encoded. Both give
 * Coda's own merged bytes (fixtures/samples/codamergedump-merged.dump).
 */
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeVnode } from '../../src/format/encoder.js';
import { emptyVV } from '../../src/format/types.js';
import { writeDumpFile } from '../../src/io/write-dump.js';
import { AtomicOutput } from '../../src/io/atomic-output.js';
import { mergeDumps, mergedItems, planMerge, tableOrder, writeMerged, type MergePlan } from '../../src/merge/merge.js';
import { FILE_VNODE_TAGS, isUsualFileVnode } from '../../src/merge/scan.js';
import { rejection, sample, tempDir } from '../helpers.js';

const FULL = sample('merge-full.dump');
const INC = sample('merge-incremental.dump');
const MERGED = sample('codamergedump-merged.dump');

const entries = (plan: MergePlan) => [...tableOrder(plan.large), ...tableOrder(plan.small)];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('merge: vnodes copied as they are', () => {
  it("a server's dumps: every vnode is copied, only the header, the volume data, the two index headers and the end marker are encoded", async () => {
    const plan = await planMerge(FULL, [INC]);
    expect(entries(plan).every((e) => e.canonical)).toBe(true);
    const { dir, cleanup } = tempDir();
    try {
      const write = vi.spyOn(AtomicOutput.prototype, 'write');
      const copy = vi.spyOn(AtomicOutput.prototype, 'copyFrom');
      const out = new AtomicOutput(`${dir}/out.dump`);
      writeMerged(plan, out);
      out.commit();
      expect(readFileSync(`${dir}/out.dump`).equals(readFileSync(MERGED))).toBe(true);
      // Record tags (FORMAT.md 2): 1 dump header, 9 volume disk data, 4 large index, 3 small index, 8 end.
      expect(write.mock.calls.map(([b]) => (b as Buffer)[0])).toEqual([1, 9, 4, 3, 8]);
      expect(copy).toHaveBeenCalled();
    } finally {
      cleanup();
    }
  });

  it('a vnode whose fields are not in the server order is re-encoded (Coda does), the others still copied: the same bytes as Coda', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan0 = await planMerge(FULL, [INC]);
      // Vnodes the merge takes from the full dump: the directory in large slot 3, a file in small slot 10.
      const dirEntry = [...tableOrder(plan0.large)].find((e) => e.slot === 3 && e.src === 0)!;
      const fileEntry = [...tableOrder(plan0.small)].find((e) => e.slot === 10 && e.src === 0)!;
      const bytes = Buffer.from(readFileSync(FULL));
      // FORMAT.md 3.5: tag, vnode, unique (9 bytes), t (2), b (3), l (3), L (5), v (5), then 'V' at byte 27
      // and the version vector's entries '0' and '1' (tag + int32) at bytes 28 and 33. Swap the two:
      // the same values, another order.
      for (const e of [dirEntry, fileEntry]) {
        const at = e.offset;
        expect(String.fromCharCode(bytes[at + 27], bytes[at + 28], bytes[at + 33])).toBe('V01');
        const first = Buffer.from(bytes.subarray(at + 28, at + 33));
        bytes.copy(bytes, at + 28, at + 33, at + 38);
        first.copy(bytes, at + 33);
      }
      writeFileSync(`${dir}/full.dump`, bytes);
      const plan = await planMerge(`${dir}/full.dump`, [INC]);
      const reencoded = entries(plan).filter((e) => !e.canonical).map((e) => `${e.src}:${e.slot}`);
      expect(reencoded).toEqual(['0:3', '0:10']);
      const out = new AtomicOutput(`${dir}/out.dump`);
      writeMerged(plan, out);
      out.commit();
      expect(readFileSync(`${dir}/out.dump`).equals(readFileSync(MERGED))).toBe(true);
      // The item stream (every vnode decoded and re-encoded) agrees.
      await writeDumpFile(`${dir}/items.dump`, mergedItems(plan));
      expect(readFileSync(`${dir}/items.dump`).equals(readFileSync(MERGED))).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('with the file-system seam replaced (no kernel copy: read and write here), the same bytes', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await mergeDumps(FULL, [INC], `${dir}/out.dump`, { fs: {} });
      expect(readFileSync(`${dir}/out.dump`).equals(readFileSync(MERGED))).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('an input changed between reading and writing is refused, not copied', async () => {
    const { dir, cleanup } = tempDir();
    try {
      copyFileSync(FULL, `${dir}/full.dump`);
      const plan = await planMerge(`${dir}/full.dump`, [INC]);
      appendFileSync(`${dir}/full.dump`, 'x');
      const out = new AtomicOutput(`${dir}/out.dump`);
      const err = await rejection((async () => writeMerged(plan, out))());
      out.abort();
      expect(err.code).toBe('IO');
      expect(err.describe()).toBe(`${dir}/full.dump: the input changed while it was being merged (its size or modification time is not what was read)`);
    } finally {
      cleanup();
    }
  });
});

describe('merge scan: the usual vnode', () => {
  const file = {
    vnode: 0x01020304, unique: 0x05060708, type: 1, mode: 0o644, linkCount: 1, length: 3, dataVersion: 7,
    vv: { ...emptyVV(), versions: [1, 2, 3, 4, 5, 6, 7, 8], storeHost: 9, storeUniq: 10, flags: 11 },
    mtime: 12, author: 13, owner: 14, parent: 1, parentUnique: 1,
  };

  it('is a file in the server order with FILEDATA: recognised by its tag bytes alone, and by no other', () => {
    const b = encodeVnode(file, { kind: 'filedata', length: 3 });
    expect(b.length).toBe(114);
    expect(isUsualFileVnode(b, 0)).toBe(true);
    for (const [off, byte] of FILE_VNODE_TAGS) {
      expect(b[off]).toBe(byte);
      const bad = Buffer.from(b);
      bad[off] ^= 0x20;
      expect(isUsualFileVnode(bad, 0)).toBe(false);
    }
    // Every other byte is a value: any value is still the usual vnode.
    const values = Buffer.from(b);
    const tags = new Set(FILE_VNODE_TAGS.map(([off]) => off));
    for (let i = 0; i < values.length; i++) if (!tags.has(i)) values[i] = 0xff;
    expect(isUsualFileVnode(values, 0)).toBe(true);
    // With an access list ('X') or DIRPAGES, it is not.
    expect(isUsualFileVnode(encodeVnode({ ...file, acl: '' }, { kind: 'filedata', length: 3 }), 0)).toBe(false);
    expect(isUsualFileVnode(Buffer.concat([encodeVnode(file, { kind: 'dirpages', pages: Buffer.alloc(2048) })]), 0)).toBe(false);
  });
});
