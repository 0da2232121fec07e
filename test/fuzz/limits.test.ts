/**
 * Limits. Records that declare huge lengths and counts (2^32-1, 2^31-1) go
 * through every command that reads a dump, and the peak resident set size
 * of the process stays under 150 MB: no allocation is sized by an untrusted
 * field beyond a documented cap (see docs/reliability.md). And a tree of
 * 10,000 dumps verifies with --jobs 8 under a limit of 64 open descriptors.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileInputs, KINDS, peaks, RSS_LIMIT_KIB } from './hostile.js';
import { BIN, sample, tempDir } from '../helpers.js';

const t = tempDir('codadump-limits-');
afterAll(() => t.cleanup());
let hostile: { name: string; bytes: Buffer }[] = [];
beforeAll(async () => {
  hostile = await hostileInputs();
}, 60_000);

describe('huge declared lengths and counts: peak RSS under 150 MB, under every command', () => {
  it('the patched fields are where FORMAT.md puts them', () => {
    expect(hostile.map((h) => h.name)).toEqual(['header name length 2^32-1', 'index list count 2^32-1', 'DIRPAGES count 2^32-1', 'FILEDATA count 2^32-1']);
  });
  for (const kind of KINDS) {
    it(`${kind}: every hostile input`, async () => {
      const p = await peaks(kind, hostile, t.dir);
      expect(Object.keys(p)).toHaveLength(hostile.length);
      for (const [name, kib] of Object.entries(p)) expect(kib, `${kind} on ${name}: peak RSS ${kib} KiB`).toBeLessThan(RSS_LIMIT_KIB);
    }, 240_000);
  }
});

describe('descriptors', () => {
  it('a tree of 10,000 dumps verifies with --jobs 8 under ulimit -n 64', () => {
    const root = join(t.dir, 'tenk');
    // Full dumps: since main's restore chains, a tree of incrementals alone is not restorable (exit 1).
    const b = readFileSync(sample('server-empty-full.dump'));
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(root, `d${d}`), { recursive: true });
      for (let i = 0; i < 100; i++) writeFileSync(join(root, `d${d}`, `v${i}.dump`), b);
    }
    const r = spawnSync('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${BIN}" verify --jobs 8 "${root}"`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('ok '))).toHaveLength(10_000);
    expect(r.stdout).toMatch(/\n10000 dumps: 10000 ok, 0 damaged; 0 other files skipped; /);
  }, 240_000);
});
