/**
 * Kills: every command that writes a file through AtomicOutput, killed with
 * SIGKILL at seeded random points (some at a random time, some right as its
 * temporary file appears, so the kill lands mid-write). Never a file under
 * the final name unless it is complete (byte-identical to an uninterrupted
 * run's); what a SIGKILL leaves is named `.<output>.<pid>.<hex>.partial`
 * and the next run into the same directory removes it. SIGINT and SIGTERM
 * remove the temporary file at once.
 *
 * extract -C writes a tree: each file under a temporary name in its own
 * directory, renamed into place when complete. Killed the same way, no
 * file under its final name is ever short (each equals the uninterrupted
 * run's), what is left is named like the others, and the next run into the
 * tree removes it.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, prng, runCli } from './engine.mjs';
import { ROOT, sample, tempDir } from '../helpers.js';

const SEED = 15_2026;
const t = tempDir('codadump-kills-');
afterAll(() => t.cleanup());

const FULL = sample('server-sample-full.dump');
let tree = '';
beforeAll(() => {
  tree = join(t.dir, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  for (const f of ['server-sample-full.dump', 'merge-full.dump', 'codamergedump-merged.dump']) copyFileSync(sample(f), join(tree, 'sub', f));
});

interface Writer {
  name: string;
  /** Arguments writing to `out`. */
  args: (out: string) => string[];
  stdin?: string;
}

const WRITERS: Writer[] = [
  { name: 'pack', args: (o) => ['pack', '--backup-date', '1700000000', '-o', o, tree] },
  { name: 'merge', args: (o) => ['merge', '-o', o, sample('merge-full.dump'), sample('merge-incremental.dump')] },
  { name: 'repair', args: (o) => ['repair', '-o', o, FULL] },
  { name: 'redump', args: (o) => ['redump', '-o', o, '-'], stdin: FULL },
  { name: 'simulate', args: (o) => ['simulate', '--receiver', 'A', '--wrap-bits', '18', '-o', o, FULL] },
  { name: 'extract --tar', args: (o) => ['extract', '--tar', o, FULL] },
  { name: 'redump --gzip', args: (o) => ['redump', '--gzip', '-o', o, '-'], stdin: FULL },
];

const TEMP = (base: string) => new RegExp(`^\\.${base.replace(/\./g, '\\.')}\\.\\d+\\.[0-9a-f]{12}\\.partial$`);

/** Any temporary name (of any output). */
const ANY_TEMP = /^\..+\.\d+\.[0-9a-f]{12}\.partial$/;

/** Every entry under `dir` (relative paths, directories first), with what it is. */
function treeOf(dir: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) {
      out.set(r, 'dir');
      treeOf(dir, r, out);
    } else out.set(r, st.isSymbolicLink() ? `link ${readlinkSync(join(dir, r))}` : 'file');
  }
  return out;
}

/**
 * Start the command; kill it with `signal` after `delayMs`, or (delayMs < 0)
 * as soon as its temporary file exists plus a few random milliseconds.
 * `tree` (extract -C): as soon as any file exists under `out`, whatever its name.
 */
function runKilled(w: Writer, out: string, signal: NodeJS.Signals, delayMs: number, extraMs: number, tree = false) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; killedAt: number; endedAt: number }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...w.args(out)], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'ignore', 'pipe'] });
    if (w.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(readFileSync(w.stdin));
    } else child.stdin.end();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let killedAt = 0;
    const kill = () => {
      killedAt = Date.now();
      child.kill(signal);
    };
    const dir = join(out, '..');
    const base = out.slice(dir.length + 1);
    let poll: NodeJS.Timeout | undefined;
    if (delayMs >= 0) setTimeout(kill, delayMs);
    else {
      poll = setInterval(() => {
        let seen = false;
        try {
          seen = tree ? [...treeOf(out).values()].includes('file') : readdirSync(dir).some((f) => TEMP(base).test(f));
        } catch {
          /* the tree is changing under the walk: look again */
        }
        if (seen) {
          clearInterval(poll);
          setTimeout(kill, extraMs);
        }
      }, 2);
    }
    child.on('close', (code, sig) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal: sig, stderr, killedAt, endedAt: Date.now() });
    });
  });
}

describe(`SIGKILL at random points (seed ${SEED})`, () => {
  const rnd = prng(SEED);
  for (const w of WRITERS) {
    it(`${w.name}: the output is complete or absent; leftovers are named .partial and the next run removes them`, async () => {
      const dir = join(t.dir, w.name.replace(/\W+/g, '-'));
      mkdirSync(dir);
      // The reference: an uninterrupted run.
      const ref = join(dir, 'ref.out');
      const t0 = Date.now();
      const r0 = await runCli(w.args(ref), { input: w.stdin ? readFileSync(w.stdin) : undefined });
      const took = Date.now() - t0;
      expect(r0.code, r0.stderr).toBe(0);
      const want = readFileSync(ref);
      const out = join(dir, 'out.file');
      const leftovers: string[] = [];
      // One kill at a random moment of a whole run, one right as the output is being written.
      const points = [Math.floor(rnd() * took), -1];
      for (const at of points) {
        const k = await runKilled(w, out, 'SIGKILL', at, Math.floor(rnd() * 30));
        if (existsSync(out)) {
          expect(readFileSync(out).equals(want), `${w.name} killed ${at < 0 ? 'mid-write' : `at ${at} ms`}: a file under the final name must be complete`).toBe(true);
          rmSync(out);
        }
        for (const f of readdirSync(dir)) if (f !== 'ref.out') {
          expect(f).toMatch(TEMP('out.file'));
          leftovers.push(f);
        }
        void k;
      }
      // The next run into the same directory completes and removes what the killed ones left.
      const r1 = await runCli(w.args(out), { input: w.stdin ? readFileSync(w.stdin) : undefined });
      expect(r1.code, r1.stderr).toBe(0);
      expect(readFileSync(out).equals(want)).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(['out.file', 'ref.out']);
    }, 180_000);
  }
});

