/** summarizeDump (inspect, ls) on a dump whose directory has no pages: listed, not a failure. */
import { describe, expect, it } from 'vitest';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeVnode } from '../../src/format/encoder.js';
import { summarizeDump } from '../../src/format/summary.js';
import { verifySource } from '../../src/check/verify.js';
import { StreamSource } from '../../src/io/source.js';
import { streamReader } from '../helpers.js';

const vv = { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost: 0, storeUniq: 1, flags: 0 };
const header = encodeHeader({ volumeId: 1, parentId: 1, name: 'v', backupDate: 0, incremental: 0, oldest: 0, latest: 0 });
const dump = Buffer.concat([
  header,
  encodeIndexHeader('large', 1, 8),
  encodeVnode(
    { vnode: 1, unique: 1, type: 2, mode: 0o755, linkCount: 2, length: 0, dataVersion: 1, vv, mtime: 0, author: 0, owner: 0, parent: 1, parentUnique: 1, acl: '0\n0\n' },
    { kind: 'dirpages', pages: Buffer.alloc(0) },
  ),
  encodeIndexHeader('small', 0, 1),
  encodeEnd(),
]);

describe('a directory with 0 pages', () => {
  it('summarizes (no entries) instead of failing', async () => {
    const s = await summarizeDump(streamReader(dump));
    expect(s.vnodes).toHaveLength(1);
    expect(s.vnodes[0]).toMatchObject({ vnode: 1, data: 'dirpages', size: 0, entries: [] });
    expect(s.streamLength).toBe(dump.length);
  });

  it('with vnodes: false, counts the vnode in its index and keeps none', async () => {
    const s = await summarizeDump(streamReader(dump), { vnodes: false });
    expect(s.vnodes).toEqual([]);
    expect(s.large).toEqual({ declared: 1, lists: 8, records: 1, removed: 0, offset: header.length });
    expect(s.small).toMatchObject({ declared: 0, records: 0 });
    expect(s.streamLength).toBe(dump.length);
  });

  it('is reported by verify', async () => {
    const r = await verifySource(new StreamSource('zero-pages', [dump]));
    expect(r.problems.filter((p) => p.code === 'DIR_PAGE_COUNT')).toHaveLength(1);
    expect(r.verdict).toBe('corrupt');
  });
});
