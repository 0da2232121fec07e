/**
 * The library's own error type. Every failure that input can cause is a
 * DumpError with a stable code and, where it concerns the dump's bytes, the
 * absolute byte offset. Nothing else should escape the library for bad input.
 */

export type ErrorCode =
  /** The input ended before a record was complete. */
  | 'TRUNCATED'
  /** The first bytes are not a dump header. */
  | 'NOT_A_DUMP'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  /** A structural tag where none of that kind may stand. */
  | 'UNEXPECTED_TAG'
  /** A field tag the record does not define: its length is unknown, so it cannot be skipped. */
  | 'UNKNOWN_FIELD'
  /** A length or count field out of its sane range. */
  | 'BAD_LENGTH'
  | 'BAD_VALUE'
  /** Bytes after the end marker. */
  | 'TRAILING_DATA'
  /** A chunk arrived with a 32-bit offset that does not match the writer's position. */
  | 'CHUNK_OFFSET'
  /** File system trouble: unreadable input, unwritable output. */
  | 'IO'
  | 'EXISTS'
  | 'USAGE'
  | 'COMMAND_FAILED'
  | 'MERGE_REFUSED'
  | 'UNSAFE_PATH';

export class DumpError extends Error {
  readonly code: ErrorCode;
  /** Absolute byte offset in the dump stream (or file) the error concerns, if any. */
  readonly offset: number | undefined;
  /** The file the error concerns, when known. */
  file: string | undefined;

  constructor(code: ErrorCode, message: string, offset?: number, file?: string) {
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
}

export function isDumpError(e: unknown): e is DumpError {
  return e instanceof DumpError;
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
