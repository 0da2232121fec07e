/** Exit codes, output helpers and error rendering shared by every command. */
import chalk from 'chalk';
import { setFlagsFromString } from 'node:v8';
import { DumpError } from '../format/errors.js';
import { isSystemError } from '../diagnostics/errors.js';

/** Documented exit codes. */
export const EXIT_OK = 0;
/** At least one dump is damaged / the operation found problems or failed its verification. */
export const EXIT_DAMAGED = 1;
/** Usage error, or input that cannot be used at all (not a dump, unreadable, truncated where a whole dump is needed). */
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

export interface Ctx {
  exitCode: number;
  /** --json was given (known once the arguments parsed): errors are then printed as a JSON document too. */
  json?: boolean;
}

/**
 * For commands whose memory grows with the dump (ls, inspect, extract,
 * verify, diagnose, simulate, redump, pack): V8 grows its heap less eagerly
 * (`--optimize-for-size`), so that the garbage a long stream of small
 * records leaves is collected before the heap is several times what is
 * live. Issue #17: on 300,000 files `extract --tar` 155 -> 112 MB peak RSS,
 * CPU time within the machine's noise.
 *
 * `reducer: false` leaves V8's memory reducer to start (or not) by itself:
 * for merge, whose columns are a few typed arrays (27 bytes a vnode), the
 * reducer's extra collections cost more than the dead buffers they free
 * (bench pair: 7% of the wall time; peak RSS 86-91 instead of 80-81 MB on
 * 300,000 files, 97-98 instead of 94-96 MB on a million vnodes).
 */
export function favourMemory(opts: { reducer?: boolean } = {}): void {
  setFlagsFromString('--optimize-for-size');
  setFlagsFromString(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  setFlagsFromString('--semi-space-growth-factor=1');
  if (opts.reducer !== false) startMemoryReducer();
}

let reducerStarted = false;

/**
 * V8 collects a dead ArrayBuffer that has reached the old generation only
 * at a mark-compact. Besides the mark-compacts a full heap asks for, its
 * "memory reducer" runs some while the program works, but it starts only
 * if the old generation grows by 1 MB before the first mark-compact (V8's
 * Heap::NotifyOldGenerationExpansion). Loading a hundred module files did
 * that by chance; the bundled CLI loads a quarter of that code, and without
 * the reducer diagnose of a million vnodes left old column buffers to the
 * end: 175 instead of 128 MB peak RSS in some runs. Small objects kept
 * alive across the scavenges their own allocation makes (3 MB: the older
 * ones reach the old generation) start it as before; they are garbage once
 * this returns.
 */
function startMemoryReducer(): void {
  if (reducerStarted) return;
  reducerStarted = true;
  const ballast: object[] = [];
  for (let i = 0; i < 131072; i++) ballast.push({ i, j: i, k: i });
}

/**
 * V8's young generation grows to two 16 MiB semispaces by default. The
 * maximum is read once, when the heap is set up: set at a command's start
 * it does not hold (ls of a million vnodes: scavenges of 16 MB young
 * generations in its walk). The growth factor is read at each growth: at 1
 * the young generation keeps the size it started with (1 MiB semispaces).
 * Issue #17, a million vnodes: ls 156 -> 127 MB peak RSS, the same CPU.
 * (`--max-semi-space-size` is kept for a V8 that reads it later.)
 */
const SEMI_SPACE_MB = 2;

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

export function err(line: string): void {
  process.stderr.write(line + '\n');
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

/** One line for any error; never a stack trace for input problems. */
export function describeError(e: unknown): string {
  if (e instanceof DumpError) return e.describe();
  if (e instanceof UsageError) return e.message;
  // A system error (ENOENT, EIO...) the library did not wrap says what it is; anything else is a bug.
  if (isSystemError(e) && typeof (e as Error).message === 'string') return (e as Error).message;
  return internalLine(e);
}

/**
 * An unexpected exception (a bug in codadump, not in its input) as one line:
 * what was thrown and the place it was thrown from, never the whole stack.
 */
export function internalLine(e: unknown): string {
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const stack = e instanceof Error && typeof e.stack === 'string' ? e.stack : '';
  const frame = /\n\s+at (?:[^\n]*\()?([^\s()]+:\d+:\d+)\)?/.exec(stack)?.[1];
  return `internal error: ${what.replace(/\s*\n\s*/g, ' ')}${frame ? ` (at ${frame})` : ''}; a bug in codadump, not in its input: please report it`;
}

/** An error as data: what `--json` prints on standard output when a command fails. */
export interface ErrorJson {
  error: { code: string; message: string; file?: string; offset?: number };
}

export function errorJson(e: unknown): ErrorJson {
  if (e instanceof DumpError) {
    return { error: { code: e.code, message: e.message, ...(e.file !== undefined ? { file: e.file } : {}), ...(e.offset !== undefined ? { offset: e.offset } : {}) } };
  }
  if (e instanceof UsageError) return { error: { code: 'USAGE', message: e.message } };
  const x = e as NodeJS.ErrnoException;
  if (isSystemError(x) && typeof x.message === 'string') {
    return { error: { code: 'IO', message: x.message, ...(typeof x.path === 'string' ? { file: x.path } : {}) } };
  }
  return { error: { code: 'INTERNAL', message: `internal error: ${x && typeof x.message === 'string' ? x.message : String(e)}` } };
}

/**
 * Whether the raw arguments ask for --json (the last of --json, --json=BOOL
 * and --no-json wins, as yargs decides): for errors raised before the
 * arguments parsed (unknown option, missing argument).
 */
export function jsonRequested(argv: readonly string[]): boolean {
  let json = false;
  for (const a of argv) {
    if (a === '--') break;
    if (a === '--json' || a === '--json=true') json = true;
    else if (a === '--no-json' || a === '--json=false') json = false;
  }
  return json;
}

/** Print one line for an error that ended a command; every such error is usage or unusable input. */
export function reportError(e: unknown): number {
  err(`codadump: ${chalk.red('error')}: ${describeError(e)}`);
  return EXIT_USAGE;
}

/** Parse a number given in hex (with or without 0x) for ids. */
export function parseHexId(s: string | number | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const str = String(s).trim();
  if (!/^(0x)?[0-9a-f]{1,8}$/i.test(str)) throw new UsageError(`${what} must be a 32-bit hex number, got '${str}'`);
  return parseInt(str.replace(/^0x/i, ''), 16);
}

export function hex8(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

const TYPE_CHAR: Record<number, string> = { 1: '-', 2: 'd', 3: 'l' };

export function modeString(type: number, mode: number): string {
  const rwx = (bits: number, special: number, ch: string): string => {
    const r = bits & 4 ? 'r' : '-';
    const w = bits & 2 ? 'w' : '-';
    const x = bits & 1;
    const s = special ? (x ? ch : ch.toUpperCase()) : x ? 'x' : '-';
    return r + w + s;
  };
  return (
    (TYPE_CHAR[type] ?? '?') +
    rwx((mode >> 6) & 7, mode & 0o4000, 's') +
    rwx((mode >> 3) & 7, mode & 0o2000, 's') +
    rwx(mode & 7, mode & 0o1000, 't')
  );
}

export function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

export { typeName } from '../format/types.js';
