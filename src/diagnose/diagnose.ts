/**
 * Diagnose a damaged dump: classify it (ok, truncated, trailing data,
 * corrupt, or the 4 GiB wraparound with its model A1, A2 or B from
 * WRAPAROUND.md), locate the damage, and name what was lost.
 *
 * Reading cost: the walk decodes records and skips file data by length, so
 * an intact stretch costs only its metadata. Bytes are scanned only where
 * the walk must resynchronise (from a break to the next sound record), so a
 * wrapped > 4 GiB dump is read at most about once, usually far less.
 *
 * Model A1 (header present, size F in (W, W + chunk], structure broken):
 *   s = F - W. The seam end e comes from the declared size (e = N mod W),
 *   or from the walk: after the break at s it resynchronises in the tail
 *   region [s, e) and follows the records to an end marker, which gives a
 *   candidate e. A candidate is CONFIRMED only by walking the reordered
 *   stream [0,s) + lost [s,e) + [e,F) + [s,e): the chain of records that ends
 *   with the end marker exactly at L = e + W must have started before the
 *   seam point F (at the header, crossing the lost range inside a record's
 *   data, or at a resynchronised boundary in [e, F)), i.e. it ran through F
 *   and continued seamlessly at file position s. An end marker alone is
 *   never taken as proof.
 * Models A2/B (no header, an end marker the records lead to): the file is
 *   the stream's tail. A2 (stream [W, L) alone) when the declared size says
 *   F = N mod W, or without it when F is larger than one chunk; otherwise B.
 */
import type { Code } from '../diagnostics/codes.js';
import { finding, type DumpFinding } from '../diagnostics/finding.js';
import { END_MARKER, VNODE_DIR } from '../format/constants.js';
import { DumpError } from '../format/errors.js';
import { vnodeKey } from '../format/paths.js';
import type { DumpHeader, IndexClass, IndexHeader, VolumeData } from '../format/types.js';
import { FileSource } from '../source/file.js';
import type { FileSystem } from '../source/fs.js';
import type { ContainerInfo } from '../source/container.js';
import { openPositional } from '../io/positional-input.js';
import { sniff } from '../source/sniff.js';
import type { ByteSource } from '../source/byte-source.js';
import { verifySource } from '../check/verify.js';
import { verdictOf, type Problem, type Verdict } from '../check/problems.js';
import { declaredModulo } from '../check/backup-log.js';
import { SERVER_CHUNK_SIZE } from '../io/chunker.js';
import { VStream, type FileRange } from './vstream.js';
import { walkStream, type WalkResult } from './walk.js';
import { usableVnode } from './resync.js';
import { D_FILEDATA, K_END, K_HEADER, K_INDEX, K_VNODE, K_VOLUME } from './records.js';
import { SurvivorList, type Survivor } from './survivors.js';

export { usableVnode, SurvivorList, type Survivor };

export type WrapModel = 'A1' | 'A2' | 'B';

export interface DiagnoseOptions {
  /** W = 2^wrapBits (default 32; small values for tests). */
  wrapBits?: number;
  /** The backup log's byte count as printed (may be negative), or null. */
  declared?: number | null;
  /** The server's chunk size (default 512,000). */
  chunkSize?: number;
  /** Compressed inputs: where the decoded copy goes (default os.tmpdir()). */
  tmpdir?: string;
  /** A shell command that decodes inputs that are not raw dumps. */
  decompressWith?: string;
  /** The file-system seam for a raw input (default node:fs: then the walk reads synchronously). */
  fs?: Partial<FileSystem>;
}

export interface MappedSegment {
  fileStart: number;
  fileEnd: number;
  /** Stream position of fileStart, when known. */
  streamStart: number | null;
  streamEnd: number | null;
}

export interface WrapInfo {
  model: WrapModel;
  /** File positions of the overwritten region (= the lost stream range) for A1; null for A2/B. */
  seamStart: number | null;
  seamEnd: number | null;
  /** The true dump length, when it can be known. */
  streamLength: number | null;
  /** Stream position of the file's first byte (0 for A1). */
  streamOffset: number | null;
  /** A chain of records runs through the seam to the end marker (or, A2/B, from the first sound record to it). */
  confirmed: boolean;
  /** Which chain: the one from the dump header (crossing the lost range inside a record), or one from a resynchronised boundary. */
  confirmedBy: 'chain' | 'resync' | null;
  /** Where the seam end (or, A2/B, the stream length) came from: the declared size, or the structure alone. */
  seamEndFrom: 'declared' | 'search';
  /** Surviving file ranges in stream order ("reorder"). */
  segments: MappedSegment[];
  /** Stream ranges that exist nowhere in the file (end null when unknown). */
  lostStream: { start: number; end: number | null }[];
}