describe(`extract -C killed with SIGKILL at random points (seed ${SEED})`, () => {
  const rnd = prng(SEED + 1);
  // A dump with big files (tens of ms each to write), so that kills land inside one.
  const BIG = join(t.dir, 'big.dump');
  const w: Writer = { name: 'extract -C', args: (o) => ['extract', '-C', o, BIG] };
  beforeAll(async () => {
    const src = join(t.dir, 'bigtree');
    mkdirSync(join(src, 'd'), { recursive: true });
    const one = readFileSync(FULL);
    for (const [name, copies] of [['a', 12], ['d/b', 20], ['d/c', 1]] as const) writeFileSync(join(src, name), Buffer.concat(Array(copies).fill(one)));
    const r = await runCli(['pack', '--backup-date', '1700000000', '-o', BIG, src]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  it('no file under its final name is short; leftovers are named .partial; the next run removes them', async () => {
    const dir = join(t.dir, 'extract-C');
    mkdirSync(dir);
    const ref = join(dir, 'ref');
    const t0 = Date.now();
    const r0 = await runCli(w.args(ref));
    const took = Date.now() - t0;
    expect(r0.code, r0.stderr).toBe(0);
    const want = treeOf(ref);
    const out = join(dir, 'out');
    // One kill at a random moment, four once the first file appeared (plus up to 40 ms).
    for (const at of [Math.floor(rnd() * took), -1, -1, -1, -1]) {
      await runKilled(w, out, 'SIGKILL', at, Math.floor(rnd() * 40), true);
      if (!existsSync(out)) continue;
      for (const [r, what] of treeOf(out)) {
        const name = r.slice(r.lastIndexOf('/') + 1);
        if (what === 'file' && ANY_TEMP.test(name)) {
          // Named after the file it was to become, in that file's directory.
          const final = r.slice(0, r.length - name.length) + name.replace(/^\.(.+)\.\d+\.[0-9a-f]{12}\.partial$/, '$1');
          expect(want.get(final), `${r} is no file's temporary name`).toBe('file');
          continue;
        }
        expect(want.get(r), `${r} is not in the uninterrupted run's tree`).toBe(what);
        if (what === 'file') {
          expect(readFileSync(join(out, r)).equals(readFileSync(join(ref, r))), `killed ${at < 0 ? 'mid-write' : `at ${at} ms`}: ${r} must be complete`).toBe(true);
        }
      }
      // The next kill goes into the same tree: what is there stays, the rest is added (--force).
      w.args = (o) => ['extract', '--force', '-C', o, BIG];
    }
    // The next run completes the tree and removes every leftover.
    const r1 = await runCli(['extract', '--force', '-C', out, BIG]);
    expect(r1.code, r1.stderr).toBe(0);
    expect([...treeOf(out)]).toEqual([...want]);
    for (const [r, what] of want) if (what === 'file') expect(readFileSync(join(out, r)).equals(readFileSync(join(ref, r)))).toBe(true);
  }, 180_000);

  it('SIGTERM while a file is written: exit 143 at once, no temporary file left', async () => {
    const out = join(t.dir, 'extract-C-sigterm');
    const k = await runKilled(w, out, 'SIGTERM', -1, 0, true);
    if (k.code === 0) return; // it finished before the signal came: then the tree is whole
    expect(k.code).toBe(143);
    expect(k.stderr).toBe('codadump: interrupted by SIGTERM; unfinished output removed\n');
    expect([...treeOf(out).keys()].filter((r) => ANY_TEMP.test(r.slice(r.lastIndexOf('/') + 1)))).toEqual([]);
    expect(k.endedAt - k.killedAt).toBeLessThan(5000);
  }, 60_000);
});

describe('SIGINT and SIGTERM remove the temporary file at once', () => {
  for (const [w, signal] of [[WRITERS[2], 'SIGTERM'], [WRITERS[0], 'SIGINT'], [WRITERS[4], 'SIGTERM']] as const) {
    it(`${w.name}, ${signal}: exit ${signal === 'SIGINT' ? 130 : 143}, one line, no output, no temporary file`, async () => {
      const dir = join(t.dir, `sig-${w.name.replace(/\W+/g, '-')}-${signal}`);
      mkdirSync(dir);
      const out = join(dir, 'out.file');
      const k = await runKilled(w, out, signal, -1, 0);
      if (k.code === 0) {
        // It finished before the signal arrived: then the output is whole.
        expect(existsSync(out)).toBe(true);
        return;
      }
      expect(k.code).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(k.stderr).toBe(`codadump: interrupted by ${signal}; unfinished output removed\n`);
      // No temporary file; the output only if the signal came after it was committed.
      expect(readdirSync(dir).filter((f) => f !== 'out.file')).toEqual([]);
      expect(k.endedAt - k.killedAt).toBeLessThan(5000);
    }, 60_000);
  }
});
