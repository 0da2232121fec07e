/**
 * Open any input as the dump stream it holds, recognised by content (sniff):
 * a raw dump (or anything unrecognised: the reader says what it is not) is
 * read as it is; gzip is decoded through zlib; bzip2, xz, zstd and compress
 * through the system's program or `--decompress-with CMD`; an Amanda header
 * block is skipped and what follows it decoded as its magic (or its `comp`
 * word) says, following CONT_FILENAME= through split holding-disk pieces.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { DumpError, ioError } from '../diagnostics/errors.js';
import { finding } from '../diagnostics/finding.js';
import type { ByteSource } from './byte-source.js';
import { requireDecoder, runDecoder, systemDecoder, userDecoder } from './command.js';
import { newContainer, type AmandaHeader, type Compression, type ContainerInfo } from './container.js';
import { FileSource } from './file.js';
import { gunzip } from './gzip.js';
import { RawInput, fileChunks } from './raw-input.js';
import { AMANDA_HEADER_SIZE, SNIFF_BYTES, compressionOfSuffix, parseAmandaHeader, sniff, type ContentKind, type Sniffed } from './sniff.js';
import { StreamSource } from './stream.js';

export interface InputOptions {
  /** A shell command that decodes the input (stdin to stdout), for any content that is not a raw dump. */
  decompressWith?: string;
  /** Decoded inputs: called with every decoded byte, in order (e.g. to hash the dump stream). */
  tap?: (chunk: Buffer) => void;
}

/** The first bytes of a file (up to SNIFF_BYTES) and what they are. */
export async function sniffPath(path: string): Promise<Sniffed & { size: number }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(e, path);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new DumpError('IO', 'is a directory', undefined, path);
    // A pipe or a device: reading would consume its bytes; it is read as it is (raw).
    if (!st.isFile()) return { kind: 'unknown', size: st.size };
    const b = Buffer.alloc(Math.min(SNIFF_BYTES, st.size));
    let got = 0;
    while (got < b.length) {
      const { bytesRead } = await fh.read(b, got, b.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return { ...sniff(b.subarray(0, got)), size: st.size };
  } catch (e) {
    throw ioError(e, path);
  } finally {
    await fh.close();
  }
}

const COMPRESSED: ReadonlySet<ContentKind> = new Set(['gzip', 'bzip2', 'xz', 'zstd', 'compress']);

/** Content that is read through a container (not as raw bytes). */
export function isContainer(s: Sniffed, opts: InputOptions = {}): boolean {
  if (s.kind === 'dump') return false;
  if (opts.decompressWith !== undefined) return true;
  return COMPRESSED.has(s.kind) || s.kind === 'amanda';
}

/** Decode `raw` as `compression`, into `c`. */
function decode(raw: RawInput, compression: Compression, c: ContainerInfo, name: string, opts: InputOptions): AsyncIterable<Buffer> {
  if (opts.decompressWith !== undefined) {
    c.compression = 'command';
    c.command = opts.decompressWith;
    return runDecoder(raw, userDecoder(opts.decompressWith), c);
  }
  if (compression === 'gzip') return gunzip(raw, c);
  if (compression === 'none') {
    return (async function* () {
      let n = 0;
      try {
        for (let b = await raw.read(1 << 20); b; b = await raw.read(1 << 20)) {
          n += b.length;
          yield b;
        }
        c.compressedSize = raw.position;
        c.decodedSize = n;
      } finally {
        await raw.close();
      }
    })();
  }
  const d = requireDecoder(compression, systemDecoder(compression), name);
  c.command = d.display;
  return runDecoder(raw, d, c);
}

/** Where CONT_FILENAME's piece is: as named, or beside the piece that names it. */
function findPiece(name: string, from: string): string | null {
  if (isAbsolute(name) && existsSync(name)) return name;
  const near = join(dirname(from), basename(name));
  if (existsSync(near)) return near;
  if (!isAbsolute(name) && existsSync(join(dirname(from), name))) return join(dirname(from), name);
  return null;
}

/** The data of an Amanda dump's pieces, each after its 32 KiB header, as one compressed stream. */
function amandaPieces(first: string, header: AmandaHeader, c: ContainerInfo): RawInput {
  let raw: RawInput | undefined;
  async function* chunks(): AsyncGenerator<Buffer> {
    let file = first;
    let h: AmandaHeader = header;
    let at = 0;
    const seen = new Set<string>([first]);
    for (;;) {
      for await (const b of fileChunks(file, AMANDA_HEADER_SIZE)) {
        at += b.length;
        yield b;
      }
      if (!h.contFilename) return;
      const next = findPiece(h.contFilename, file);
      if (!next || seen.has(next)) {
        c.findings.push(finding('AMANDA_PIECE_MISSING', 0, next ? `holding-disk piece ${h.contFilename} is named twice (a loop of CONT_FILENAME)` : `holding-disk piece ${h.contFilename} (CONT_FILENAME= in ${file}) is missing: the stream ends with ${file}`, { file: h.contFilename }));
        return;
      }
      const nh = await readAmandaHeader(next);
      if (!nh) {
        c.findings.push(finding('AMANDA_PIECE_MISSING', 0, `${next} (CONT_FILENAME= in ${file}) has no Amanda header: not the next piece`, { file: next }));
        return;
      }
      seen.add(next);
      c.pieces.push(next);
      raw!.placeAt(at, next, AMANDA_HEADER_SIZE);
      file = next;
      h = nh;
    }
  }
  raw = new RawInput(chunks(), { file: first, offset: AMANDA_HEADER_SIZE });
  return raw;
}

