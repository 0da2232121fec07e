/**
 * Verify one dump end to end: structure, declared against real sizes,
 * directories, access lists and cross references (FORMAT.md), optionally
 * hashing every byte (--deep).
 */
import { createHash, hash as hashOnce, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { DumpError } from '../format/errors.js';
import { DumpReader } from '../format/reader.js';
import type { ByteSource } from '../source/byte-source.js';
import type { ContainerInfo } from '../source/container.js';
import { FileSource } from '../source/file.js';
import { isContainer, openInput, sniffPath } from '../source/open.js';
import { StreamSource } from '../source/stream.js';
import type { FileSystem } from '../source/fs.js';
import type { DumpRecord } from '../format/types.js';
import { StructureChecker } from './checker.js';
import { verdictOf, type Problem, type Verdict } from './problems.js';

export interface VerifyOptions {
  /** Read every byte: SHA-256 of the whole input and of each file's data. */
  deep?: boolean;
  /** Called now and then with the absolute position reached. */
  onProgress?: (position: number) => void;
  /** Reader buffer size (default 1 MiB). */
  bufferSize?: number;
  /** With `deep`: keep a SHA-256 per file in `fileDigests` (default true; costs memory per vnode). */
  fileDigests?: boolean;
  /** Keep the `vnode.uniquifier` of every vnode record in `vnodes` (to compare replicas). */
  vnodeKeys?: boolean;
  /** Called with every record, in order, after the checker saw it. */
  onRecord?: (r: DumpRecord) => void;
  /** The checker to feed (default a new one): the caller reads its tables afterwards (repair, issue #17). */
  checker?: StructureChecker;
  /** The file-system seam for reading a file (default node:fs). */
  fs?: Partial<FileSystem>;
  /** A shell command that decodes inputs that are not raw dumps (stdin to stdout). */
  decompressWith?: string;
}

export interface VerifyResult {
  path: string;
  verdict: Verdict;
  /** File size, when the input is a file; for a compressed input, the decoded dump stream's size. */
  size: number | null;
  /** What the dump was decoded from (gzip, Amanda, ...), with the container's own findings among `problems`. */
  container?: ContainerInfo;
  /** Length of the dump stream through its end marker, when it was reached. */
  streamLength: number | null;
  /** Bytes actually read or accounted for (the position reached). */
  bytesChecked: number;
  problems: Problem[];
  /** Problems beyond the per-code cap, counted by code. */
  suppressed: Record<string, number>;
  header: { volumeId: number; parentId: number; name: string; incremental: number; backupDate: number; oldest: number; latest: number } | null;
  /** The volume disk data's group id (`g`): the replicated volume's id, 0 for a volume that is not replicated; null without volume data. */
  groupId: number | null;
  counts: { directories: number; files: number; removed: number };
  /** --deep: SHA-256 of every byte of the input. */
  sha256?: string;
  /** --deep: SHA-256 of each file's data, by `vnode.uniquifier`. */
  fileDigests?: Map<string, string>;
  /** With `vnodeKeys`: every vnode record's `vnode.uniquifier`, in order. */
  vnodes?: string[];
}

const PROGRESS_EVERY = 4 << 20;

/** Verify a dump read from any source. The source is closed afterwards. */
export async function verifySource(source: ByteSource, opts: VerifyOptions = {}, wholeHash?: Hash): Promise<VerifyResult> {
  const reader = new DumpReader(source, { bufferSize: opts.bufferSize });
  const checker = opts.checker ?? new StructureChecker();
  const digests = opts.deep && opts.fileDigests !== false ? new Map<string, string>() : undefined;
  const keys = opts.vnodeKeys ? ([] as string[]) : undefined;
  let completed = false;
  let lastProgress = 0;
  const container = source.container;
  try {
    try {
      for (;;) {
        const r = reader.nextBuffered() ?? (await reader.next());
        if (!r) break;
        checker.record(r);
        opts.onRecord?.(r);
        if (keys && r.kind === 'vnode') keys.push(`${r.vnode}.${r.unique}`);
        if (digests && r.kind === 'vnode' && r.data.kind === 'filedata') {
          const whole = reader.bufferedFileData(); // most files: no generator, no Hash object
          if (whole) digests.set(`${r.vnode}.${r.unique}`, hashOnce('sha256', whole));
          else {
            const h = createHash('sha256');
            for await (const piece of reader.fileData()) h.update(piece);
            digests.set(`${r.vnode}.${r.unique}`, h.digest('hex'));
          }
        }
        if (opts.onProgress && reader.position - lastProgress >= PROGRESS_EVERY) {
          lastProgress = reader.position;
          opts.onProgress(lastProgress);
        }
      }
      completed = true;
      // A file source's tap has not seen the bytes the reader did not need to read (trailing data).
      if (wholeHash && source instanceof FileSource) await source.drain();
    } catch (e) {
      if (!(e instanceof DumpError)) throw e;
      if (e.code === 'IO' || e.code === 'DECOMPRESSOR_MISSING' || e.code === 'AMANDA_ORPHAN_PIECE') throw e;
      const fatal: Problem = { code: e.code, severity: 'error', offset: e.offset ?? reader.position, message: e.message };
      checker.problems.push(fatal);
      // The whole-input hash covers every byte, also after the point where parsing stopped.
      // A container is read to its end too (its trailer is checked), unless it holds no dump at all.
      const drain = wholeHash || (container && e.code !== 'NOT_A_DUMP');
      if (drain && (source instanceof StreamSource || source instanceof FileSource)) await source.drain();
    }
  } finally {
    await noteChangedSize(source, checker).finally(() => reader.close());
  }
  if (container) checker.problems.push(...container.findings);
  if (completed && !checker.sawEnd) {
    checker.add('TRUNCATED', 'error', reader.position, 'the dump has no end marker');
  }
  checker.finish(completed && checker.sawEnd);
  opts.onProgress?.(reader.position);
  const h = checker.header;
  const result: VerifyResult = {
    path: source.name,
    verdict: verdictOf(checker.problems),
    size: container ? container.decodedSize : source.size ?? null,
    ...(container ? { container } : {}),
    streamLength: checker.sawEnd ? checker.streamLength : null,
    bytesChecked: container ? container.compressedSize : source.size ?? reader.position,
    problems: checker.problems.sort((a, b) => a.offset - b.offset),
    suppressed: Object.fromEntries(checker.suppressed),
    header: h ? { volumeId: h.volumeId, parentId: h.parentId, name: h.name, incremental: h.incremental, backupDate: h.backupDate, oldest: h.oldest, latest: h.latest } : null,
    groupId: checker.volume ? checker.volume.groupId : null,
    counts: {
      ...checker.countVnodes(),
      removed: (checker.index.large?.removed ?? 0) + (checker.index.small?.removed ?? 0),
    },
  };
  if (wholeHash) result.sha256 = wholeHash.digest('hex');
  if (digests) result.fileDigests = digests;
  if (keys) result.vnodes = keys;
  return result;
}

/**
 * A file that grew or shrank while it was read (a dump still being
 * written, or rotated away): what was read is not one consistent file.
 */
async function noteChangedSize(source: ByteSource, checker: StructureChecker): Promise<void> {
  if (!(source instanceof FileSource) || !source.regular) return;
  let now: number;
  try {
    now = await source.currentSize();
  } catch {
    return; // the read itself will have said what went wrong
  }
  if (now === source.size) return;
  const how = now > source.size ? 'grew' : 'shrank';
  checker.add('INPUT_CHANGED', 'error', Math.min(now, source.size), `the file ${how} from ${source.size} to ${now} bytes while it was read: verify it again once nothing writes it`);
}

/**
 * Verify a dump file (or `-` for standard input). Compressed inputs and
 * Amanda holding files are decoded on the way (src/source/open.ts); offsets
 * are then in the decoded dump stream, and --deep hashes the dump stream.
 */
export async function verifyFile(path: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  if (path === '-' || isContainer(await sniffPath(path), opts)) {
    // Deep mode reads every byte in order, hashing as it goes.
    const hash = opts.deep ? createHash('sha256') : undefined;
    const src = await openInput(path, { tap: hash ? (b) => hash.update(b) : undefined, decompressWith: opts.decompressWith });
    return verifySource(src, opts, hash);
  }
  if (opts.deep) {
    // Positional reads (read ahead, no stream copies); the tap hashes every byte once, in order.
    const hash = createHash('sha256');
    const file = await FileSource.open(path, { tap: (b) => hash.update(b), fs: opts.fs }); // clear error for a missing or unreadable file
    if (file.regular) return verifySource(file, opts, hash);
    // A pipe or a device: read it as a stream.
    const size = file.size;
    await file.close();
    const src = new StreamSource(path, createReadStream(path, { highWaterMark: 1 << 20 }), { tap: (b) => hash.update(b), size });
    return verifySource(src, opts, hash);
  }
  return verifySource(await FileSource.open(path, { fs: opts.fs }), opts);
}
