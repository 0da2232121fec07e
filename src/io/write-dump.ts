/** Write a stream of DumpItems to an output file atomically. */
import type { DumpItem } from '../format/items.js';
import type { AtomicOutputOptions } from './atomic-output.js';
import { openDumpOutput, wantsGzip } from './gzip-output.js';

export interface WriteResult {
  path: string;
  /** Dump bytes (uncompressed). */
  bytes: number;
  /** Written as gzip (asked for, or the name ends in .gz). */
  gzip: boolean;
}

/**
 * Write every item to `path` through a temporary file; the file appears
 * under its name only when the whole stream was written and flushed. On any
 * error the temporary file is removed and the error rethrown.
 */
export async function writeDumpFile(
  path: string,
  items: AsyncIterable<DumpItem>,
  opts: AtomicOutputOptions & { gzip?: boolean } = {},
): Promise<WriteResult> {
  const out = openDumpOutput(path, opts);
  try {
    for await (const it of items) out.write(it.data);
    const bytes = out.bytesWritten;
    out.commit();
    return { path, bytes, gzip: wantsGzip(path, opts.gzip) };
  } catch (e) {
    out.abort();
    throw e;
  }
}

/** Collect a stream of items into one Buffer (tests, small dumps). */
export async function collectItems(items: AsyncIterable<DumpItem>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const it of items) parts.push(Buffer.from(it.data));
  return Buffer.concat(parts);
}
