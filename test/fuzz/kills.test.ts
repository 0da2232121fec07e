/**
 * Kills: every command that writes a file through AtomicOutput, killed with
 * SIGKILL at seeded random points (some at a random time, some right as its
 * temporary file appears, so the kill lands mid-write). Never a file under
 * the final name unless it is complete (byte-identical to an uninterrupted
 * run's); what a SIGKILL leaves is named `.<output>.<pid>.<hex>.partial`
 * and the next run into the same directory removes it. SIGINT and SIGTERM
 * remove the temporary file at once.
 *
 * (extract -C writes a tree in place, each file under its own name; a kill
 * can leave the last file short. That is documented in docs/reliability.md,
 * not tested here.)
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * Start the command; kill it with `signal` after `delayMs`, or (delayMs < 0)
 * as soon as its temporary file exists plus a few random milliseconds.
 */
function runKilled(w: Writer, out: string, signal: NodeJS.Signals, delayMs: number, extraMs: number) {
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
        if (readdirSync(dir).some((f) => TEMP(base).test(f))) {
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