export interface LostVnode {
  vnode: number;
  unique: number;
  path: string | null;
  /** Part of its record survives (its header): dropped by repair unless --keep-partial. */
  partial: boolean;
  /** How it is known: its own surviving header, a surviving directory entry, or a survivor naming it as parent. */
  knownBy: 'record' | 'entry' | 'parent';
  /**
   * For a partial one: its record was cut (by lost bytes or the end of the
   * file), does not decode, or cannot be trusted (a sound record starts inside
   * its data, or it may run across a seam of unknown position).
   */
  damage?: 'cut' | 'corrupt' | 'suspect';
  /** File position of its surviving record start (partial ones). */
  offset?: number;
}

export interface IndexLoss {
  declared: number;
  lists: number;
  surviving: number;
  /** declared - surviving (full dumps). */
  lost: number;
}

/** A finding about damaged bytes: its offset is the file position where it was found, `fileRanges` the file ranges concerned (empty for a point). */
export type DamageReport = DumpFinding & { fileRanges: FileRange[] };

function damageReport(code: Code, offset: number, message: string, fileRanges: FileRange[], vnode?: { vnode: number; unique: number }): DamageReport {
  return { ...finding(code, offset, message, { severity: 'error', ...(vnode ? { vnode } : {}) }), fileRanges };
}

export interface Analysis {
  path: string;
  size: number;
  wrapBits: number;
  wrapSize: number;
  chunkSize: number;
  /** The declared count modulo 2^32, when given. */
  declared: number | null;
  verdict: Verdict;
  wraparound: WrapInfo | null;
  /** An A1 layout that fits the size and structure but could not be confirmed. */
  suspect: { model: WrapModel; seamStart: number; seamEnd: number | null; reason: string } | null;
  vs: VStream;
  walk: WalkResult;
  header: DumpHeader | null;
  volume: VolumeData | null;
  indexes: Record<IndexClass, IndexHeader | null>;
  incremental: boolean;
  /** The vnodes that survive whole, in stream order (see survivors.ts). */
  survivors: SurvivorList;
  lost: { count: number; exact: boolean; vnodes: LostVnode[] };
  index: Record<IndexClass, IndexLoss | null>;
  damage: DamageReport[];
  problems: Problem[];
  notes: string[];
  /** What the dump was decoded from; its findings (compressed offsets) are among `problems`. Positions elsewhere are in the decoded stream. */
  container?: ContainerInfo;
}

export function wrapSizeOf(wrapBits: number): number {
  if (!Number.isInteger(wrapBits) || wrapBits < 1 || wrapBits > 48) {
    throw new DumpError('USAGE', `wrap bits must be a whole number from 1 to 48, got ${wrapBits}`);
  }
  return 2 ** wrapBits;
}

async function endMarkerAt(src: FileSource, pos: number): Promise<boolean> {
  if (pos < 0 || pos + 5 > src.size) return false;
  const b = Buffer.alloc(5);
  await src.read(b, 0, 5, pos);
  return b.equals(END_MARKER);
}

async function hasHeader(src: FileSource): Promise<boolean> {
  if (src.size < 5) return false;
  const b = Buffer.alloc(5);
  await src.read(b, 0, 5, 0);
  return sniff(b).kind === 'dump';
}

/** Sound records a chain must hold before the end marker for a headless file to be taken as a dump's tail. */
export const MIN_TAIL_RECORDS = 1;

/** The run that ends at the end marker holds at least MIN_TAIL_RECORDS sound vnode or index records. */
function tailEvidence(w: WalkResult): boolean {
  const tail = w.runs.find((r) => r.endedBy === 'end' && r.end === w.endAt);
  if (!tail) return false;
  const recs = w.records;
  let n = 0;
  for (let i = 0; i < recs.length; i++) {
    if (recs.run(i) === tail.index && !recs.afterEnd(i) && (recs.kind(i) === K_VNODE || recs.kind(i) === K_INDEX)) n++;
  }
  return n >= MIN_TAIL_RECORDS;
}

