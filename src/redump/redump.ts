/**
 * `redump`: regenerate a dump file through a correct 64-bit append writer,
 * verifying the stream while it is written.
 *
 *   bytes -> ServerChunker (<= 512,000-byte chunks with 32-bit offsets, as a
 *            Coda server sends them; standard input is read straight into
 *            512,000-byte ring slots instead, which are the same chunks)
 *         -> AppendWriter (checks each offset32 against its true position
 *            mod 2^32; never seeks)
 *         -> RingWriter: a ring of slots shared with two worker threads,
 *            one appending each slot to AtomicOutput's temporary file (and
 *            checking the offset again), one hashing it (SHA-256)
 *            (with `gzip`, the write worker feeds the slots, in order, to
 *            one zlib gzip stream and appends what it gives back)
 *         -> AtomicOutput (fsync and rename only after the stream verified;
 *            a gzip output is first read back through the decoder: it
 *            must give the same bytes, the same SHA-256)
 *   and each slot -> ByteQueue -> StreamSource -> DumpReader +
 *            StructureChecker (the checks of `verify`) on this thread; a
 *            slot is reused only once all three are done with it, and a
 *            verifier that gives up stops the transfer.
 *
 * Failure policy: "removed". Whenever the result is not ok or an error is
 * thrown, the temporary file is removed and nothing appears under (or
 * replaces) OUT.
 */
import { performance } from 'node:perf_hooks';
import type { VerifyResult } from '../check/verify.js';
import type { Verdict } from '../check/problems.js';
import { DumpError, ioError } from '../format/errors.js';
import type { DumpItem } from '../format/items.js';
import { AppendWriter } from '../io/append-writer.js';
import { AtomicOutput } from '../io/atomic-output.js';
import { RingWriter, readSlots, type RingWriterResult } from '../io/ring-writer.js';
import { chunkStream, type ChunkItem } from '../io/chunker.js';
import { PIPE_BYTES, enlargePipe, type PipeCapacity } from '../io/pipe.js';
import { StreamSource } from '../io/source.js';
import { packTree, type PackOptions } from '../pack/pack.js';
import { walkTree } from '../pack/tree.js';
import { appendChunks, emptyStats, type AppendStats, type ReceivedChunk32 } from './append.js';
import { CommandInput, describeStatus, type CommandStatus } from './exec.js';
import { ByteQueue } from './queue.js';
import { verifyStream } from './verify-stream.js';
import { gunzip } from '../source/gzip.js';
import { RawInput } from '../source/raw-input.js';
import { newContainer } from '../source/container.js';
import { createHash } from 'node:crypto';

/** Raw dump bytes (stdin, a pipe, any stream), or one of the other inputs. */
export type RedumpSource =
  | AsyncIterable<Buffer | Uint8Array | string>
  /**
   * An open file descriptor holding raw dump bytes, read with blocking reads
   * straight into the writer's ring (the fastest input: `redump -` passes
   * standard input as `{ fd: 0 }`). Read to its end; not closed. `head`:
   * bytes already read from it (to sniff what it is), which come first.
   */
  | { fd: number; head?: Buffer }
  /** A shell command (run with /bin/sh -c) that writes the dump to its standard output. */
  | { exec: string }
  /** A directory tree, dumped as `pack` does. */
  | { tree: string; pack?: PackOptions }
  /** A dump as items (record bytes and file data), e.g. from packTree or syntheticDump. */
  | { items: AsyncIterable<DumpItem> | Iterable<DumpItem> }
  /**
   * Chunks as received from a server: used as they are (no re-chunking),
   * offsets checked. Each chunk's Buffer is kept until verified: the
   * producer must not reuse it.
   */
  | { chunks: AsyncIterable<ReceivedChunk32> | Iterable<ReceivedChunk32> };

export interface RedumpProgress {
  /** Bytes appended to the output so far. */
  bytes: number;
  /** Vnode records verified so far. */
  vnodes: number;
  seconds: number;
}

