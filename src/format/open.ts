/**
 * Convenience constructors: a reader over a path, `-` (stdin) or any stream.
 * Inputs are recognised by content (src/source/sniff.ts): gzip, Amanda
 * holding files and other compressed dumps are decoded on the way in.
 */
import type { ByteSource } from '../source/byte-source.js';
import { StreamSource, type StreamSourceOptions } from '../source/stream.js';
import { openInput, type InputOptions } from '../source/open.js';
import { DumpReader, type ReaderOptions } from './reader.js';

/** Open the dump stream a path (or `-`, standard input) holds. */
export async function openSource(path: string, opts: InputOptions = {}): Promise<ByteSource> {
  return openInput(path, opts);
}

export async function openDump(path: string, opts: ReaderOptions & InputOptions = {}): Promise<DumpReader> {
  return new DumpReader(await openInput(path, opts), opts);
}

export function dumpFromStream(
  name: string,
  input: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
  opts: ReaderOptions & StreamSourceOptions = {},
): DumpReader {
  return new DumpReader(new StreamSource(name, input, opts), opts);
}
