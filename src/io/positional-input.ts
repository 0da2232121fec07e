/**
 * Positional access to any input, for diagnose and repair (they probe record
 * boundaries anywhere in the stream). A raw dump is opened as it is; a
 * compressed one (gzip, an Amanda holding file, bzip2/xz/zstd...) is decoded
 * once, streaming, into a temporary file in `tmpdir` (default the system's,
 * `--tmpdir` on the command line), which is read positionally and removed
 * on close. Memory stays bounded; the disk needs room for the decoded dump.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir as systemTmp } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DumpError, ioError } from '../diagnostics/errors.js';
import type { ContainerInfo } from '../source/container.js';
import { FileSource } from '../source/file.js';
import type { FileSystem } from '../source/fs.js';
import { isContainer, openInput, sniffPath } from '../source/open.js';
import { StreamSource } from '../source/stream.js';

export interface PositionalInputOptions {
  /** Where a decoded copy goes (default os.tmpdir()). */
  tmpdir?: string;
  /** A shell command that decodes inputs that are not raw dumps. */
  decompressWith?: string;
  /** The file-system seam for a raw input (default node:fs). */
  fs?: Partial<FileSystem>;
}

export interface PositionalInput {
  /** The dump stream, read at any position; named as the input. */
  source: FileSource;
  /** The file holding the dump stream: the input itself, or its decoded temporary copy. */
  path: string;
  /** Set when the input was decoded (its findings carry compressed offsets). */
  container?: ContainerInfo;
  close(): Promise<void>;
}

/**
 * For operations that need a sound input (pack's base, simulate): a
 * container error (a cut or corrupt gzip member, a missing piece) stops
 * them, as the first such finding, naming the file and compressed offset.
 */
export function refuseDamagedContainer(input: PositionalInput): void {
  const bad = input.container?.findings.find((f) => f.severity === 'error');
  if (bad) throw new DumpError(bad.code, `${bad.message} (at compressed byte ${bad.offset})`, undefined, bad.file ?? input.source.name);
}

export async function openPositional(path: string, opts: PositionalInputOptions = {}): Promise<PositionalInput> {
  if (path === '-') throw new DumpError('USAGE', 'needs a file (it reads at any position), not standard input');
  const sniffed = await sniffPath(path);
  if (!isContainer(sniffed, opts)) {
    const source = await FileSource.open(path, { fs: opts.fs });
    return { source, path, close: () => source.close() };
  }
  const decoded = await openInput(path, { decompressWith: opts.decompressWith });
  let dir: string;
  try {
    dir = await mkdtemp(join(opts.tmpdir ?? systemTmp(), 'codadump-'));
  } catch (e) {
    await decoded.close();
    throw ioError(e, opts.tmpdir ?? systemTmp(), 'cannot make a temporary directory');
  }
  const tmp = join(dir, 'decoded.dump');
  try {
    const it = (async function* () {
      const buf = Buffer.allocUnsafe(1 << 20);
      let pos = 0;
      for (;;) {
        const n = await decoded.read(buf, 0, buf.length, pos);
        if (n === 0) return;
        pos += n;
        yield Buffer.from(buf.subarray(0, n));
      }
    })();
    try {
      await pipeline(it, createWriteStream(tmp));
    } catch (e) {
      throw e instanceof DumpError ? e : ioError(e, tmp, 'cannot write the decoded copy');
    }
    await decoded.close();
    const source = await FileSource.open(tmp, { name: path });
    const container = (decoded as StreamSource).container;
    return {
      source,
      path: tmp,
      ...(container ? { container } : {}),
      close: async () => {
        await source.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await decoded.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