export interface RedumpOptions {
  /** Replace an existing OUT (only once the new dump verified). */
  force?: boolean;
  /** Name of the input in messages (default: `-`, the command, the directory, `items`, `chunks`). */
  name?: string;
  /** Called after every chunk written and every vnode verified (throttle it yourself). */
  onProgress?: (p: RedumpProgress) => void;
  /** Each chunk as it is appended, with its true 64-bit position (tests tee it into a SimulatedReceiver). */
  onChunk?: (chunk: ReceivedChunk32, position: number) => void;
  /** --exec: each piece of the command's standard error. */
  onStderr?: (chunk: Buffer) => void;
  /**
   * Write with O_DIRECT where the file system allows it (default true): the
   * dump bypasses the page cache. false: ordinary buffered writes.
   */
  direct?: boolean;
  /**
   * Internal/test option: write the output sparse (all-zero 64 KiB blocks
   * become holes). The file reads back identical.
   */
  sparse?: boolean;
  /**
   * Test hook: make the output fail with ENOSPC once this many bytes would
   * have been stored (AtomicOutput.failAfterBytes). The library reads no
   * environment: the command line passes CODADUMP_TEST_FAIL_AFTER_BYTES
   * here (cli/commands/redump.ts).
   */
  failAfterBytes?: number;
  /** Compute the SHA-256 on a worker thread (default true); false hashes on the calling thread. */
  hashInWorker?: boolean;
  /**
   * `{ fd }` input that is a pipe: grow the pipe's buffer to this many bytes
   * before reading it (default PIPE_BYTES, 1 MiB, capped by the system's
   * pipe-max-size; see io/pipe.ts). 0 leaves the pipe as it is.
   */
  pipeBytes?: number;
  /** Ask for transparent huge pages for the writer's ring (default true; see RingWriterOptions.hugePages). */
  hugePages?: boolean;
  /**
   * Write OUT as one gzip stream (level 6 unless given). No direct I/O and
   * no holes then; the dump is still verified as it streams, and the file
   * is read back through the decoder before it is committed.
   */
  gzip?: boolean | { level?: number };
}

/** A gzip output, read back before the commit. */
export interface RedumpGzip {
  /** Compressed bytes (the size of OUT). */
  compressedBytes: number;
  /** The file, decoded again, gave exactly the bytes written (size and SHA-256). */
  readBack: boolean;
}

export interface RedumpFailure {
  /** `verify`: the stream did not verify; `command`: the dump command failed; `gzip`: the gzip output did not decode back to the dump. */
  reason: 'verify' | 'command' | 'gzip';
  message: string;
}

export interface RedumpResult {
  /** True when the dump verified ok (and the command, if any, exited 0): OUT now holds it. */
  ok: boolean;
  /** The final path. */
  path: string;
  /** True when OUT was written; false means nothing was left under OUT. */
  committed: boolean;
  /** The input as named in messages. */
  input: string;
  verdict: Verdict;
  /** Bytes appended (and, when committed, the size of OUT). */
  bytes: number;
  /** SHA-256 of the bytes appended (hex). */
  sha256: string;
  /** Wall time from start to the rename (or the failure), seconds. */
  seconds: number;
  /** bytes / 10^6 / seconds. */
  mbPerSecond: number;
  chunks: AppendStats;
  /** True when the output was written with O_DIRECT (see RedumpOptions.direct). */
  directIo: boolean;
  /** Set when OUT is gzip (RedumpOptions.gzip). `bytes` and `sha256` are the dump's, uncompressed. */
  gzip?: RedumpGzip;
  /** `{ fd }` input that is a pipe: its capacity before and after redump enlarged it (see RedumpOptions.pipeBytes). */
  inputPipe?: PipeCapacity;
  /** The streaming verification, as `verify` reports it. */
  verify: VerifyResult;
  /** --exec: how the command ended. */
  command?: CommandStatus;
  /** --tree: entries that cannot be represented (devices, sockets, fifos). */
  skipped?: string[];
  failure?: RedumpFailure;
}

const EMPTY = Buffer.alloc(0);

/**
 * Slots in the writer's ring: 16 of 512,000 bytes (8 MB; the ring's
 * default is 32). Issue #17: redump of a million vnodes peaked at 162 to
 * 165 MB with 32 slots; the throughput with 16 was measured the same on the
 * bench dumps (docs/performance-17.md, branch mem1m2).
 */
const RING_SLOTS = 16;

/** DumpItems as chunker input: file data in server block pieces, each file's data closed before the next record. */
export async function* itemsToChunkItems(items: AsyncIterable<DumpItem> | Iterable<DumpItem>): AsyncGenerator<ChunkItem> {
  let inFile = false;
  for await (const it of items) {
    if (it.kind === 'filedata') {
      inFile = true;
      yield { kind: 'filedata', data: it.data, more: true };
    } else {
      if (inFile) {
        inFile = false;
        yield { kind: 'filedata', data: EMPTY, more: false };
      }
      yield { kind: 'item', data: it.data };
    }
  }
  if (inFile) yield { kind: 'filedata', data: EMPTY, more: false };
}

