import { closeSync, constants as fsConstants, mkdtempSync, openSync, readSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { DumpError } from '../src/format/errors.js';
import { libc } from '../src/io/native.js';
import { dumpFromStream } from '../src/format/open.js';
import type { DumpReader } from '../src/format/reader.js';
import type { DumpRecord } from '../src/format/types.js';

export const ROOT = resolve(import.meta.dirname, '..');

/**
 * Does `dir`'s file system take O_DIRECT where AtomicOutput would use it
 * (Linux, koffi loadable; ext4 and xfs do, tmpfs does not)?
 */
export function takesDirect(dir: string): boolean {
  if (process.platform !== 'linux' || libc() === null) return false;
  const p = join(dir, '.direct-probe');
  try {
    closeSync(openSync(p, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_DIRECT));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(p, { force: true });
  }
}
/** Real dumps written by Coda, copied from the project's shared samples into fixtures/samples (see its README.md). */
export const SAMPLES = resolve(ROOT, 'fixtures', 'samples');
export const SAMPLE_FILES = readdirSync(SAMPLES).filter((f) => f.endsWith('.dump')).sort();
export const sample = (name: string): string => join(SAMPLES, name);

export function tempDir(prefix = 'codadump-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** SHA-256 of a whole file, read 8 MiB at a time (files past 4 GiB too). */
export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** A reader over a buffer delivered `chunk` bytes at a time through a non-seekable stream. */
export function streamReader(buf: Buffer, chunk = 65536, name = 'stream'): DumpReader {
  function* pieces() {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  }
  return dumpFromStream(name, Readable.from(pieces(), { objectMode: true }));
}

/** Records (with file data read in) as plain objects for comparison. */
export async function readAll(reader: DumpReader): Promise<{ rec: DumpRecord; data?: Buffer }[]> {
  const out: { rec: DumpRecord; data?: Buffer }[] = [];
  for await (const rec of reader.records()) {
    if (rec.kind === 'vnode' && rec.data.kind === 'filedata') out.push({ rec, data: await reader.readFileData() });
    else out.push({ rec });
  }
  return out;
}

/** Hex string -> Buffer, ignoring spaces, newlines and `# comments`. */
export function hexBytes(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

export const BIN = join(ROOT, 'bin', 'codadump');

/** Run the CLI; `stdin` is a descriptor to hand it as standard input instead of `input` through a pipe. */
export function run(args: string[], opts: { input?: Buffer | string; stdin?: number; cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: opts.input,
    stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'],
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...opts.env },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** True when files in `dir` can be opened with O_DIRECT (ext4, xfs: yes; tmpfs: no). */
export function directWorks(dir: string): boolean {
  const p = join(dir, `.direct-probe-${process.pid}`);
  try {
    closeSync(openSync(p, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_DIRECT));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(p, { force: true });
  }
}

/** A deterministic byte pattern (a linear congruential generator). */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    b[i] = Math.floor(x / 65536) % 256;
  }
  return b;
}

/** The DumpError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function rejection(p: Promise<unknown>): Promise<DumpError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DumpError);
    return e as DumpError;
  }
  throw new Error('expected a DumpError');
}

/** Read up to `n` bytes at `at` of a file (fewer at its end). */
export function readAt(file: string, at: number, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, at));
  } finally {
    closeSync(fd);
  }
}