function clean(w: WalkResult, size: number): boolean {
  return w.sawHeader && w.endAt === size && w.damage.length === 0 && w.cuts.length === 0 && w.runs.length === 1 && !w.runs[0].crossedGap;
}

interface A1Try {
  e: number;
  vs: VStream;
  walk: WalkResult;
  confirmedBy: 'chain' | 'resync' | null;
}

/** Walk the reordered stream for seam end e and see whether the chain confirms it. */
async function tryA1(src: FileSource, W: number, e: number, direct: boolean): Promise<A1Try | null> {
  const F = src.size;
  const s = F - W;
  if (!(e > s && e <= F)) return null;
  if (e - 5 >= s && !(await endMarkerAt(src, e - 5))) return null;
  const L = e + W;
  const vs = new VStream(
    src,
    [
      { vstart: 0, fstart: 0, length: s },
      { vstart: e, fstart: e, length: F - e },
      { vstart: F, fstart: s, length: e - s },
    ],
    L,
    direct,
  );
  const walk = await walkStream(vs, { expectHeader: true, expectedEnd: L });
  const final = walk.runs.find((r) => r.endedBy === 'end' && r.end === L);
  let confirmedBy: A1Try['confirmedBy'] = null;
  if (final && final.start < F) confirmedBy = final.start >= e ? 'resync' : 'chain';
  return { e, vs, walk, confirmedBy };
}

/**
 * Analyse a dump file (kept open: the caller closes `src`). `straight`:
 * verify's findings on this same source, when the caller has them already
 * (repair's first pass, src/repair/straight.ts): not parsed again.
 */
