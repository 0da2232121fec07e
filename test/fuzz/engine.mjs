/**
 * CLI-level fuzz engine, shared by the suite (test/fuzz/cli-fuzz.test.ts,
 * a few bounded cases) and `npm run fuzz` (test/fuzz/run.mjs, as many as
 * asked). Plain ESM so both can load it without a build step.
 *
 * A case: pick a base dump (real samples, plus dumps this engine generates
 * with the built CLI: a packed tree and a wraparound-damaged receiver
 * output), apply 1 to 4 seeded mutations (bit flips, hostile 32-bit values
 * such as 0, 2^31, 2^32-1 over length and count fields, cuts, insertions,
 * deletions, spliced copies of other records), and run EVERY command that
 * reads a dump on the result, each as a user does (`node bin/codadump ...`,
 * a child process). Each run must:
 *   - exit with 0, 1 or 2 (not killed by a signal, not any other code);
 *   - print no stack trace and no "internal error";
 *   - on exit 2 print exactly one line on stderr, starting "codadump: ";
 *   - end within the time limit (no hang);
 *   - leave the input byte-identical.
 * The case's seed is derived from the run seed and the case number, so
 * `--seed S --case N` reproduces any single case.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'codadump');
const SAMPLES = join(ROOT, 'fixtures', 'samples');

/** mulberry32: a small seeded generator; returns floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of case `index` of a run seeded `seed`. */
export function caseSeed(seed, index) {
  const h = createHash('sha256').update(`${seed >>> 0}:${index}`).digest();
  return h.readUInt32BE(0);
}

const HOSTILE_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 2048, 129, 0x7ffff800];

/** Offsets just after a field tag byte: where 32-bit lengths and counts live. */
function tagOffsets(b) {
  const out = [];
  const tags = new Set([0x6e, 0x76, 0x73, 0x4c, 0x63, 0x41, 0x44, 0x46, 0x77, 0x5a]); // n v s L c A D F w Z
  for (let i = 0; i + 5 <= b.length && out.length < 4096; i++) if (tags.has(b[i])) out.push(i + 1);
  return out;
}

/** Offsets of record tags (a byte 1..10 preceded by something): splice points. */
function recordStarts(b) {
  const out = [];
  for (let i = 0; i < b.length && out.length < 4096; i++) if (b[i] >= 1 && b[i] <= 10 && (i === 0 || b[i - 1] === 0)) out.push(i);
  return out;
}

/** One mutation of `b` (a new Buffer) and its description. */
export function mutateOnce(rnd, b, others) {
  const int = (n) => Math.floor(rnd() * n);
  const pick = (a) => a[int(a.length)];
  const kind = pick(['flip', 'flip', 'byte', 'u32', 'u32', 'u32len', 'u32len', 'cut', 'insert', 'delete', 'splice', 'splice-other', 'dup']);
  if (b.length === 0) return { bytes: Buffer.from([1]), desc: 'insert 1 byte into an empty input' };
  const at = int(b.length);
  switch (kind) {
    case 'flip': {
      const c = Buffer.from(b);
      const bit = int(8);
      c[at] ^= 1 << bit;
      return { bytes: c, desc: `flip bit ${bit} at ${at}` };
    }
    case 'byte': {
      const c = Buffer.from(b);
      const v = int(256);
      c[at] = v;
      return { bytes: c, desc: `byte ${v} at ${at}` };
    }
    case 'u32':
    case 'u32len': {
      if (b.length < 4) return { bytes: b.subarray(0, 0), desc: 'cut to 0' };
      const offs = kind === 'u32len' ? tagOffsets(b).filter((o) => o + 4 <= b.length) : [];
      const o = offs.length ? pick(offs) : Math.min(at, b.length - 4);
      const v = pick(HOSTILE_U32);
      const c = Buffer.from(b);
      c.writeUInt32BE(v >>> 0, o);
      return { bytes: c, desc: `u32 ${v} at ${o}` };
    }
    case 'cut':
      return { bytes: Buffer.from(b.subarray(0, at)), desc: `cut at ${at}` };
    case 'insert': {
      const n = 1 + int(16);
      const ins = Buffer.alloc(n);
      for (let i = 0; i < n; i++) ins[i] = int(256);
      return { bytes: Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]), desc: `insert ${n} bytes at ${at}` };
    }
    case 'delete': {
      const n = 1 + int(Math.min(4096, b.length - at));
      return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + n)]), desc: `delete ${n} at ${at}` };
    }
    case 'splice':
    case 'dup':
    case 'splice-other': {
      // Copy a record-aligned piece of this (or another) dump to a record start here.
      const src = kind === 'splice-other' && others.length ? pick(others) : b;
      const starts = recordStarts(src);
      const from = starts.length ? pick(starts) : int(src.length);
      const len = 1 + int(Math.min(8192, src.length - from));
      const piece = src.subarray(from, from + len);
      const here = recordStarts(b);
      const to = here.length ? pick(here) : at;
      const replace = kind !== 'dup';
      const tail = replace ? b.subarray(Math.min(b.length, to + len)) : b.subarray(to);
      return { bytes: Buffer.concat([b.subarray(0, to), piece, tail]), desc: `${kind} ${len} bytes from ${from} to ${to}` };
    }
  }
  throw new Error(`unknown mutation ${kind}`);
}

