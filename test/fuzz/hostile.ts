/**
 * Shared by the fuzz test files: the suite's seed, and dumps whose records
 * declare huge lengths and counts, with a runner that measures a CLI run's
 * peak RSS (test/fuzz/maxrss.mjs, preloaded with node --import).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { commands, GOOD, judge, runCli } from './engine.mjs';
import { ROOT, readAll, sample, streamReader } from '../helpers.js';

/** The suite's CLI fuzz: fixed, so the suite is reproducible. Change it only with a reason. */
export const SUITE_SEED = 20261129;
export const SUITE_CASES = 4;

export const RSS_LIMIT_KIB = 150 * 1000; // 150 MB
const PRELOAD = join(ROOT, 'test', 'fuzz', 'maxrss.mjs');

/** Hostile variants of a real full dump, each with one field patched (offsets found by parsing it). */
export async function hostileInputs(): Promise<{ name: string; bytes: Buffer }[]> {
  const hostile: { name: string; bytes: Buffer }[] = [];
  const base = readFileSync(sample('merge-full.dump'));
  const recs = (await readAll(streamReader(base))).map((r) => r.rec);
  const patch = (name: string, at: number, v: number) => {
    const b = Buffer.from(base);
    b.writeUInt32BE(v, at);
    hostile.push({ name, bytes: b });
  };
  // The header's volume name: 'n' at byte 19, its length at 20 (FORMAT.md 3.1).
  expect(base[19]).toBe(0x6e);
  patch("header name length 2^32-1", 20, 0xffffffff);
  // An index header: tag, 'v' int32, 's' int32 (FORMAT.md 3.3).
  const idx = recs.find((r) => r.kind === 'index')!;
  expect([base[idx.offset + 1], base[idx.offset + 6]]).toEqual([0x76, 0x73]);
  patch('index list count 2^32-1', idx.offset + 7, 0xffffffff);
  // A directory's DIRPAGES page count, and a file's FILEDATA byte count (tag, then int32).
  const dir = recs.find((r) => r.kind === 'vnode' && r.data.kind === 'dirpages')!;
  const file = recs.find((r) => r.kind === 'vnode' && r.data.kind === 'filedata' && r.data.length > 0)!;
  if (dir.kind !== 'vnode' || file.kind !== 'vnode' || dir.data.kind !== 'dirpages' || file.data.kind !== 'filedata') throw new Error('fixture');
  patch('DIRPAGES count 2^32-1', dir.data.offset + 1, 0xffffffff);
  patch('FILEDATA count 2^32-1', file.data.offset + 1, 0xffffffff);
  // (An access list's 'X' length is a string length like the header's name: the same cap, not repeated here.)
  return hostile;
}

/** Every command that reads a dump but extract (extract's are in extract-regressions.test.ts: its crash on damaged dumps is issue 14's). */
export const KINDS = ['inspect --vnodes --json', 'ls', 'verify --deep --json', 'diagnose', 'repair', 'merge (as full)', 'merge (as incremental)', 'simulate', 'redump -'];

/** Run `kind` on every hostile input (two at once); the peak RSS of each run in KiB, by input. */
export async function peaks(kind: string, inputs: { name: string; bytes: Buffer }[], dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let next = 0;
  async function worker() {
    while (next < inputs.length) {
      const i = next++;
      const h = inputs[i];
      const w = join(dir, `${kind.replace(/\W+/g, '-')}-${i}`);
      mkdirSync(w, { recursive: true });
      const f = join(w, 'input.dump');
      writeFileSync(f, h.bytes);
      const c = commands(f, w, GOOD).find((x) => x.name === kind)!;
      const rssFile = join(w, 'rss');
      const r = await runCli(c.args, { input: c.stdin ? h.bytes : undefined, nodeArgs: ['--import', PRELOAD], env: { CODADUMP_MAXRSS_FILE: rssFile } });
      expect(judge(r), `${kind} on ${h.name}: ${r.stderr}`).toEqual([]);
      out[h.name] = Number(readFileSync(rssFile, 'utf8'));
    }
  }
  await Promise.all([worker(), worker()]);
  return out;
}

