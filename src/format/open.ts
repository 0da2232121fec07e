/** Convenience constructors: a reader over a path, `-` (stdin) or any stream. */
import { FileSource, StreamSource, type ByteSource, type StreamSourceOptions } from '../io/source.js';
import { DumpReader, type ReaderOptions } from './reader.js';

/** Open a source for a path, or standard input for `-`. */
export async function openSource(path: string, opts: StreamSourceOptions = {}): Promise<ByteSource> {
  if (path === '-') return new StreamSource('-', process.stdin, opts);
  return FileSource.open(path);
}

export async function openDump(path: string, opts: ReaderOptions = {}): Promise<DumpReader> {
  return new DumpReader(await openSource(path), opts);
}

export function dumpFromStream(
  name: string,
  input: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
  opts: ReaderOptions & StreamSourceOptions = {},
): DumpReader {
  return new DumpReader(new StreamSource(name, input, opts), opts);
}
