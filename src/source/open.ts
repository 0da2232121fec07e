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
import { dumpName, firstPieceOf, isContinuation, readAmandaHeader, splitPart, splitParts } from './amanda.js';
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

/**
 * The data of a dump Amanda split into SPLIT_FILE parts, each after its
 * 32 KiB header, joined in part order as one compressed stream. A part no
 * file beside the first holds ends the stream there, reported by number.
 */
function splitPieces(parts: { n: number; path: string | null }[], header: AmandaHeader, total: number | null, c: ContainerInfo): RawInput {
  let raw: RawInput | undefined;
  const first = parts[0].path!;
  async function* chunks(): AsyncGenerator<Buffer> {
    let at = 0;
    let last = first;
    let lastEnd = AMANDA_HEADER_SIZE;
    for (const [i, part] of parts.entries()) {
      if (part.path === null) {
        // At the end of the last part read: where the stream stops.
        c.findings.push(finding('AMANDA_PIECE_MISSING', lastEnd, `part ${part.n}/${total ?? '?'} of the split dump ${dumpName(header)} (SPLIT_FILE) is missing: no file beside ${first} holds it; the stream ends with ${last}`, { file: last }));
        return;
      }
      lastEnd = AMANDA_HEADER_SIZE;
      if (i > 0) {
        c.pieces.push(part.path);
        raw!.placeAt(at, part.path, AMANDA_HEADER_SIZE);
      }
      for await (const b of fileChunks(part.path, AMANDA_HEADER_SIZE)) {
        at += b.length;
        lastEnd += b.length;
        yield b;
      }
      last = part.path;
    }
  }
  raw = new RawInput(chunks(), { file: first, offset: AMANDA_HEADER_SIZE });
  return raw;
}

/** A continuation piece read alone: AMANDA_ORPHAN_PIECE, naming the piece its dump starts with when that is beside it. */
function orphan(h: AmandaHeader, name: string, first: string | null): DumpError {
  const p = splitPart(h);
  const what = p ? `part ${p.n}/${p.total ?? '?'} of a split dump (SPLIT_FILE)` : 'a continuation piece of a split holding-disk dump (CONT_FILE)';
  const where = first ? `its first piece is ${first}: read that` : name === '-' ? 'give its first piece' : 'the piece it continues is not beside it';
  return new DumpError('AMANDA_ORPHAN_PIECE', `${what} of ${dumpName(h)}: its data starts inside the compressed stream and cannot be read alone; ${where}`, 0, name);
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
    const h = s.amanda!;
    if (isContinuation(h)) throw orphan(h, path, await firstPieceOf(path, h));
    c.amanda = h;
    compression = amandaCompression(s, path);
    const p = splitPart(h);
    raw = p ? splitPieces(await splitParts(path, h), h, p.total, c) : amandaPieces(path, h, c);
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
    const h = s.amanda!;
    if (isContinuation(h)) throw orphan(h, name, null);
    c.amanda = h;
    compression = amandaCompression(s, name);
    skip = AMANDA_HEADER_SIZE;
    const who = name === '-' ? 'standard input' : name;
    if (h.contFilename) c.findings.push(finding('AMANDA_PIECE_MISSING', 0, `${who} is one holding-disk piece; the next, ${h.contFilename}, cannot be followed from a pipe`, { file: h.contFilename }));
    const p = splitPart(h);
    if (p && p.total !== 1) c.findings.push(finding('AMANDA_PIECE_MISSING', 0, `${who} is part 1/${p.total ?? '?'} of the split dump ${dumpName(h)}; the other parts cannot be found from a pipe`, { file: 'part 2' }));
  } else {
    compression = COMPRESSED.has(s.kind) ? (s.kind as Compression) : 'none';
  }
  c.compression = compression;
  const raw = new RawInput(chunks(skip), { file: name, offset: skip });
  return new StreamSource(name, decode(raw, compression, c, name, opts), { container: c, tap: opts.tap });
}
