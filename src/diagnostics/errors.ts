/**
 * A fatal finding. Every failure that input can cause is a DumpError: a
 * finding (a stable code from the one vocabulary, and where it concerns the
 * dump's bytes the absolute byte offset) that stops the work. Nothing else
 * should escape the library for bad input.
 */
import type { Code } from './codes.js';
import { finding, type Finding } from './finding.js';

/** The codes a DumpError may carry (every code; kept as a name for readers). */
export type ErrorCode = Code;

export class DumpError extends Error {
  readonly code: Code;
  /** Absolute byte offset in the dump stream (or file) the error concerns, if any. */
  readonly offset: number | undefined;
  /** The file the error concerns, when known. */
  file: string | undefined;

  constructor(code: Code, message: string, offset?: number, file?: string) {
    super(message);
    this.name = 'DumpError';
    this.code = code;
    this.offset = offset;
    this.file = file;
  }

  /** One line: `FILE: at byte N: message`. */
  describe(): string {
    const where = this.offset !== undefined ? `at byte ${this.offset}: ` : '';
    return `${this.file ?? '<input>'}: ${where}${this.message}`;
  }

  /** The same failure as a finding (severity error; offset 0 when it concerns no byte). */
  toFinding(): Finding {
    return finding(this.code, this.offset ?? 0, this.message, { severity: 'error', ...(this.file !== undefined ? { file: this.file } : {}) });
  }
}

export function isDumpError(e: unknown): e is DumpError {
  return e instanceof DumpError;
}

/**
 * A Node.js system error (an errno code such as ENOENT, EIO, ENOSPC): what
 * the world does to a read or a write. Anything else thrown by a file-system
 * call (a TypeError...) is a bug, to be reported as one (INTERNAL), not
 * disguised as an I/O error.
 */
export function isSystemError(e: unknown): boolean {
  const x = e as NodeJS.ErrnoException | null | undefined;
  return typeof x?.code === 'string' && /^E[A-Z0-9]+$/.test(x.code);
}

/** Wrap a Node.js system error (ENOENT, EACCES, ENOSPC...) into a DumpError. */
export function ioError(e: unknown, file: string, what = 'cannot read'): DumpError {
  if (e instanceof DumpError) {
    e.file ??= file;
    return e;
  }
  const err = e as NodeJS.ErrnoException;
  const detail = err && err.code ? `${err.code}${err.message ? ` (${err.message.replace(/^[A-Z]+: /, '')})` : ''}` : String(e);
  return new DumpError('IO', `${what}: ${detail}`, undefined, file);
}