export function mutate(rnd, base, others) {
  const n = 1 + Math.floor(rnd() * 4);
  let bytes = base;
  const desc = [];
  for (let i = 0; i < n; i++) {
    const m = mutateOnce(rnd, bytes, others);
    bytes = m.bytes;
    desc.push(m.desc);
  }
  return { bytes, desc };
}

/**
 * Run the CLI as a child process. Resolves with the exit code (null when
 * killed), the signal, stdout/stderr and whether the time limit killed it.
 */
export function runCli(args, { cwd = ROOT, input, timeoutMs = 60_000, env = {}, nodeArgs = [] } = {}) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    let outLen = 0;
    child.stdout.on('data', (d) => {
      // Keep the head of stdout only: a listing can be long, and only its presence matters.
      if (outLen < 1 << 20) out.push(d);
      outLen += d.length;
    });
    child.stderr.on('data', (d) => err.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    if (input !== undefined) {
      child.stdin.on('error', () => {}); // the CLI may stop reading early
      child.stdin.end(input);
    }
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, timedOut, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Problems with one CLI run, as strings (empty when it behaved). */
export function judge(r) {
  const bad = [];
  if (r.timedOut) bad.push('hang: killed after the time limit');
  else if (r.signal) bad.push(`killed by ${r.signal}`);
  else if (![0, 1, 2].includes(r.code)) bad.push(`exit code ${r.code}`);
  if (/^\s+at .+(:\d+:\d+\)?|\(native\))$/m.test(r.stderr) || /internal error|node:internal|^\w*Error: /m.test(r.stderr)) bad.push('stack trace or internal error on stderr');
  if (r.code === 2) {
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    if (lines.length !== 1 || !lines[0].startsWith('codadump: ')) bad.push(`exit 2 without exactly one "codadump: " line on stderr (${lines.length} lines)`);
  }
  return bad;
}

/**
 * Every command that reads a dump, as argument lists for an input file
 * `f`, with a fresh scratch directory `w` for outputs. `good` holds sound
 * dumps for the commands that pair the input with another dump.
 */
export function commands(f, w, good) {
  return [
    { name: 'inspect', args: ['inspect', f] },
    { name: 'inspect --vnodes --json', args: ['inspect', '--vnodes', '--json', f] },
    { name: 'ls', args: ['ls', f] },
    { name: 'verify', args: ['verify', '-v', f] },
    { name: 'verify --deep --json', args: ['verify', '--deep', '--json', f] },
    { name: 'verify -', args: ['verify', '-'], stdin: true },
    { name: 'diagnose', args: ['diagnose', '-v', f] },
    { name: 'diagnose --wrap-bits 16', args: ['diagnose', '--json', '--wrap-bits', '16', f] },
    { name: 'repair', args: ['repair', '--wrap-bits', '16', '-o', join(w, 'repaired.dump'), f] },
    { name: 'extract -C', args: ['extract', '--orphans', '-C', join(w, 'x'), f] },
    { name: 'extract --tar', args: ['extract', '--tar', join(w, 'x.tar'), f] },
    { name: 'extract --tar -', args: ['extract', '--tar', '-', f] },
    { name: 'merge (as full)', args: ['merge', '-o', join(w, 'm1.dump'), f, good.incremental] },
    { name: 'merge (as incremental)', args: ['merge', '-o', join(w, 'm2.dump'), good.full, f] },
    { name: 'simulate', args: ['simulate', '--receiver', 'A', '--wrap-bits', '16', '-o', join(w, 'sim.out'), f] },
    { name: 'redump -', args: ['redump', '-o', join(w, 'redump.dump'), '-'], stdin: true },
  ];
}

