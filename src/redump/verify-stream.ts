/**
 * Streaming verification for redump: exactly `verify`'s checks
 * (check/verify.ts verifySource) over a non-seekable source while the bytes
 * are being written, reporting every record along the way (for live vnode
 * counts). Without a whole-input hash verifySource does not drain the input
 * after a fatal error, so redump can stop the transfer at once.
 */
import { verifySource, type VerifyResult } from '../check/verify.js';
import type { DumpRecord } from '../format/types.js';
import type { ByteSource } from '../io/source.js';

export interface StreamVerifyOptions {
  /** Called with every record, in order, after the checker saw it. */
  onRecord?: (r: DumpRecord) => void;
  /** Reader buffer size (default 1 MiB). */
  bufferSize?: number;
}

/** Verify a dump from any source (closed afterwards); never throws for bad input, only for I/O errors. */
export function verifyStream(source: ByteSource, opts: StreamVerifyOptions = {}): Promise<VerifyResult> {
  return verifySource(source, { onRecord: opts.onRecord, bufferSize: opts.bufferSize });
}
