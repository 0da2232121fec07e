/**
 * Replay a sound dump through a receiver model (WRAPAROUND.md): chunk it as
 * a Coda server does (ServerChunker: 512,000-byte buffer, one item per
 * field, file data in 4,096-byte pieces) and write each chunk as the
 * receiver would (SimulatedReceiver) into an AtomicOutput: the output
 * appears under its name only when complete (temporary file, fsync, then a
 * no-clobber link or, with force, a rename).
 */
import { DumpError } from '../format/errors.js';
import { DumpReader } from '../format/reader.js';
import { PositionalReader } from '../format/positional.js';
import { AtomicOutput } from '../io/atomic-output.js';
import { FileSource } from '../io/source.js';
import { openPositional, refuseDamagedContainer, type PositionalInput } from '../io/positional-input.js';
import { ServerChunker, SERVER_CHUNK_SIZE } from '../io/chunker.js';
import { SimulatedReceiver, wrapLayout, type ReceiverModel, type WrapSegment } from '../io/receivers.js';
import { recordItems } from './items.js';
import { refuseSameFile } from '../repair/guard.js';

export interface SimulateOptions {
  receiver: ReceiverModel;
  /** W = 2^wrapBits (default 32). */
  wrapBits?: number;
  /** Server buffer size (default 512,000). */
  chunkSize?: number;
  /** Replace an existing output. */
  force?: boolean;
  /** Skip writing zeros that land on zeros (default true; the file reads back the same). */
  sparse?: boolean;
  /** A compressed input is decoded once into a temporary file here (default os.tmpdir()). */
  tmpdir?: string;
  /** A shell command that decodes an input that is not a raw dump. */
  decompressWith?: string;
}

export type Outcome = 'intact' | 'A1' | 'A2' | 'B' | 'A-multiple';

export interface SimulateResult {
  input: string;
  output: string;
  receiver: ReceiverModel;
  wrapBits: number;
  wrapSize: number;
  chunkSize: number;
  /** Number of chunks the server sent. */
  chunks: number;
  /** L: the dump stream's length. */
  streamLength: number;
  /** F: the size of the file the receiver left. */
  fileSize: number;
  outcome: Outcome;
  /** A1: s = F - W and e = L - W (WRAPAROUND.md); null otherwise. */
  s: number | null;
  e: number | null;
  /** Where each surviving stream range landed (file order). */
  segments: WrapSegment[];
  /** Every chunk: true stream offset and length. */
  spans: { offset: number; length: number }[];
}

function classify(model: ReceiverModel, L: number, W: number, segs: WrapSegment[]): Outcome {
  if (segs.length === 1 && segs[0].fileStart === 0 && segs[0].streamStart === 0 && segs[0].length === L) return 'intact';
  if (model === 'B') return 'B';
  // A1: [0,s) -> [0,s), [s,e) -> [F,L), [e,F) -> [e,F) with s = F - W, e = L - W.
  if (segs.length === 3) {
    const [a, b, c] = segs;
    const F = c.fileStart + c.length;
    const s = F - W;
    const e = L - W;
    if (a.fileStart === 0 && a.streamStart === 0 && a.length === s && b.fileStart === s && b.streamStart === F && b.length === e - s
      && c.fileStart === e && c.streamStart === e) return 'A1';
  }
  if (segs.length === 1 && segs[0].fileStart === 0 && segs[0].streamStart === W && segs[0].length === L - W) return 'A2';
  return 'A-multiple';
}

export async function simulateFile(input: string, output: string, opts: SimulateOptions): Promise<SimulateResult> {
  const wrapBits = opts.wrapBits ?? 32;
  if (!Number.isInteger(wrapBits) || wrapBits < 1 || wrapBits > 48) {
    throw new DumpError('USAGE', `--wrap-bits must be a whole number from 1 to 48, got ${wrapBits}`);
  }
  const W = 2 ** wrapBits;
  const chunkSize = opts.chunkSize ?? SERVER_CHUNK_SIZE;
  refuseSameFile(input, output);
  // Refuses an existing output (without force) before the input is opened.
  const out = new AtomicOutput(output, { force: opts.force, bufferSize: 0 });
  let src: FileSource | undefined;
  let raw: PositionalReader | undefined;
  let input_: PositionalInput | undefined;
  let recv: SimulatedReceiver | null = null;
  const spans: { offset: number; length: number }[] = [];
  try {
    // A compressed input (gzip, Amanda, bzip2...) is decoded once into a temporary file: the replay reads it twice.
    input_ = await openPositional(input, { tmpdir: opts.tmpdir, decompressWith: opts.decompressWith });
    refuseDamagedContainer(input_);
    src = input_.source;
    raw = new PositionalReader(await FileSource.open(input_.path, { name: input }));
    const pr = raw;
    recv = new SimulatedReceiver(opts.receiver, output, { wrapBits, sparse: opts.sparse ?? true, fd: out.descriptor });
    const r = recv;
    const chunker = new ServerChunker(
      (c) => {
        r.writeChunk(c);
        spans.push({ offset: c.offset, length: c.data.length });
      },
      { chunkSize },
    );
    const reader = new DumpReader(src);
    let L = -1;
    for (;;) {
      const rec = await reader.next();
      if (!rec) break;
      if (rec.kind === 'trailing') {
        throw new DumpError('TRAILING_DATA', `${rec.size} bytes after the end marker: simulate needs a sound dump`, rec.offset, input);
      }
      for (const it of recordItems(rec, await pr.bytesAt(rec.offset, rec.size))) chunker.push(it);
      if (rec.kind === 'vnode' && rec.data.kind === 'filedata') {
        for await (const piece of reader.fileData()) chunker.pushFileData(piece, true);
        chunker.pushFileData(Buffer.alloc(0), false);
      }
      if (rec.kind === 'end') L = rec.offset + rec.size;
    }
    if (L < 0) throw new DumpError('TRUNCATED', 'the dump has no end marker', reader.position, input);
    chunker.finish();
    const fileSize = r.fileSize;
    r.close();
    recv = null;
    const layout = wrapLayout(spans, L, opts.receiver, wrapBits);
    if (layout.fileSize !== fileSize) {
      throw new DumpError('BAD_VALUE', `internal: receiver left ${fileSize} bytes, the layout says ${layout.fileSize}`);
    }
    const outcome = classify(opts.receiver, L, W, layout.segments);
    out.wroteExternally(fileSize);
    out.commit();
    return {
      input, output, receiver: opts.receiver, wrapBits, wrapSize: W, chunkSize, chunks: spans.length, streamLength: L, fileSize,
      outcome, s: outcome === 'A1' ? fileSize - W : null, e: outcome === 'A1' ? L - W : null, segments: layout.segments, spans,
    };
  } finally {
    try {
      recv?.close();
    } catch {
      /* already failing */
    }
    out.abort(); // a no-op once committed
    await src?.close();
    await raw?.close();
    await input_?.close();
  }
}