/** `verdict: CODE at byte N: message` for the first error of a verification. */
export function describeVerifyFailure(v: VerifyResult): string {
  const first = v.problems.find((p) => p.severity === 'error');
  return first ? `${v.verdict}: ${first.code} at byte ${first.offset}: ${first.message}` : v.verdict;
}

/** Internal marker: the writing side failed, the verifier's view no longer matters. */
class PumpAborted extends Error {}

/**
 * Regenerate a dump into `out`. Resolves with a RedumpResult: `ok` (and
 * OUT written) only when the stream ended with a correct end marker and no
 * verification error, and the dump command (if any) exited 0; otherwise
 * `ok: false`, `failure` says why, and nothing is under OUT. Rejects with
 * DumpError for what stops the transfer itself: 'EXISTS' (OUT exists, no
 * `force`; checked before anything runs), 'IO' (cannot read the input,
 * cannot write the output: disk full, ...), 'CHUNK_OFFSET' (a received
 * chunk's 32-bit offset does not match the position), 'USAGE',
 * 'COMMAND_FAILED' (cannot start the command). OUT is then untouched and
 * the temporary file removed.
 */
export async function redump(source: RedumpSource, out: string, opts: RedumpOptions = {}): Promise<RedumpResult> {
  const t0 = performance.now();
  const failAfterBytes = opts.failAfterBytes;
  // Refuses an existing OUT (without force) before any command runs.
  const output = new AtomicOutput(out, { force: opts.force ?? false, bufferSize: 0 });
  let command: CommandInput | undefined;
  let ring: RingWriter | undefined;
  let skipped: string[] | undefined;
  let inputPipe: PipeCapacity | undefined;
  try {
    // The verifier reads the ring's slots as they are published; each slot
    // is released only once it has read all of it (whenDrained), or stopped.
    const queue = new ByteQueue(Number.MAX_SAFE_INTEGER);
    let verifyDone = false;
    let verifySettled: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (verifySettled = resolve));
    const gzip = opts.gzip === undefined || opts.gzip === false ? undefined : { level: opts.gzip === true ? undefined : opts.gzip.level };
    ring = new RingWriter(output, {
      slots: RING_SLOTS,
      gzip,
      sparse: opts.sparse ?? false,
      failAfterBytes,
      direct: opts.direct ?? true,
      hashInWorker: opts.hashInWorker ?? true,
      hugePages: opts.hugePages ?? true,
      onSlot: (view) => {
        if (verifyDone) return undefined;
        queue.push(view);
        return Promise.race([queue.whenDrained(), settled]);
      },
    });
    const theRing = ring;

    let name: string;
    let chunks: AsyncIterable<ReceivedChunk32> | Iterable<ReceivedChunk32>;
    // Raw bytes are cut into slots of the server's chunk size: those are its chunks.
    if ('fd' in source) {
      name = opts.name ?? '-';
      const pipeBytes = opts.pipeBytes ?? PIPE_BYTES;
      if (pipeBytes > 0) inputPipe = enlargePipe(source.fd, pipeBytes);
      chunks = readSlots(theRing, source.fd, { name, head: source.head });
    } else if ('exec' in source) {
      name = opts.name ?? source.exec;
      command = new CommandInput(source.exec, { onStderr: opts.onStderr });
      chunks = readSlots(theRing, command.stdout(), { name });
    } else if ('tree' in source) {
      name = opts.name ?? source.tree;
      const layout = await walkTree(source.tree);
      skipped = layout.skipped;
      chunks = chunkStream(itemsToChunkItems(packTree(source.tree, source.pack ?? {}, layout)));
    } else if ('items' in source) {
      name = opts.name ?? 'items';
      chunks = chunkStream(itemsToChunkItems(source.items));
    } else if ('chunks' in source) {
      name = opts.name ?? 'chunks';
      chunks = source.chunks;
    } else {
      name = opts.name ?? '-';
      chunks = readSlots(theRing, source, { name });
    }

    const writer = new AppendWriter({ write: (b: Buffer) => theRing.write(b) }, { file: out });
    const stats = emptyStats();
    let vnodes = 0;
    const progress = opts.onProgress
      ? () => opts.onProgress!({ bytes: writer.position, vnodes, seconds: (performance.now() - t0) / 1000 })
      : undefined;

    const verifying = verifyStream(new StreamSource(name, queue), {
      onRecord: (r) => {
        if (r.kind === 'vnode') {
          vnodes++;
          progress?.();
        }
      },
    }).finally(() => {
      verifyDone = true;
      verifySettled();
    });
    let stoppedEarly = false;
    const pumping = appendChunks(chunks, writer, {
      // The verifier gave up before the end: the stream is bad, stop reading it.
      stop: () => (stoppedEarly = queue.abandoned || verifyDone),
      onChunk: (c, position) => {
        opts.onChunk?.(c, position);
        progress?.();
      },
    }, stats).then(
      async (s) => {
        // The last, short slot goes to the verifier before the end of the stream.
        if (!stoppedEarly) await theRing.flush();
        queue.end();
        return s;
      },
      (e: unknown) => {
        queue.fail(new PumpAborted());
        throw e;
      },
    );
    const [pumped, verified] = await Promise.allSettled([pumping, verifying]);
    // Read errors are DumpError 'IO' already (readSlots, the chunker's inputs); a system error is the output's.
    if (pumped.status === 'rejected') throw asWriteError(pumped.reason, out);
    if (verified.status === 'rejected') throw verified.reason;
    const verify = verified.value;

    // The stream failed before its end: stop the command rather than read on
    // (how it then ends is our doing, not its failure).
    if (command && stoppedEarly) command.stop();
    const status = command ? await command.status() : undefined;

    let failure: RedumpFailure | undefined;
    if (status && !stoppedEarly && (status.exitCode !== 0 || status.signal)) {
      const after = `after writing ${status.stdoutBytes} bytes`;
      const stream = verify.verdict === 'ok' ? 'its output verified, but the dump of a failed command is not trusted' : `its output: ${describeVerifyFailure(verify)}`;
      failure = { reason: 'command', message: `the dump command failed (${describeStatus(status)}) ${after}; ${stream}` };
    } else if (verify.verdict !== 'ok') {
      failure = { reason: 'verify', message: describeVerifyFailure(verify) };
    }

    let finished: RingWriterResult;
    try {
      finished = await ring.finish();
    } catch (e) {
      throw asWriteError(e, out);
    }
    let gz: RedumpGzip | undefined;
    if (gzip) {
      gz = { compressedBytes: finished.storedBytes, readBack: false };
      if (failure === undefined) {
        const why = await readBackGzip(output.tempPath, finished.bytes, finished.sha256);
        if (why === null) gz.readBack = true;
        else failure = { reason: 'gzip', message: `the gzip output does not decode to the dump written: ${why}` };
      }
    }
    if (failure === undefined) output.commit();
    else output.abort();
    const seconds = (performance.now() - t0) / 1000;
    const result: RedumpResult = {
      ok: failure === undefined,
      path: out,
      committed: failure === undefined,
      input: name,
      verdict: verify.verdict,
      bytes: finished.bytes,
      sha256: finished.sha256,
      seconds,
      mbPerSecond: seconds > 0 ? finished.bytes / 1e6 / seconds : 0,
      chunks: stats,
      directIo: finished.direct,
      verify,
    };
    if (status) result.command = status;
    if (gz) result.gzip = gz;
    if (inputPipe) result.inputPipe = inputPipe;
    if (skipped) result.skipped = skipped;
    if (failure) result.failure = failure;
    return result;
  } catch (e) {
    output.abort();
    await ring?.close();
    command?.stop();
    if (command) await command.status().catch(() => undefined);
    throw e;
  }
}

/**
 * Decode a gzip file just written and compare it with what was written:
 * null when it gives exactly `bytes` bytes with this SHA-256, else why not.
 */
export async function readBackGzip(path: string, bytes: number, sha256: string): Promise<string | null> {
  const c = newContainer('gzip', [path]);
  const h = createHash('sha256');
  let n = 0;
  for await (const b of gunzip(RawInput.file(path), c)) {
    h.update(b);
    n += b.length;
  }
  const bad = c.findings.find((f) => f.severity !== 'info');
  if (bad) return `${bad.code} at compressed byte ${bad.offset}: ${bad.message}`;
  if (n !== bytes) return `it decodes to ${n} bytes, ${bytes} were written`;
  const got = h.digest('hex');
  if (got !== sha256) return `it decodes to SHA-256 ${got}, the dump written has ${sha256}`;
  return null;
}

/** Errors from the write side: a DumpError stays as it is; a system error (ENOSPC, EIO...) becomes 'IO' naming OUT. */
function asWriteError(e: unknown, out: string): unknown {
  if (e instanceof DumpError) return e;
  if ((e as NodeJS.ErrnoException | undefined)?.code !== undefined) return ioError(e, out, 'cannot write output');
  return e;
}
