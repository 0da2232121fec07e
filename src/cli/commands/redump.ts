import { fstatSync, readSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { Argv, CommandModule } from 'yargs';
import { DumpError } from '../../format/errors.js';
import { displayString } from '../../format/types.js';
import { describeStatus } from '../../redump/exec.js';
import { redump, type RedumpResult, type RedumpSource } from '../../redump/redump.js';
import { EXIT_DAMAGED, EXIT_OK, EXIT_USAGE, UsageError, describeError, err, errorJson, out, parseHexId, printJson, type Ctx, favourMemory } from '../context.js';
import { streamProgress } from '../progress.js';
import { manifestOption, recordOutput } from './manifest-option.js';
import { isContainer, openInput, openStream } from '../../source/open.js';
import type { ByteSource } from '../../source/byte-source.js';
import { wantsGzip } from '../../io/gzip-output.js';
import { SNIFF_BYTES, sniff } from '../../source/sniff.js';

interface Args {
  input?: string;
  output: string;
  manifest?: string;
  force: boolean;
  json: boolean;
  direct: boolean;
  exec?: string;
  tree?: string;
  'volume-id'?: string;
  'parent-id'?: string;
  name?: string;
  'backup-date'?: number;
  gzip: boolean;
  'decompress-with'?: string;
}

/**
 * Standard input is read with blocking reads straight into the writer's
 * ring (readSlots). But Node makes a pipe or socket on fd 0 non-blocking as
 * soon as process.stdin exists, and merely loading chalk creates it (its
 * `import process from 'node:process'` reads every property). The stream
 * is not reading; put the descriptor back into blocking mode through its
 * handle. Where that handle is missing (a file: already blocking) nothing
 * is done; if a read still says EAGAIN, readSlots reads on through a stream.
 */
function blockingStdin(): void {
  const handle = (process.stdin as unknown as { _handle?: { setBlocking?: (on: boolean) => number } })._handle;
  handle?.setBlocking?.(true);
}

/**
 * Test hook of the command line (the library reads no environment):
 * CODADUMP_TEST_FAIL_AFTER_BYTES=N makes the output fail with ENOSPC once N
 * bytes would have been stored, as a full disk does.
 */
export const FAIL_AFTER_ENV = 'CODADUMP_TEST_FAIL_AFTER_BYTES';

function failAfterFromEnv(): number | undefined {
  const v = process.env[FAIL_AFTER_ENV];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${FAIL_AFTER_ENV} must be a whole number of bytes, got '${v}'`);
  return n;
}

/** The command's standard error, passed through line by line with an `exec: ` prefix. */
function stderrPassThrough(beforeWrite: () => void) {
  let partial = '';
  return {
    write(b: Buffer) {
      const text = partial + b.toString('latin1');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (lines.length === 0) return;
      beforeWrite();
      process.stderr.write(lines.map((l) => `exec: ${l}\n`).join(''));
    },
    flush() {
      if (partial !== '') {
        beforeWrite();
        process.stderr.write(`exec: ${partial}\n`);
        partial = '';
      }
    },
  };
}

export function redumpJson(r: RedumpResult) {
  return {
    ok: r.ok,
    path: r.path,
    committed: r.committed,
    input: r.input,
    verdict: r.verdict,
    bytes: r.bytes,
    sha256: r.sha256,
    seconds: Number(r.seconds.toFixed(3)),
    mbPerSecond: Number(r.mbPerSecond.toFixed(1)),
    chunks: r.chunks,
    directIo: r.directIo,
    ...(r.gzip ? { gzip: r.gzip } : {}),
    ...(r.inputPipe ? { inputPipe: r.inputPipe } : {}),
    header: r.verify.header ? { ...r.verify.header, name: displayString(r.verify.header.name) } : null,
    counts: r.verify.counts,
    problems: r.verify.problems,
    ...(Object.keys(r.verify.suppressed).length ? { suppressed: r.verify.suppressed } : {}),
    ...(r.command ? { command: r.command } : {}),
    ...(r.skipped ? { skipped: r.skipped.map(displayString) } : {}),
    ...(r.failure ? { failure: r.failure } : {}),
  };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function redumpLines(r: RedumpResult): string[] {
  const c = r.verify.counts;
  const lines = [
    `verdict:    ${r.verdict}`,
    `output:     ${r.path}`,
    `size:       ${r.bytes} bytes`,
    ...(r.gzip ? [`gzip:       ${r.gzip.compressedBytes} compressed bytes (one gzip stream), read back: the same ${r.bytes} bytes`] : []),
    `sha256:     ${r.sha256}`,
    `throughput: ${r.mbPerSecond.toFixed(1)} MB/s (${r.seconds.toFixed(3)} s${r.directIo ? ', direct I/O' : ''})`,
    `chunks:     ${r.chunks.chunks} (largest ${r.chunks.largestChunk} bytes), every 32-bit offset checked` +
      (r.chunks.chunksPast4GiB ? `, ${r.chunks.chunksPast4GiB} of them past 4 GiB` : ''),
    `content:    ${plural(c.directories, 'directory', 'directories')}, ${plural(c.files, 'file or link', 'files and links')}` +
      (c.removed ? `, ${plural(c.removed, 'removal', 'removals')}` : ''),
  ];
  if (r.command) lines.push(`command:    ${describeStatus(r.command)}`);
  return lines;
}

/** Put a descriptor made blocking by blockingStdin() back into non-blocking mode (for process.stdin to read it). */
function nonBlockingStdin(): void {
  const handle = (process.stdin as unknown as { _handle?: { setBlocking?: (on: boolean) => number } })._handle;
  handle?.setBlocking?.(false);
}

/** Up to `n` bytes from the start of a pipe (fewer only at its end); they are consumed. */
async function readHead(fd: number, n: number): Promise<Buffer> {
  const b = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    let k: number;
    try {
      k = readSync(fd, b, got, n - got, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN') throw new DumpError('IO', `cannot read input: ${code ?? String(e)}`, got, '-');
      await new Promise((resolve) => setTimeout(resolve, 5));
      continue;
    }
    if (k === 0) break;
    got += k;
  }
  return b.subarray(0, got);
}

/** A decoded ByteSource as the chunks redump reads; a container error (cut member, bad CRC...) stops it with that error. */
async function* decoded(src: ByteSource): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  try {
    for (;;) {
      const n = await src.read(buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      yield Buffer.from(buf.subarray(0, n));
    }
    const bad = src.container?.findings.find((f) => f.severity === 'error');
    // Its offset is in the compressed bytes, not the dump stream: said in words.
    if (bad) throw new DumpError(bad.code, `${bad.message} (at compressed byte ${bad.offset})`, undefined, bad.file ?? '-');
  } finally {
    await src.close();
  }
}

/**
 * Standard input, recognised by content like every other input: raw dump
 * bytes go straight to the writer's ring ({ fd: 0 }); a compressed dump
 * (gzip through zlib; bzip2, xz, zstd, .Z through their program or
 * --decompress-with) is decoded on the way (src/source/open.ts). A regular
 * file (`redump - < x.dump.gz`) is sniffed in place (its first bytes are
 * read at offset 0, not consumed); from a pipe the first SNIFF_BYTES are
 * read (blocking), sniffed, and then come first.
 */
async function stdinSource(decompressWith: string | undefined): Promise<RedumpSource> {
  let isFile = false;
  try {
    isFile = fstatSync(0).isFile();
  } catch {
    isFile = false;
  }
  const opts = { decompressWith };
  if (isFile) {
    let head = Buffer.alloc(0);
    try {
      const b = Buffer.alloc(SNIFF_BYTES);
      head = b.subarray(0, readSync(0, b, 0, b.length, 0));
    } catch {
      head = Buffer.alloc(0);
    }
    if (head.length === 0 || !isContainer(sniff(head), opts)) return { fd: 0 };
    return decoded(await openInput('-', opts));
  }
  const head = await readHead(0, SNIFF_BYTES);
  if (head.length === 0 || !isContainer(sniff(head), opts)) return { fd: 0, head };
  // Decoding runs on the event loop (zlib's callbacks, a decompressor's pipes): read the rest through process.stdin.
  nonBlockingStdin();
  return decoded(openStream('-', head, head.length < SNIFF_BYTES ? null : (process.stdin as AsyncIterable<Buffer>), opts));
}

export const redumpCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'redump [input]',
  describe: 'Regenerate a dump (from a command, a directory tree or stdin) through a verified 64-bit append writer',
  builder: (y: Argv) =>
    y
      .positional('input', { type: 'string', describe: '- to read the dump from standard input' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'dump file to write' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output file (once the new dump verified)' })
      .option('manifest', manifestOption)
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('direct', {
        type: 'boolean',
        default: true,
        describe: 'write with O_DIRECT where the file system allows it, bypassing the page cache (--no-direct: ordinary writes)',
      })
      .option('gzip', { type: 'boolean', default: false, describe: 'write gzip (also when the output name ends in .gz); read back through the decoder before it is kept' })
      .option('decompress-with', { type: 'string', requiresArg: true, describe: '-: shell command that decodes a compressed standard input (stdin to stdout), for formats without a built-in or system decoder' })
      .option('exec', { type: 'string', describe: 'shell command that writes a dump to its standard output (e.g. volutil ... dump)' })
      .option('tree', { type: 'string', describe: 'directory tree to dump (as pack does)' })
      .option('volume-id', { type: 'string', describe: '--tree: volume id in hex (default 01000002)' })
      .option('parent-id', { type: 'string', describe: '--tree: parent volume id in hex (default 01000001)' })
      .option('name', { type: 'string', describe: '--tree: volume name (default <dir>.backup)' })
      .option('backup-date', { type: 'number', describe: '--tree: backup date, Unix seconds (default now)' })
      .epilogue(
        'Exactly one input: --exec CMD, --tree DIR, or -. The output appears only if the stream verified ' +
          '(and the command exited 0); on any failure it is removed. Exit codes: 0 verified and written; ' +
          '1 the stream did not verify or the dump command failed; 2 usage, existing output, or read/write error.',
      ) as unknown as Argv<Args>,
  handler: async (a) => {
    favourMemory();
    const given = [a.exec !== undefined, a.tree !== undefined, a.input !== undefined].filter(Boolean).length;
    if (given !== 1) throw new UsageError('redump needs exactly one input: --exec CMD, --tree DIR, or - (standard input)');
    if (a.input !== undefined && a.input !== '-') throw new UsageError(`redump reads a dump from standard input only ('-'), not '${a.input}'; use verify to check a file`);
    if (a.exec !== undefined && a.exec.trim() === '') throw new UsageError('--exec needs a command');
    if (a.input === '-' && isatty(0)) throw new UsageError('standard input is a terminal: pipe a dump into redump -');
    const packOpts = {
      volumeId: parseHexId(a['volume-id'], '--volume-id'),
      parentId: parseHexId(a['parent-id'], '--parent-id'),
      name: a.name,
      backupDate: a['backup-date'],
    };
    if (a.tree === undefined && Object.values(packOpts).some((v) => v !== undefined)) {
      throw new UsageError('--volume-id, --parent-id, --name and --backup-date go with --tree only');
    }
    if (a['decompress-with'] !== undefined && a.input !== '-') throw new UsageError('--decompress-with goes with - (standard input) only');
    const failAfterBytes = failAfterFromEnv();
    if (a.input === '-') blockingStdin();
    const sourceFor = async (): Promise<RedumpSource> =>
      a.exec !== undefined ? { exec: a.exec } : a.tree !== undefined ? { tree: a.tree, pack: packOpts } : stdinSource(a['decompress-with']);

    const bar = streamProgress('redump', !a.json);
    const passThrough = stderrPassThrough(() => bar.clear());
    // Ctrl-C / kill: exit through process.exit so the temporary file is removed.
    // Reads of standard input block the event loop, so a signal's handler runs
    // at the next turn of the loop: signalsFirst() gives it that turn.
    const signalsFirst = () => new Promise<void>((resolve) => setImmediate(resolve));
    const onSignal = (sig: NodeJS.Signals) => {
      bar.clear();
      err(`codadump: interrupted by ${sig}; ${a.output} not written`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let r: RedumpResult;
    try {
      r = await redump(await sourceFor(), a.output, {
        force: a.force,
        direct: a.direct,
        failAfterBytes,
        gzip: wantsGzip(a.output, a.gzip),
        onProgress: (p) => bar.update(p.bytes, p.vnodes, p.seconds),
        onStderr: (b) => passThrough.write(b),
      });
    } catch (e) {
      // A signal that came while a read blocked is acted on first (its exit code, not the input's end).
      await signalsFirst();
      passThrough.flush();
      bar.clear();
      if (!(e instanceof DumpError)) throw e;
      const what = e.code === 'EXISTS' ? e.message : describeError(e);
      const tail = e.code === 'EXISTS' ? '' : `; ${a.output} not written`;
      if (a.json) printJson({ ok: false, path: a.output, committed: false, ...errorJson(e) });
      err(`codadump: error: ${what}${tail}`);
      ctx.exitCode = e.code === 'CHUNK_OFFSET' ? EXIT_DAMAGED : EXIT_USAGE;
      return;
    } finally {
      await signalsFirst();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    passThrough.flush();
    bar.clear();
    for (const p of r.skipped ?? []) err(`codadump: skipped ${displayString(p)}: not a file, directory or symbolic link`);
    if (a.json) printJson(redumpJson(r));
    if (r.ok) {
      await recordOutput(a.manifest, a.output);
      if (!a.json) for (const l of redumpLines(r)) out(l);
      ctx.exitCode = EXIT_OK;
      return;
    }
    err(`codadump: error: redump failed: ${r.failure!.message}; ${a.output} not written`);
    ctx.exitCode = EXIT_DAMAGED;
  },
});