/**
 * The base dumps: every real sample under 1 MiB, plus generated ones made
 * with the built CLI in `dir`: a packed tree (files, a symlink, an empty
 * file, a deep directory) and a wraparound-damaged receiver output.
 */
export async function bases(dir) {
  const list = [];
  for (const n of readdirSync(SAMPLES).filter((x) => x.endsWith('.dump')).sort()) {
    const bytes = readFileSync(join(SAMPLES, n));
    if (bytes.length < 1 << 20) list.push({ name: n, bytes });
  }
  const tree = join(dir, 'gen-tree');
  mkdirSync(join(tree, 'a', 'b', 'c'), { recursive: true });
  writeFileSync(join(tree, 'hello.txt'), 'hello, world\n');
  writeFileSync(join(tree, 'empty'), '');
  writeFileSync(join(tree, 'a', 'b', 'c', 'deep.bin'), Buffer.alloc(5000, 7));
  symlinkSync('a/b/c/deep.bin', join(tree, 'link'));
  cpSync(join(SAMPLES, 'README.md'), join(tree, 'a', 'readme.md'));
  const packed = join(dir, 'gen-pack.dump');
  const p = await runCli(['pack', '--backup-date', '1700000000', '-o', packed, tree]);
  if (p.code !== 0) throw new Error(`fuzz setup: pack failed: ${p.stderr}`);
  list.push({ name: 'generated: pack', bytes: readFileSync(packed) });
  const wrapped = join(dir, 'gen-wrap.dump');
  const s = await runCli(['simulate', '--receiver', 'A', '--wrap-bits', '18', '--chunk-size', '40000', '-o', wrapped, join(SAMPLES, 'merge-full.dump')]);
  if (s.code !== 0) throw new Error(`fuzz setup: simulate failed: ${s.stderr}`);
  list.push({ name: 'generated: wraparound (A, 2^18)', bytes: readFileSync(wrapped) });
  rmSync(tree, { recursive: true, force: true });
  return list;
}

export const GOOD = { full: join(SAMPLES, 'merge-full.dump'), incremental: join(SAMPLES, 'merge-incremental.dump') };

const sha = (b) => createHash('sha256').update(b).digest('hex');

/**
 * Run case `index` of the run seeded `seed` in `work` (created and removed
 * here). Resolves with the failures: [{ command, args, problems, stderr }].
 * With `keep`, a failing input is copied to `keep/seed-S-case-N.dump`.
 */
export async function runCase({ seed, index, bases: baseList, work, keep, concurrency = 2, timeoutMs = 60_000, only, except }) {
  const rnd = prng(caseSeed(seed, index));
  const base = baseList[Math.floor(rnd() * baseList.length)];
  const others = baseList.filter((b) => b !== base).map((b) => b.bytes);
  const { bytes, desc } = mutate(rnd, base.bytes, others);
  mkdirSync(work, { recursive: true });
  const input = join(work, 'input.dump');
  writeFileSync(input, bytes);
  const before = sha(bytes);
  let cmds = commands(input, work, GOOD);
  if (only) cmds = cmds.filter((c) => only.some((o) => c.name.startsWith(o)));
  if (except) cmds = cmds.filter((c) => !except.some((o) => c.name.startsWith(o)));
  const failures = [];
  let next = 0;
  async function worker(k) {
    while (next < cmds.length) {
      const c = cmds[next++];
      const w = join(work, `w${k}`);
      mkdirSync(w, { recursive: true });
      const args = c.args.map((a) => (a.startsWith(work + '/') && a !== input ? a.replace(work, w) : a));
      const r = await runCli(args, { input: c.stdin ? bytes : undefined, timeoutMs });
      const problems = judge(r);
      if (problems.length) failures.push({ command: c.name, args, problems, code: r.code, stderr: r.stderr.slice(0, 2000) });
      rmSync(w, { recursive: true, force: true });
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, k) => worker(k)));
  if (sha(readFileSync(input)) !== before) failures.push({ command: '(all)', args: [], problems: ['the input file changed'], code: null, stderr: '' });
  if (failures.length && keep) {
    mkdirSync(keep, { recursive: true });
    writeFileSync(join(keep, `seed-${seed}-case-${index}.dump`), bytes);
  }
  rmSync(work, { recursive: true, force: true });
  return { base: base.name, mutations: desc, size: bytes.length, failures, commands: cmds.length };
}
