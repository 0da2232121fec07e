/**
 * Decompressors codadump does not carry (bzip2, xz, zstd, compress `.Z`):
 * the system's own program, found on PATH, or any command the user names
 * (`--decompress-with CMD`, run by `sh -c` with the compressed bytes on its
 * standard input). Its standard output is the dump stream.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DumpError } from '../diagnostics/errors.js';
import { finding } from '../diagnostics/finding.js';
import type { Compression, ContainerInfo } from './container.js';
import type { RawInput } from './raw-input.js';

export interface DecoderCommand {
  /** Program and arguments. */
  file: string;
  args: string[];
  /** How it is named in messages. */
  display: string;
}

/** The system decompressor for a format (compress `.Z` is read by gzip). */
export function systemDecoder(kind: Compression): DecoderCommand | null {
  switch (kind) {
    case 'bzip2':
      return { file: 'bzip2', args: ['-dc'], display: 'bzip2 -dc' };
    case 'xz':
      return { file: 'xz', args: ['-dc'], display: 'xz -dc' };
    case 'zstd':
      return { file: 'zstd', args: ['-dc'], display: 'zstd -dc' };
    case 'compress':
      return { file: 'gzip', args: ['-dc'], display: 'gzip -dc' };
    default:
      return null;
  }
}

export function userDecoder(cmd: string): DecoderCommand {
  return { file: 'sh', args: ['-c', cmd], display: cmd };
}

/** The program's path on PATH, or null. */
export function onPath(file: string): string | null {
  if (file.includes('/')) return file;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, file);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Throw DECOMPRESSOR_MISSING unless the program can be run. */
export function requireDecoder(kind: Compression, d: DecoderCommand | null, file: string): DecoderCommand {
  if (!d) throw new DumpError('DECOMPRESSOR_MISSING', `${kind} data and no decompressor for it (give --decompress-with CMD)`, 0, file);
  if (!onPath(d.file)) {
    throw new DumpError('DECOMPRESSOR_MISSING', `${kind}-compressed, but '${d.file}' is not on PATH: install it or give --decompress-with CMD`, 0, file);
  }
  return d;
}

/**
 * The decoded bytes: the compressed input goes to the program's standard
 * input, its standard output comes back. A program that fails adds a
 * DECOMPRESSOR_FAILED finding (with its last line of standard error); the
 * bytes it wrote before are kept.
 */
export async function* runDecoder(input: RawInput, d: DecoderCommand, c: ContainerInfo): AsyncGenerator<Buffer> {
  const child = spawn(d.file, d.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let spawnError: Error | null = null;
  child.on('error', (e) => (spawnError ??= e));
  const exited = new Promise<number | null>((res) => child.on('close', (code, signal) => res(signal ? -1 : code)));
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 4096) stderr += b.toString('utf8');
  });
  child.stdin.on('error', () => undefined); // EPIPE: the program stopped reading; its exit status says why
  const pump = (async () => {
    try {
      for (let b = await input.read(); b; b = await input.read()) {
        if (child.stdin.destroyed) break;
        if (!child.stdin.write(b)) await new Promise<void>((res) => { child.stdin.once('drain', res); child.stdin.once('close', res); });
      }
    } finally {
      child.stdin.end();
    }
  })();
  let decoded = 0;
  let stoppedEarly = true;
  try {
    for await (const b of child.stdout) {
      decoded += (b as Buffer).length;
      yield b as Buffer;
    }
    stoppedEarly = false;
  } finally {
    if (stoppedEarly) child.kill();
    await pump.catch(() => undefined);
    if (stoppedEarly) await input.close();
  }
  const code = await exited;
  c.compressedSize = input.position;
  c.decodedSize = decoded;
  if (spawnError || code !== 0) {
    const last = stderr.trim().split('\n').pop() ?? '';
    const why = spawnError ? (spawnError as Error).message : `exit status ${code}`;
    const w = input.where(input.position);
    c.findings.push(finding('DECOMPRESSOR_FAILED', w.offset, `'${d.display}' failed (${why})${last ? `: ${last}` : ''}; ${decoded} bytes decoded before`, { file: w.file }));
  }
}