export async function analyzeSource(src: FileSource, opts: DiagnoseOptions = {}, straight_?: Problem[]): Promise<Analysis> {
  const wrapBits = opts.wrapBits ?? 32;
  const W = wrapSizeOf(wrapBits);
  const chunkSize = opts.chunkSize ?? SERVER_CHUNK_SIZE;
  const F = src.size;
  if (F === 0) throw new DumpError('NOT_A_DUMP', 'empty file, not a dump', 0, src.name);
  const declared = opts.declared === undefined || opts.declared === null ? null : declaredModulo(opts.declared);
  const eD = declared === null ? null : declared % W;
  const notes: string[] = [];
  const problems: Problem[] = [];
  const headerPresent = await hasHeader(src);
  if (!headerPresent) {
    // Other formats (compressed data, archives, Amanda labels) are not what a wraparound leaves.
    const head = Buffer.alloc(Math.min(F, 512));
    await src.read(head, 0, head.length, 0);
    const kind = sniff(head).kind;
    if (kind !== 'unknown') throw new DumpError('NOT_A_DUMP', `not a Coda dump: ${kind === 'archive' ? 'an archive of another format' : kind === 'amanda-other' ? 'an Amanda header that holds no dump' : `${kind} data`}`, 0, src.name);
  }

  // verify's straight parse first: its working memory is given back before
  // the walk's tables grow (the peak is the larger of the two, not their sum).
  const straight = straight_ ?? (await verifySource(borrowed(src))).problems;
  // Without a file-system seam, the walks read the descriptor synchronously (the page cache answers; no event-loop turn a read).
  const direct = src.hasFd && opts.fs === undefined;
  let vs = VStream.identity(src, direct);
  let walk: WalkResult;
  let wrap: WrapInfo | null = null;
  let suspect: Analysis['suspect'] = null;

  if (headerPresent) {
    const a1Suspect = F > W && F <= W + chunkSize;
    const s = F - W;
    let chosen: A1Try | null = null;
    let pinned = false;
    // The declared size pins e: try it first (then the plain walk is not needed).
    if (a1Suspect && eD !== null) {
      const t = await tryA1(src, W, eD, direct);
      if (t) {
        chosen = t;
        pinned = true;
      }
    }
    walk = chosen ? chosen.walk : await walkStream(vs, { expectHeader: true });
    if (!chosen && a1Suspect && !clean(walk, F)) {
      if (eD !== null) {
        problems.push({
          code: 'LOG_SIZE_MISMATCH', severity: 'warning', offset: eD,
          message: `the declared size (${declared} mod 2^${wrapBits} = ${eD}) does not fit model A1: no end marker ends there within (${s}, ${F}]`,
        });
      }
      // Candidates for e: end markers that chains of records lead to, after s.
      const cands = new Set<number>();
      const recs = walk.records;
      for (let i = 0; i < recs.length; i++) if (recs.kind(i) === K_END && recs.end(i) > s && recs.end(i) <= F) cands.add(recs.end(i));
      for (const e of [...cands].sort((a, b) => a - b)) {
        const t = await tryA1(src, W, e, direct);
        if (t && t.confirmedBy) {
          chosen = t;
          break;
        }
        if (t && !suspect) suspect = { model: 'A1', seamStart: s, seamEnd: e, reason: 'no chain of records runs through the seam to this end marker (no record boundary found in [e, F))' };
      }
      if (!chosen && !suspect) {
        suspect = { model: 'A1', seamStart: s, seamEnd: null, reason: 'the size fits model A1 but no chain of records after the seam leads to an end marker' };
      }
    }
    if (chosen) {
      const e = chosen.e;
      const L = e + W;
      vs = chosen.vs;
      walk = chosen.walk;
      suspect = null;
      wrap = {
        model: 'A1', seamStart: s, seamEnd: e, streamLength: L, streamOffset: 0,
        confirmed: chosen.confirmedBy !== null,
        confirmedBy: chosen.confirmedBy,
        seamEndFrom: pinned ? 'declared' : 'search',
        segments: [
          { fileStart: 0, fileEnd: s, streamStart: 0, streamEnd: s },
          { fileStart: e, fileEnd: F, streamStart: e, streamEnd: F },
          { fileStart: s, fileEnd: e, streamStart: F, streamEnd: L },
        ],
        lostStream: [{ start: s, end: e }],
      };
      if (pinned) notes.push(`seam end pinned by the declared size: ${declared} mod 2^${wrapBits} = ${e}`);
      if (pinned && !chosen.confirmedBy) notes.push('no chain of records could be followed through the seam; the declared size is trusted');
    }
  } else {
    walk = await walkStream(vs, { expectHeader: true, scanAfterEnd: true, suspectBeforeBreak: true });
    // Wraparound only on evidence: the chain that ends at the end marker must
    // hold sound records before it (a vnode or an index header), not just
    // five bytes that happen to spell an end marker.
    const evidence = walk.endAt !== null && tailEvidence(walk);
    const recs = walk.records;
    let sound = false;
    for (let i = 0; i < recs.length && !sound; i++) sound = recs.kind(i) === K_VNODE || recs.kind(i) === K_INDEX || recs.kind(i) === K_VOLUME;
    if (!evidence && !sound) {
      throw new DumpError('NOT_A_DUMP', 'not a Coda dump: no dump header and no chain of sound records', 0, src.name);
    }
    if (evidence && walk.endAt !== null) {
      const runs = walk.runs.filter((r) => r.records > 0);
      const continuous = runs.length === 1 && walk.endAt === F && !runs[0].crossedGap;
      // A2 leaves one continuous piece, stream [W, L): with the declared size F = L mod W.
      // B leaves the last truncating chunk (continuous), or its head followed by the
      // post-wrap chunks (a seam of unknown position; then too F = L mod W when the
      // tail outgrows the chunk).
      let model: WrapModel;
      if (!continuous) model = 'B';
      else if (eD !== null) model = F === eD ? 'A2' : 'B';
      else model = F > chunkSize ? 'A2' : 'B';
      let L: number | null = null;
      if (model === 'A2') L = W + F;
      else if (continuous && eD !== null) {
        // B: the file is the stream from a truncating chunk at o in [W/2, W) to L.
        const fits = [eD, eD + W].filter((l) => l - F >= W / 2 && l - F < W);
        if (fits.length === 1) L = fits[0];
      } else if (!continuous && eD !== null && walk.endAt === F && F === eD) {
        // B with post-wrap chunks: they sit at file p = stream p - W, up to e = L - W = F.
        L = W + F;
      }
      const off = model === 'A2' ? W : L !== null && continuous ? L - F : null;
      const tailRun = walk.runs.find((r) => r.endedBy === 'end' && r.end === walk.endAt);
      wrap = {
        model, seamStart: null, seamEnd: null, streamLength: L, streamOffset: off,
        confirmed: continuous, confirmedBy: continuous ? 'resync' : null, seamEndFrom: eD !== null ? 'declared' : 'search',
        segments: continuous
          ? [{ fileStart: 0, fileEnd: F, streamStart: off, streamEnd: off === null ? null : off + F }]
          : runs.map((r) => {
            const known = L !== null && r === tailRun;
            return { fileStart: r.start, fileEnd: r.end, streamStart: known ? r.start + W : null, streamEnd: known ? r.end + W : null };
          }),
        lostStream: [{ start: 0, end: off }],
      };
      notes.push(
        model === 'A2'
          ? `no dump header: the file is stream bytes [${W}, ${W + F}), what a receiver left after a chunk ended exactly at ${W} and the next one truncated the file`
          : 'no dump header: the file is the tail of the stream left by a 32-bit receiver (each chunk past 2 GiB truncated the file)',
      );
      if (!continuous) notes.push('the surviving bytes are not one continuous piece of the stream; the records found are listed in file order');
      if (eD === null && model === 'B' && continuous) notes.push('A2 would fit too; give --log or --declared to decide');
    }
  }

  if (suspect && !wrap && (walk.damage.length > 0 || walk.cuts.length > 0)) {
    // Unconfirmed, but the structure breaks and the size says where the seam
    // would be: a record that runs across it cannot be trusted past it.
    const s = suspect.seamStart;
    const recs = walk.records;
    for (let i = 0; i < recs.length; i++) {
      if (recs.complete(i) && recs.at(i) < s && recs.end(i) > s && recs.kind(i) === K_VNODE) {
        recs.setSuspect(i, 'seam', recs.dataKind(i) === D_FILEDATA ? Math.max(0, s - recs.dataStart(i)) : undefined);
      }
    }
  }
  return finishAnalysis({ src, vs, walk, wrap, suspect, W, wrapBits, chunkSize, declared, problems, straight, notes });
}

