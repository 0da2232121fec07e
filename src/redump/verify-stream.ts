/**
 * Streaming verification for redump: the same checks as `verify`
 * (DumpReader + StructureChecker, result in VerifyResult form, verdict by
 * verdictOf), run over a non-seekable source while the bytes are being
 * written. It differs from check/verify.ts's verifySource only in what it
 * reports along the way (every record, for live vnode counts) and in not
 * draining the input after a fatal error (redump stops the transfer then).
 * test/redump/verify-stream.test.ts holds the two to identical results.
 */
import { StructureChecker } from '../check/checker.js';
import { verdictOf, type Problem } from '../check/problems.js';
import type { VerifyResult } from '../check/verify.js';
import { DumpError } from '../format/errors.js';
import { DumpReader } from '../format/reader.js';
import type { DumpRecord } from '../format/types.js';
import type { ByteSource } from '../io/source.js';

export interface StreamVerifyOptions {
  /** Called with every record, in order, after the checker saw it. */
  onRecord?: (r: DumpRecord) => void;
  /** Reader buffer size (default 1 MiB). */
  bufferSize?: number;
}

/** Verify a dump from any source (closed afterwards); never throws for bad input, only for I/O errors. */
export async function verifyStream(source: ByteSource, opts: StreamVerifyOptions = {}): Promise<VerifyResult> {
  const reader = new DumpReader(source, { bufferSize: opts.bufferSize });
  const checker = new StructureChecker();
  let completed = false;
  try {
    for (;;) {
      const r = await reader.next();
      if (!r) break;
      checker.record(r);
      opts.onRecord?.(r);
    }
    completed = true;
  } catch (e) {
    if (!(e instanceof DumpError) || e.code === 'IO') throw e;
    const fatal: Problem = { code: e.code, severity: 'error', offset: e.offset ?? reader.position, message: e.message };
    checker.problems.push(fatal);
  } finally {
    await reader.close();
  }
  if (completed && !checker.sawEnd) {
    checker.add('TRUNCATED', 'error', reader.position, 'the dump has no end marker');
  }
  checker.finish(completed && checker.sawEnd);
  const h = checker.header;
  return {
    path: source.name,
    verdict: verdictOf(checker.problems),
    size: source.size ?? null,
    streamLength: checker.sawEnd ? checker.streamLength : null,
    bytesChecked: source.size ?? reader.position,
    problems: checker.problems.sort((a, b) => a.offset - b.offset),
    suppressed: Object.fromEntries(checker.suppressed),
    header: h ? { volumeId: h.volumeId, parentId: h.parentId, name: h.name, incremental: h.incremental, backupDate: h.backupDate } : null,
    counts: {
      ...checker.countVnodes(),
      removed: (checker.index.large?.removed ?? 0) + (checker.index.small?.removed ?? 0),
    },
  };
}