async function readAmandaHeader(path: string): Promise<AmandaHeader | null> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(AMANDA_HEADER_SIZE);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    return parseAmandaHeader(b.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** The compression of the stream after an Amanda header: its magic, else its `comp` word. */
function amandaCompression(s: Sniffed, path: string): Compression {
  const inner = s.inner ?? 'unknown';
  if (inner === 'dump') return 'none';
  if (COMPRESSED.has(inner)) return inner as Compression;
  const byWord = compressionOfSuffix(s.amanda!.comp);
  if (byWord === null) throw new DumpError('DECOMPRESSOR_MISSING', `Amanda header says comp ${s.amanda!.comp}: no decompressor known for it (give --decompress-with CMD)`, AMANDA_HEADER_SIZE, path);
  return byWord;
}

/**
 * The dump stream held by a file (or `-`, standard input). A raw dump or
 * unrecognised content comes back as a plain FileSource / StreamSource; a
 * container as a StreamSource whose `container` says what it was.
 */
export async function openInput(path: string, opts: InputOptions = {}): Promise<ByteSource> {
  if (path === '-') return openStdin(opts);
  const s = await sniffPath(path);
  if (!isContainer(s, opts)) return FileSource.open(path);
  let raw: RawInput;
  let compression: Compression;
  const c = newContainer('none', [path]);
  if (s.kind === 'amanda') {
    c.amanda = s.amanda;
    compression = amandaCompression(s, path);
    raw = amandaPieces(path, s.amanda!, c);
  } else {
    compression = s.kind === 'unknown' || s.kind === 'archive' || s.kind === 'amanda-other' || s.kind === 'dump' ? 'none' : (s.kind as Compression);
    raw = RawInput.file(path, 0);
  }
  c.compression = compression;
  const decoded = decode(raw, compression, c, path, opts);
  return new StreamSource(path, decoded, { container: c, tap: opts.tap });
}

/** Standard input: its first bytes are sniffed, then given back to whatever reads it. */
async function openStdin(opts: InputOptions): Promise<ByteSource> {
  const it = (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let n = 0;
  let done = false;
  while (n < SNIFF_BYTES) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    n += r.value.length;
  }
  const rest = done ? null : { [Symbol.asyncIterator]: () => it };
  return openStream('-', Buffer.concat(head), rest, opts);
}

/**
 * A stream that cannot be sniffed in place (standard input from a pipe):
 * `head` is its first bytes, already read (SNIFF_BYTES, fewer only when the
 * stream is that short), `rest` what follows (null: nothing). Sniffed like
 * a file; a raw dump or unknown content comes back as it is, a container
 * decoded (gzip through zlib, the others through their program or
 * `decompressWith`). An Amanda header's CONT_FILENAME= cannot be followed
 * from a stream: that is reported (AMANDA_PIECE_MISSING).
 */
export function openStream(name: string, head: Buffer, rest: AsyncIterable<Buffer> | null, opts: InputOptions = {}): ByteSource {
  const s = sniff(head.subarray(0, SNIFF_BYTES));
  async function* chunks(skip: number): AsyncGenerator<Buffer> {
    if (head.length > skip) yield head.subarray(skip);
    if (rest) for await (const b of rest) yield b;
  }
  if (!isContainer(s, opts)) return new StreamSource(name, chunks(0), { tap: opts.tap });
  const c = newContainer('none', [name]);
  let compression: Compression;
  let skip = 0;
  if (s.kind === 'amanda') {
    c.amanda = s.amanda;
    compression = amandaCompression(s, name);
    skip = AMANDA_HEADER_SIZE;
    if (s.amanda!.contFilename) c.findings.push(finding('AMANDA_PIECE_MISSING', 0, `${name === '-' ? 'standard input' : name} is one holding-disk piece; the next, ${s.amanda!.contFilename}, cannot be followed from a pipe`, { file: s.amanda!.contFilename }));
  } else {
    compression = COMPRESSED.has(s.kind) ? (s.kind as Compression) : 'none';
  }
  c.compression = compression;
  const raw = new RawInput(chunks(skip), { file: name, offset: skip });
  return new StreamSource(name, decode(raw, compression, c, name, opts), { container: c, tap: opts.tap });
}