interface FinishInput {
  src: FileSource;
  vs: VStream;
  walk: WalkResult;
  wrap: WrapInfo | null;
  suspect: Analysis['suspect'];
  W: number;
  wrapBits: number;
  chunkSize: number;
  declared: number | null;
  problems: Problem[];
  /** verify's findings on the file as it is (a straight parse). */
  straight: Problem[];
  notes: string[];
}

function firstFilePos(vs: VStream, v: number): number {
  const p = vs.filePos(v);
  if (p !== null) return p;
  const r = vs.fileRanges(v, vs.length)[0];
  return r ? r.start : Math.min(v, vs.src.size);
}

function finishAnalysis(x: FinishInput): Analysis {
  const { src, vs, walk, wrap } = x;
  const F = src.size;
  const recs = walk.records;
  let header: DumpHeader | null = null;
  let volume: VolumeData | null = null;
  const indexes: Record<IndexClass, IndexHeader | null> = { large: null, small: null };
  const survivors = new SurvivorList(recs, vs);
  const partial = new Map<string, LostVnode>();
  for (let i = 0; i < recs.length; i++) {
    const kind = recs.kind(i);
    if (kind === K_HEADER) {
      if (!header) header = recs.rec(i) as DumpHeader;
    } else if (kind === K_VOLUME) {
      if (!volume) volume = recs.rec(i) as VolumeData;
    } else if (kind === K_INDEX) {
      const r = recs.rec(i) as IndexHeader;
      if (!indexes[r.index]) indexes[r.index] = r;
    } else if (kind === K_VNODE) {
      if (recs.complete(i) && recs.usable(i)) survivors.add(i);
      else if (!recs.complete(i)) {
        const vnode = recs.vnode(i);
        const unique = recs.unique(i);
        partial.set(vnodeKey(vnode, unique), { vnode, unique, path: null, partial: true, knownBy: 'record', damage: recs.suspect(i) ? 'suspect' : 'cut', offset: firstFilePos(vs, recs.at(i)) });
      }
    }
  }
  for (const c of walk.cuts) {
    if (c.tag === 5 && c.vnode !== undefined && c.unique !== undefined && c.vnode >= 1) {
      partial.set(vnodeKey(c.vnode, c.unique), { vnode: c.vnode, unique: c.unique, path: null, partial: true, knownBy: 'record', damage: 'cut', offset: firstFilePos(vs, c.at) });
    }
  }
  for (const b of walk.broken) {
    if (b.vnode >= 1 && b.vnode < 2 ** 31) {
      partial.set(vnodeKey(b.vnode, b.unique), { vnode: b.vnode, unique: b.unique, path: null, partial: true, knownBy: 'record', damage: 'corrupt', offset: firstFilePos(vs, b.at) });
    }
  }
  const incremental = (header?.incremental ?? 0) !== 0;
  for (const [k, l] of partial) if (survivors.has(l.vnode, l.unique)) partial.delete(k);

  // What was lost: partial records, entries of surviving directories, parents named by survivors.
  // (Paths of the survivors come from the surviving directories: survivors.path.)
  const lost = new Map<string, LostVnode>(partial);
  if (!incremental) {
    for (let j = 0; j < survivors.length; j++) {
      const entries = survivors.entries(j);
      if (!entries) continue;
      let base: string | null | undefined;
      for (let k = 0; k < entries.count; k++) {
        if (entries.isDot(k)) continue;
        const ev = entries.vnode(k);
        const eu = entries.unique(k);
        if (survivors.has(ev, eu)) continue;
        if (base === undefined) base = survivors.path(j);
        const name = entries.name(k);
        const key = vnodeKey(ev, eu);
        const path = base === null ? null : base === '.' ? name : `${base}/${name}`;
        const had = lost.get(key);
        if (had) {
          if (had.path === null) had.path = path;
        } else {
          lost.set(key, { vnode: ev, unique: eu, path, partial: false, knownBy: 'entry' });
        }
      }
    }
    for (let j = 0; j < survivors.length; j++) {
      if (survivors.vnode(j) === 1) continue;
      const parent = survivors.parent(j);
      const parentUnique = survivors.parentUnique(j);
      if (survivors.has(parent, parentUnique) || parent < 1) continue;
      const key = vnodeKey(parent, parentUnique);
      if (lost.has(key)) continue;
      lost.set(key, { vnode: parent, unique: parentUnique, path: parent === 1 ? '.' : null, partial: false, knownBy: 'parent' });
    }
  }
  const lostList = [...lost.values()].sort((a, b) => a.vnode - b.vnode || a.unique - b.unique);

  const index: Record<IndexClass, IndexLoss | null> = { large: null, small: null };
  for (const cls of ['large', 'small'] as const) {
    const h = indexes[cls];
    if (!h || incremental) continue;
    const surviving = survivors.count((j) => (survivors.vnode(j) % 2 === 1 ? 'large' : 'small') === cls);
    index[cls] = { declared: h.declared, lists: h.lists, surviving, lost: Math.max(0, h.declared - surviving) };
  }
  let count = 0;
  let exact = !incremental;
  for (const cls of ['large', 'small'] as const) {
    const listed = lostList.filter((l) => (l.vnode % 2 === 1 ? 'large' : 'small') === cls).length;
    if (index[cls]) count += Math.max(index[cls]!.lost, listed);
    else {
      count += listed;
      exact = false;
    }
  }

  // Damage, in file positions.
  const damage: DamageReport[] = walk.damage.map((d) => damageReport(d.code, firstFilePos(vs, d.start), d.message, vs.fileRanges(d.start, d.end)));
  for (const c of walk.cuts) {
    const atEnd = c.readableEnd >= vs.length;
    damage.push(damageReport(
      atEnd ? 'TRUNCATED' : 'CUT', firstFilePos(vs, c.at),
      atEnd
        ? `input ends inside the record that starts at ${firstFilePos(vs, c.at)}`
        : `the record that starts at ${firstFilePos(vs, c.at)} runs into lost bytes`,
      vs.fileRanges(c.at, c.readableEnd),
    ));
  }
  for (let i = 0; i < recs.length; i++) {
    if (recs.complete(i) || recs.kind(i) !== K_VNODE) continue;
    const at = recs.at(i);
    const end = recs.end(i);
    const atEnd = end > vs.length;
    const id = `${recs.vnode(i)}.${recs.unique(i)}`;
    const total = recs.dataKind(i) === D_FILEDATA ? recs.dataLength(i) : 0;
    const suspectWhy = recs.suspect(i);
    damage.push(damageReport(
      suspectWhy ? 'SUSPECT' : atEnd ? 'TRUNCATED' : 'CUT', firstFilePos(vs, at),
      suspectWhy === 'overlap'
        ? `vnode ${id}: a sound record starts inside its ${total} bytes of data; its data cannot be trusted`
        : suspectWhy === 'seam'
          ? `vnode ${id}: the record chain breaks right after it; its data may run across the seam`
          : `vnode ${id}: ${recs.dataReadable(i) ?? 0} of ${total} bytes of file data survive`,
      vs.fileRanges(at, Math.min(end, vs.length)),
    ));
  }
  if (wrap && wrap.model === 'A1') {
    const { seamStart: s, seamEnd: e } = wrap as { seamStart: number; seamEnd: number };
    damage.push(damageReport('OVERWRITTEN', s, `stream bytes [${s}, ${e}) are lost: the receiver wrote stream [${F}, ${wrap.streamLength}) over them`, [{ start: s, end: e }]));
  }
  damage.sort((a, b) => a.offset - b.offset);

  // Problems and verdict.
  // The same damage gets the same code as from verify: the findings start as
  // verify's (a straight parse of the file), then diagnose adds what only it
  // sees, under codes verify did not use.
  const problems: Problem[] = x.straight.map((p) => ({ ...p }));
  const straightCodes = new Set(problems.map((p) => p.code));
  if (wrap) {
    // A missing header is what the wraparound left, not a different kind of file.
    for (const p of problems) if (p.code === 'NOT_A_DUMP') p.severity = 'info';
    problems.push(wraparoundFinding(wrap, lostSummary(count, exact)));
    for (const p of x.problems) if (!straightCodes.has(p.code)) problems.push(p);
  } else {
    const only: Problem[] = [...x.problems];
    for (const d of damage) {
      if (d.code === 'CUT') continue;
      only.push(finding(d.code, d.offset, d.message, { severity: 'error', ...(d.vnode ? { vnode: d.vnode } : {}) }));
    }
    if (x.suspect) {
      only.push(finding('WRAPAROUND_SUSPECT', x.suspect.seamStart,
        `the size fits a wraparound (model A1, seam from ${x.suspect.seamStart}) but it could not be confirmed: ${x.suspect.reason}`));
    }
    for (const p of only) if (!straightCodes.has(p.code)) problems.push(p);
  }
  problems.sort((a, b) => a.offset - b.offset);
  // The verdict is verify's, unless diagnose proves the wraparound.
  const verdict: Verdict = wrap ? 'wraparound' : verdictOf(x.straight);

  return {
    path: src.name, size: F, wrapBits: x.wrapBits, wrapSize: x.W, chunkSize: x.chunkSize, declared: x.declared,
    verdict, wraparound: wrap, suspect: x.suspect, vs, walk, header, volume, indexes, incremental,
    survivors, lost: { count, exact, vnodes: lostList }, index, damage, problems, notes: x.notes,
  };
}

/** `N vnodes lost`, or `at least N` when the count is a lower bound. */
function lostSummary(count: number, exact: boolean): string {
  return `${exact ? '' : 'at least '}${count} vnodes lost`;
}

/** The one WRAPAROUND finding, as verify and diagnose both report it. */
export function wraparoundFinding(w: WrapInfo, lost: string): Problem {
  const seam = w.model === 'A1' ? `seam [${w.seamStart}, ${w.seamEnd}) overwritten by the stream's tail` : 'only the tail of the stream survives';
  return finding('WRAPAROUND', w.seamStart ?? 0,
    `4 GiB offset wraparound (model ${w.model}): ${seam}${w.streamLength !== null ? `; true length ${w.streamLength}` : ''}; ${lost} (see diagnose)`);
}

/** A view of `src` that the reader may close without closing `src`. */
export function borrowed(src: FileSource): ByteSource {
  return {
    name: src.name, seekable: true, size: src.size,
    read: (buf, at, len, position) => src.read(buf, at, len, position),
    discard: (n, position) => src.discard(n, position),
    close: async () => {},
  };
}

/**
 * Diagnose a dump file by path. A compressed input is decoded first into a
 * temporary file (io/positional-input.ts); positions are then in the
 * decoded dump stream, and the container's own findings are added.
 */
export async function diagnoseFile(path: string, opts: DiagnoseOptions = {}): Promise<Analysis> {
  const input = await openPositional(path, opts);
  try {
    const a = await analyzeSource(input.source, opts);
    return withContainer(a, input.container);
  } finally {
    await input.close();
  }
}

/** Add a container's findings to an analysis (the dump's verdict stays unless the container alone is at fault). */
export function withContainer(a: Analysis, c: ContainerInfo | undefined): Analysis {
  if (!c) return a;
  a.container = c;
  if (c.findings.length === 0) return a;
  a.problems = [...a.problems, ...c.findings];
  if (a.verdict !== 'wraparound') a.verdict = verdictOf(a.problems);
  return a;
}
