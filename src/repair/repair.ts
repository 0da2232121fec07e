/**
 * Salvage what survives of a damaged dump into a new, valid dump.
 *
 * The diagnosis (analyzeSource) gives the surviving records in stream order
 * (for a wraparound: the reordered stream [0,s) + [e,F) + [s,e)) with the
 * file ranges each came from. Repair then:
 *   - keeps every whole, usable vnode; drops partial ones (or, with
 *     keepPartial, keeps a file whose header survived, truncated to the
 *     contiguous data that survives);
 *   - keeps the tree consistent: directory entries naming vnodes that are
 *     not written are removed (the directory re-encoded, its other entries
 *     in their original creation order); vnodes no surviving directory
 *     reaches get a home in a new `lost+found` directory under the root,
 *     named `#<vnode>.<uniquifier>`, with their parent fields (and a
 *     directory's `..`) pointing there; a lost root is re-created;
 *   - synthesizes the dump header and volume data when they were lost;
 *   - rebuilds both index headers (declared = records written) and the end
 *     marker;
 *   - copies file data by position from the input (never all in memory),
 *     into an AtomicOutput (temporary file, then rename), sparse.
 * The input is only ever read.
 */
import { setFlagsFromString } from 'node:v8';
import { DEFAULT_ACL, formatAcl } from '../acl/acl.js';
import { creationOrder, decodeDirectory, encodeDirectory, entriesThatFit, validateDirectory, type DirEntry } from '../dir/pages.js';
import { VNODE_DIR } from '../format/constants.js';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeRmVnode, encodeVnode, encodeVolume, type HeaderFields, type VnodeFields, type VolumeFields } from '../format/encoder.js';
import { DumpError } from '../format/errors.js';
import { vnodeKey } from '../format/paths.js';
import { DirEntryList, ObjectSource, VolumeTree, type EntryList, type TreeSource } from '../format/tree.js';
import { NameStore, PackedEntries } from '../format/packed.js';
import { PairMap } from '../diagnose/survivors.js';
import type { CheckedTree } from '../check/checker.js';
import { vnodeSlot, type Vnode } from '../format/types.js';
import type { FileSystem } from '../io/fs.js';
import { openDumpOutput, type DumpOutput } from '../io/gzip-output.js';
import { openPositional } from '../io/positional-input.js';
import type { FileSource } from '../source/file.js';
import type { ContainerInfo } from '../source/container.js';
import { verifyFile } from '../check/verify.js';
import type { Problem, Verdict } from '../check/problems.js';
import { analyzeSource, withContainer, type Analysis, type DiagnoseOptions } from '../diagnose/diagnose.js';
import { K_RMVNODE, K_VNODE } from '../diagnose/records.js';
import type { FileRange } from '../diagnose/vstream.js';
import { refuseSameFile } from './guard.js';
import { RangeCopier } from './copy-ranges.js';
import { AtomicOutput } from '../io/atomic-output.js';
import { finding, type Finding } from '../diagnostics/finding.js';
import { pickDonor, relateDonors, type Donor, type DonorUse, type Outcome, type Relation } from './donors.js';
import { fieldsOf, soundPass, type SoundDump } from './straight.js';
import { wrapSizeOf } from '../diagnose/diagnose.js';
import { SERVER_CHUNK_SIZE } from '../io/chunker.js';
import type { DumpHeader, VolumeData } from '../format/types.js';

export interface RepairOptions extends DiagnoseOptions {
  force?: boolean;
  /** Write with O_DIRECT where the file system allows it (default true; AtomicOutputOptions.direct). */
  direct?: boolean;
  /**
   * Turn V8's allocation-site pretenuring off while a damaged dump is planned
   * and written, back on after (a process-wide V8 flag, so off by default;
   * the command line sets it): the write's short-lived objects then die young
   * instead of filling the old generation (a damaged dump of a million small
   * files: about 830 -> 600 MB peak RSS).
   */
  tuneHeap?: boolean;
  /** Keep files whose data was cut, truncated to what survives. */
  keepPartial?: boolean;
  /** For a synthesized dump header (when the original was lost). */
  volumeId?: number;
  volumeName?: string;
  /** Name of the directory for vnodes whose directory was lost (default lost+found). */
  lostFoundName?: string;
  /** The file-system seam for the input and the output (default node:fs). */
  fs?: Partial<FileSystem>;
  /** Write gzip (also when the output name ends in .gz). */
  gzip?: boolean;
  /** Sound dumps (read by merge/donors.ts) to take lost vnodes from. */
  donors?: readonly Donor[];
  /** Restore from donors only what they provably hold as it was lost (outcome exact). */
  exactOnly?: boolean;
}

/** One lost vnode and what became of it (only with donors). */
export interface Restored {
  vnode: number;
  unique: number;
  /** Its path in the repaired dump (restored), or where it was (lost); null when unknown. */
  path: string | null;
  outcome: Outcome;
  /** The donor it came from, with that donor's backup date. */
  donor?: string;
  date?: number;
  /** Not restored only because of --exact-only: the donor holding an older version. */
  olderIn?: string;
}

export const DEFAULT_RECOVERED_VOLUME_ID = 0x7f000001;
export const DEFAULT_RECOVERED_NAME = 'recovered.backup';

type Origin = 'survivor' | 'partial' | 'root' | 'lost+found' | 'donor' | 'rebuilt';

interface Planned {
  fields: VnodeFields;
  kind: 'dir' | 'file' | 'badinode';
  pages?: Buffer;
  /** File data: total length and where it comes from in the input. */
  length: number;
  data: FileRange[];
  origin: Origin;
  /** File ranges of the whole original record (survivors). */
  from: FileRange[];
  /** Entries to write (directories), when rebuilt. */
  entries?: DirEntry[];
  /** A directory's entries as they are (none removed), packed: made objects again (`entries`) only to change them. */
  packed?: PackedEntries;
  rebuilt?: boolean;
  changes: string[];
  oldPath: string | null;
  /** Position in the walk (stream order). */
  seq: number;
  /** Where `data` is read from, when not the damaged dump (a donor). */
  source?: FileSource;
}

const NO_CHANGES: string[] = Object.freeze([]) as unknown as string[];

/**
 * A survivor that is a file, link or bad inode written as it was read (no
 * change made when it was collected): it keeps only the numbers planning
 * uses; its fields, file ranges and record ranges are decoded again from
 * its record (the walk's table) when they are asked for. `materialize`
 * makes its fields its own, to change them (then `fields` is that copy).
 */
class LightSurvivor implements Planned {
  /** Its own fields and changes, once made (materialize). */
  private m: { fields: VnodeFields; changes: string[] } | undefined = undefined;

  constructor(
    private readonly a: Analysis,
    /** Its record (and stream position in the walk): the index in the walk's table. */
    readonly seq: number,
    /** Its data length (a file), or -1 (a bad inode): four numbers an object, a million of them (issue #17). */
    private readonly len: number,
  ) {}

  get kind(): 'file' | 'badinode' {
    return this.len < 0 ? 'badinode' : 'file';
  }
  get length(): number {
    return this.len < 0 ? 0 : this.len;
  }
  private get f(): VnodeFields | undefined {
    return this.m?.fields;
  }

  get origin(): Origin {
    return 'survivor';
  }
  get oldPath(): string | null {
    return null;
  }
  get fields(): VnodeFields {
    return this.f ?? fieldsOf(this.a.walk.records.vnodeRec(this.seq));
  }
  get data(): FileRange[] {
    if (this.kind !== 'file') return [];
    const start = this.a.walk.records.dataStart(this.seq);
    return this.a.vs.fileRanges(start, start + this.length);
  }
  get from(): FileRange[] {
    const recs = this.a.walk.records;
    return this.a.vs.fileRanges(recs.at(this.seq), recs.end(this.seq));
  }
  get changes(): string[] {
    return this.m?.changes ?? NO_CHANGES;
  }
  /** Its fields as its own copy (to change them), and its list of changes. */
  materialize(): { fields: VnodeFields; changes: string[] } {
    return (this.m ??= { fields: fieldsOf(this.a.walk.records.vnodeRec(this.seq)), changes: [] });
  }
  get vnode(): number {
    return this.f ? this.f.vnode : this.a.walk.records.vnode(this.seq);
  }
  get unique(): number {
    return this.f ? this.f.unique : this.a.walk.records.unique(this.seq);
  }
  get parent(): number {
    return this.f ? this.f.parent : this.a.walk.records.parent(this.seq);
  }
  get parentUnique(): number {
    return this.f ? this.f.parentUnique : this.a.walk.records.parentUnique(this.seq);
  }
  get type(): number {
    return this.f ? this.f.type : this.a.walk.records.type(this.seq);
  }
}

/** A planned vnode's numbers, without decoding a light survivor's record. */
const vnOf = (p: Planned): number => (p instanceof LightSurvivor ? p.vnode : p.fields.vnode);
const unOf = (p: Planned): number => (p instanceof LightSurvivor ? p.unique : p.fields.unique);
const parOf = (p: Planned): number => (p instanceof LightSurvivor ? p.parent : p.fields.parent);
const parUOf = (p: Planned): number => (p instanceof LightSurvivor ? p.parentUnique : p.fields.parentUnique);
const typeOf = (p: Planned): number => (p instanceof LightSurvivor ? p.type : p.fields.type);
/** (A light survivor's mtime and store host are in its record: decoded again.) */
const mtimeOf = (p: Planned): number => p.fields.mtime;
const storeHostOf = (p: Planned): number => p.fields.vv.storeHost;
const keyOf = (p: Planned): string => vnodeKey(vnOf(p), unOf(p));
const unOfFirst = (p: Planned | undefined): number => (p ? unOf(p) : 1);
/** Its fields and changes, to change them (a light survivor's made its own first). */
const own = (p: Planned): { fields: VnodeFields; changes: string[] } => (p instanceof LightSurvivor ? p.materialize() : p);

export interface RepairedVnode {
  vnode: number;
  unique: number;
  type: 'dir' | 'file' | 'symlink';
  path: string | null;
  origin: Origin;
  /** Input file ranges the record (and its data) came from; empty for synthesized ones. */
  from: FileRange[];
  changes: string[];
}

/** One vnode's sources, in output order (the text report's "sources"); `from` may be reused for the next vnode: read it during the call. */
export type SourceVisitor = (vnode: number, unique: number, from: FileRange[]) => void;

export interface RepairReport {
  input: string;
  output: string;
  verdictBefore: Verdict;
  model: string | null;
  bytesWritten: number;
  synthesized: string[];
  dropped: { vnode: number; unique: number; path: string | null; reason: string }[];
  keptPartial: { vnode: number; unique: number; path: string | null; kept: number; of: number }[];
  removedEntries: { dir: string; name: string; vnode: number; unique: number }[];
  rehomed: { vnode: number; unique: number; name: string; oldParent: string }[];
  volumeChanges: string[];
  written: { large: number; small: number };
  vnodes: RepairedVnode[];
  /**
   * Every vnode's sources in output order, without making `vnodes` (not
   * enumerable: not in --json; absent from a report that was copied).
   */
  sources?: (each: SourceVisitor) => void;
  /** With donors: the donors used, every lost vnode's outcome, and the counts. */
  donors?: { name: string; date: number; relation: Relation; sameRun: boolean }[];
  restored?: Restored[];
  counts?: { exact: number; older: number; lost: number };
  /** With donors: one finding per lost vnode (RESTORED_EXACT, RESTORED_OLDER, VNODE_LOST). */
  findings?: Finding[];
  verify: { verdict: Verdict; problems: Problem[] };
}

const key = (v: { vnode: number; unique: number }) => vnodeKey(v.vnode, v.unique);
const isDirNumber = (n: number) => n % 2 === 1;

function typeName(t: number): 'dir' | 'file' | 'symlink' {
  return t === 2 ? 'dir' : t === 3 ? 'symlink' : 'file';
}

/** The directory's entries in an order that re-creates it (`.` and `..` first). */
function orderedEntries(pages: Buffer): DirEntry[] {
  const order = creationOrder(pages) ?? decodeDirectory(pages);
  const dot = order.filter((e) => e.name === '.');
  const dotdot = order.filter((e) => e.name === '..');
  const rest = order.filter((e) => e.name !== '.' && e.name !== '..');
  return [...dot.slice(0, 1), ...dotdot.slice(0, 1), ...rest].map((e) => ({ name: e.name, vnode: e.vnode, unique: e.unique }));
}

const ORIGINS: readonly Origin[] = ['survivor', 'partial', 'root', 'lost+found', 'donor', 'rebuilt'];
const TYPES = ['file', 'dir', 'symlink'] as const;

/**
 * The written vnodes in output order, as the report needs them: numbers,
 * type and origin in typed arrays, each one's input range (more than one
 * range, and the changes, only where there are), and the directories'
 * entries for paths in the repaired tree (made when asked for).
 */
class RepairedList implements TreeSource {
  readonly size: number;
  private readonly vn: Uint32Array;
  private readonly un: Uint32Array;
  private readonly par: Uint32Array;
  private readonly parU: Uint32Array;
  /** Origin * 4 + type. */
  private readonly kind: Uint8Array;
  /** The one input range of a vnode's record (fromCount 1). */
  private readonly fromStart: Float64Array;
  private readonly fromEnd: Float64Array;
  private readonly fromCount: Uint8Array;
  private readonly fromMany = new Map<number, FileRange[]>();
  private readonly changes = new Map<number, string[]>();
  private readonly lists = new Map<number, EntryList>();
  private readonly pairs: PairMap | null;
  /** Tree of the planned vnodes when a number does not fit 32 bits (then this list's own table is not used). */
  private readonly other: VolumeTree | null;
  private readonly rootIndex: number;
  private tree: VolumeTree | null = null;
  /**
   * Every number fits 32 bits: the directories' entries are this list's
   * own (packed: 12 bytes an entry and its name's bytes), and the planned
   * directories' entry objects are no longer needed once their pages are
   * encoded (a million entries: about 90 MB of objects through the write).
   */
  readonly plain: boolean;

  constructor(planned: readonly Planned[], root: Planned | undefined) {
    const n = (this.size = planned.length);
    this.vn = new Uint32Array(n);
    this.un = new Uint32Array(n);
    this.par = new Uint32Array(n);
    this.parU = new Uint32Array(n);
    this.kind = new Uint8Array(n);
    this.fromStart = new Float64Array(n);
    this.fromEnd = new Float64Array(n);
    this.fromCount = new Uint8Array(n);
    const u32 = (x: number) => x >>> 0 === x;
    const plain = (this.plain = planned.every((p) => u32(vnOf(p)) && u32(unOf(p)) && u32(parOf(p)) && u32(parUOf(p))));
    const names = new NameStore();
    this.rootIndex = root ? planned.indexOf(root) : -1;
    for (let i = 0; i < n; i++) {
      const p = planned[i];
      this.vn[i] = vnOf(p);
      this.un[i] = unOf(p);
      this.par[i] = parOf(p);
      this.parU[i] = parUOf(p);
      this.kind[i] = ORIGINS.indexOf(p.origin) * 4 + TYPES.indexOf(typeName(typeOf(p)));
      const from = p.from;
      if (from.length === 1) {
        this.fromStart[i] = from[0].start;
        this.fromEnd[i] = from[0].end;
        this.fromCount[i] = 1;
      } else if (from.length > 1) {
        this.fromMany.set(i, from);
        this.fromCount[i] = 2;
      }
      if (p.changes.length > 0) this.changes.set(i, p.changes);
      if (plain && p.kind === 'dir') this.lists.set(i, p.entries ? new PackedEntries(p.entries, names) : p.packed ?? new PackedEntries(entriesOf(p), names));
    }
    if (plain) {
      const pairs = (this.pairs = new PairMap((i) => this.un[i], n));
      for (let i = 0; i < n; i++) pairs.set(this.vn[i], this.un[i], i);
      this.other = null;
    } else {
      this.pairs = null;
      this.other = root ? plannedTree(planned) : null;
    }
  }

  vnode(i: number): number {
    return this.vn[i];
  }
  unique(i: number): number {
    return this.un[i];
  }
  find(vnode: number, unique: number): number {
    return this.pairs!.get(vnode, unique);
  }
  entries(i: number): EntryList | undefined {
    return this.lists.get(i);
  }
  parent(i: number): number {
    return this.par[i];
  }
  parentUnique(i: number): number {
    return this.parU[i];
  }

  private from(i: number): FileRange[] {
    const c = this.fromCount[i];
    return c === 0 ? [] : c === 1 ? [{ start: this.fromStart[i], end: this.fromEnd[i] }] : this.fromMany.get(i)!;
  }

  /** Paths in the repaired tree (the root is '.') by pair: the path of the first vnode of the pair that one reaches. */
  newPath(): Map<string, string> {
    const newPath = new Map<string, string>();
    const r = this.rootIndex;
    if (r < 0) return newPath;
    if (!this.tree) {
      this.tree = this.other ?? new VolumeTree(this);
      this.tree.walk(r);
    }
    const tree = this.tree;
    for (let i = 0; i < this.size; i++) {
      const path = i === r ? '.' : tree.path(i);
      const k = vnodeKey(this.vn[i], this.un[i]);
      if (path !== null && !newPath.has(k)) newPath.set(k, path);
    }
    return newPath;
  }

  /** The report's vnode list. */
  vnodes(): RepairedVnode[] {
    const newPath = this.newPath();
    const out: RepairedVnode[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) {
      const k = this.kind[i];
      out[i] = {
        vnode: this.vn[i], unique: this.un[i], type: TYPES[k & 3], path: newPath.get(vnodeKey(this.vn[i], this.un[i])) ?? null,
        origin: ORIGINS[k >> 2], from: this.from(i), changes: this.changes.get(i) ?? [],
      };
    }
    return out;
  }

  /** Each vnode's sources, in output order. */
  sources(each: SourceVisitor): void {
    for (let i = 0; i < this.size; i++) each(this.vn[i], this.un[i], this.from(i));
  }
}

/**
 * The planned vnodes by pair (the last one set for a pair), through a
 * PairMap (no string key a vnode); pairs that are not two 32-bit numbers in
 * a map of their own.
 */
class PlannedIndex {
  private readonly list: Planned[] = [];
  private readonly pairs: PairMap;
  private readonly odd = new Map<string, Planned>();

  constructor(expected: number) {
    this.pairs = new PairMap((i) => unOf(this.list[i]), expected);
  }

  set(p: Planned): void {
    const v = vnOf(p);
    const u = unOf(p);
    if (v >>> 0 === v && u >>> 0 === u) {
      this.list.push(p);
      this.pairs.set(v, u, this.list.length - 1);
    } else this.odd.set(vnodeKey(v, u), p);
  }

  get(vnode: number, unique: number): Planned | undefined {
    if (vnode >>> 0 === vnode && unique >>> 0 === unique) {
      const i = this.pairs.get(vnode, unique);
      return i >= 0 ? this.list[i] : undefined;
    }
    return this.odd.get(vnodeKey(vnode, unique));
  }
}

/**
 * The planned vnodes as the one volume tree model sees them (directories
 * with their entries as they are now), found by pair through a table of
 * typed arrays (the last vnode with a pair stands for it, as in
 * ObjectSource, which is used only for pairs that are not two 32-bit
 * numbers).
 */
function plannedTree(planned: readonly Planned[]): VolumeTree {
  const u32 = (x: number) => x >>> 0 === x;
  if (!planned.every((p) => u32(vnOf(p)) && u32(unOf(p)))) {
    const vs = planned.map((p) => ({ vnode: vnOf(p), unique: unOf(p), p }));
    return new VolumeTree(new ObjectSource(vs, vs.length, (v) => (v.p.kind === 'dir' ? new DirEntryList(entriesOf(v.p)) : undefined)));
  }
  return new VolumeTree(new PlannedSource(planned));
}

class PlannedSource implements TreeSource {
  readonly size: number;
  private readonly pairs: PairMap;
  private readonly lists = new Map<number, EntryList>();

  constructor(private readonly planned: readonly Planned[]) {
    this.size = planned.length;
    this.pairs = new PairMap((i) => unOf(planned[i]), planned.length);
    for (let i = 0; i < planned.length; i++) {
      const p = planned[i];
      this.pairs.set(vnOf(p), unOf(p), i);
      if (p.kind === 'dir') this.lists.set(i, entryListOf(p));
    }
  }

  vnode(i: number): number {
    return vnOf(this.planned[i]);
  }
  unique(i: number): number {
    return unOf(this.planned[i]);
  }
  find(vnode: number, unique: number): number {
    return this.pairs.get(vnode, unique);
  }
  entries(i: number): EntryList | undefined {
    return this.lists.get(i);
  }
  parent(i: number): number {
    return parOf(this.planned[i]);
  }
  parentUnique(i: number): number {
    return parUOf(this.planned[i]);
  }
}

function pathJoin(base: string | null, name: string): string | null {
  if (base === null) return null;
  return base === '.' ? name : `${base}/${name}`;
}

export async function repairFile(input: string, output: string, opts: RepairOptions = {}): Promise<RepairReport> {
  refuseSameFile(input, output);
  for (const d of opts.donors ?? []) for (const f of d.files) refuseSameFile(f, output);
  // A compressed input is decoded into a temporary file first (positions are in the dump stream).
  const input_ = await openPositional(input, opts);
  const src = input_.source;
  let out: DumpOutput | null = null;
  try {
    // Direct I/O where the file system takes it (the disk writes the output as it is made), else write-behind.
    out = openDumpOutput(output, { force: opts.force, sparse: true, gzip: opts.gzip, fs: opts.fs, writeBehind: true, direct: opts.direct ?? true });
    const { report, verified } = await analyzePlanWrite(src, input_.container, out, opts);
    if (out instanceof AtomicOutput) await out.drain();
    const bytesWritten = out.bytesWritten;
    out.commit();
    // The analysis and the plan are garbage by now: verify's own tables do not come on top of them.
    // (A sound dump copied as it is was verified as it was read: the output is those bytes.)
    const v = verified ?? (await verifyFile(output, { fs: opts.fs }));
    // The same keys in the same order as spreading the report, without making its vnode list.
    return Object.assign(report as RepairReport, { input, output, bytesWritten, verify: { verdict: v.verdict, problems: v.problems } });
  } finally {
    out?.abort();
    await input_.close();
  }
}

/**
 * Diagnose, plan and write; only the report outlives this. A sound dump
 * whose repair would be itself (straight.ts) is copied without the
 * diagnosis; then `verified` is verify's result on the bytes copied.
 */
async function analyzePlanWrite(
  src: FileSource, container: ContainerInfo | undefined, out: DumpOutput, opts: RepairOptions,
): Promise<{ report: Plan['report']; verified?: { verdict: Verdict; problems: Problem[] } }> {
  let straight: Problem[] | undefined;
  if (mayCopySound(src, container, out, opts)) {
    const pass = await soundPass(src);
    const report = pass.sound ? await copySound(pass.sound, src, out) : null;
    if (report) return { report, verified: { verdict: 'ok', problems: [] } };
    straight = pass.problems ?? undefined;
  }
  const a = await analyzeSource(src, opts, straight);
  // V8 allocates straight into the old generation for an allocation site whose objects mostly lived on
  // (the plan's), where that site's later objects (the write's, a set a vnode) die at once: they stay
  // until a mark-compact, and the heap grows by hundreds of MB (issue #17, a damaged dump of a million
  // small files: 830 -> about 600 MB peak RSS). Off for the plan and the write only: the copy of a sound
  // dump is faster with it. (V8 reads the flag at each collection.) A V8 flag is the whole process's:
  // only where the caller asks (RepairOptions.tuneHeap; the command line does).
  const tune = opts.tuneHeap === true;
  if (tune) setFlagsFromString('--no-allocation-site-pretenuring');
  try {
    const plan = planRepair(withContainer(a, container), opts);
    keepPageCacheForSmallFiles(out, src.size, plan.vnodes.length);
    await writePlan(plan, src, out, opts.fs === undefined);
    return { report: plan.report };
  } finally {
    if (tune) setFlagsFromString('--allocation-site-pretenuring');
  }
}

/**
 * Whether a sound dump may be copied without the diagnosis: a raw dump
 * read from a file (no container, no file-system seam), written as a raw
 * dump (verify of a gzip output would read its container too), no donors,
 * and a size the diagnosis would not try as a wraparound (model A1).
 */
function mayCopySound(src: FileSource, container: ContainerInfo | undefined, out: DumpOutput, opts: RepairOptions): boolean {
  const W = wrapSizeOf(opts.wrapBits ?? 32);
  const F = src.size;
  const a1Suspect = F > W && F <= W + (opts.chunkSize ?? SERVER_CHUNK_SIZE);
  return !container && out instanceof AtomicOutput && opts.fs === undefined && (opts.donors ?? []).length === 0 && !a1Suspect;
}

/**
 * Copy a sound dump as repair would write it (null when one of the records
 * repair brings up to date, the volume data or an index header, would
 * change: then it is planned as any other). Nothing a vnode is made: the
 * report reads the verify checker's tables.
 */
/** A dump is written with direct I/O only when its vnodes average this many bytes (records and file data) or more. */
const DIRECT_MIN_AVERAGE = 64 * 1024;

/**
 * A dump of small files is written through the page cache (direct I/O given
 * up before the first byte): its tables are most of the memory (a million
 * vnodes: about 130 MB) and the slots would come on top, and verify reads
 * such an output back whole (its records are between their data), from the
 * disk after direct writes (a damaged 2 GB dump of 300,000 files: 1 to 4 s
 * more). Big files: verify reads their records only, and direct I/O writes
 * the data.
 */
function keepPageCacheForSmallFiles(out: DumpOutput, size: number, vnodes: number): void {
  if (out instanceof AtomicOutput && size < DIRECT_MIN_AVERAGE * Math.max(1, vnodes)) out.withoutDirect();
}

async function copySound(s: SoundDump, src: FileSource, out: DumpOutput): Promise<Plan['report'] | null> {
  const volumeChanges: string[] = [];
  const nextUnique = Math.max(s.volume.nextUniquifier ?? 0, s.maxUnique + 1);
  const header = headerFieldsOf(s.header);
  const volume = updatedVolume(s.volume, nextUnique, s.files, false, volumeChanges);
  const written = { large: s.counts.large, small: s.counts.small };
  const lists = { large: Math.max(s.indexes.large.lists ?? 8, s.slots.large, 1), small: Math.max(s.indexes.small.lists ?? 1, s.slots.small, 1) };
  const same = async (b: Buffer, at: number, size: number): Promise<boolean> => {
    if (b.length !== size) return false;
    const have = Buffer.alloc(size);
    return (await src.read(have, 0, size, at)) === size && have.equals(b);
  };
  const { large, small } = s.indexes;
  if (
    !(await same(encodeHeader(header), s.header.offset, s.header.size)) || !(await same(encodeVolume(volume), s.volume.offset, s.volume.size)) ||
    !(await same(encodeIndexHeader('large', written.large, lists.large), large.offset, large.size)) ||
    !(await same(encodeIndexHeader('small', written.small, lists.small), small.offset, small.size)) || !(await same(encodeEnd(), s.endAt, src.size - s.endAt))
  ) return null;
  const tree = s.tree;
  // The vnode whose record or data holds a position (offsets increase), for the message when the input ends early.
  const vnodeAt = (pos: number): string => {
    let lo = 0;
    let hi = tree.size - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (tree.offset(mid) <= pos) lo = mid;
      else hi = mid - 1;
    }
    return tree.size > 0 && tree.offset(lo) <= pos && pos < tree.end(lo) ? `${tree.vnode(lo)}.${tree.unique(lo)}` : '(none: a header record)';
  };
  keepPageCacheForSmallFiles(out, src.size, s.counts.large + s.counts.small);
  const copier = new RangeCopier(out, true, (pos) => inputEnded(pos, vnodeAt(pos), src));
  await copier.range(src, 0, src.size, '');
  await copier.finish();
  const report = {
    verdictBefore: 'ok', model: null, synthesized: [], dropped: [], keptPartial: [], removedEntries: [], rehomed: [], volumeChanges, written,
  } as unknown as Plan['report'];
  return withVnodes(report, new SoundList(tree));
}

/**
 * The report's vnode list of a sound dump copied as it is: the checker's
 * columns in stream order (= output order), paths from its tree.
 */
class SoundList {
  constructor(private readonly t: CheckedTree) {}

  vnodes(): RepairedVnode[] {
    const t = this.t;
    const tree = new VolumeTree(t);
    const r = tree.root;
    if (r >= 0) tree.walk(r);
    const out: RepairedVnode[] = new Array(t.size);
    for (let i = 0; i < t.size; i++) {
      out[i] = {
        vnode: t.vnode(i), unique: t.unique(i), type: typeName(t.type(i)), path: i === r ? '.' : r >= 0 ? tree.path(i) : null,
        origin: 'survivor', from: [{ start: t.offset(i), end: t.end(i) }], changes: [],
      };
    }
    return out;
  }

  /** One range a vnode, in one array given each time (a million vnodes make no garbage): read it during the call. */
  sources(each: SourceVisitor): void {
    const t = this.t;
    const range = { start: 0, end: 0 };
    const from = [range];
    for (let i = 0; i < t.size; i++) {
      range.start = t.offset(i);
      range.end = t.end(i);
      each(t.vnode(i), t.unique(i), from);
    }
  }
}

/** The report's `vnodes`, made when read (--json), and its `sources` (the text report reads only these). */
function withVnodes(report: Plan['report'], list: { vnodes(): RepairedVnode[]; sources(each: SourceVisitor): void }): Plan['report'] {
  let vnodes: RepairedVnode[] | undefined;
  Object.defineProperty(report, 'vnodes', {
    enumerable: true, configurable: true,
    get: () => (vnodes ??= list.vnodes()),
    set: (v: RepairedVnode[]) => {
      vnodes = v;
    },
  });
  Object.defineProperty(report, 'sources', { enumerable: false, value: (each: SourceVisitor) => list.sources(each) });
  return report;
}

export interface Plan {
  header: HeaderFields;
  volume: VolumeFields;
  lists: { large: number; small: number };
  /** Index 'v' counts: records written (full dumps), the original counts (incrementals). */
  declared: { large: number; small: number };
  /** RMVNODE records of an incremental dump, with their stream order. */
  removed: { vnode: number; unique: number; seq: number }[];
  vnodes: Planned[];
  report: Omit<RepairReport, 'input' | 'output' | 'bytesWritten' | 'verify'>;
}

/** What the stages of planRepair share: the analysis, the vnodes planned so far and the report being written. */
interface Work {
  a: Analysis;
  opts: RepairOptions;
  incremental: boolean;
  /** The vnodes to write. */
  planned: Planned[];
  byKey: PlannedIndex;
  /** RMVNODE records of an incremental dump, with their stream order. */
  removed: Plan['removed'];
  root: Planned | undefined;
  nextUnique: number;
  maxDir: number;
  latestMtime: number;
  /** Over the light survivors (collectVnodes): the latest mtime, and whether one has a store host. */
  lightMtime: number;
  lightHost: boolean;
  storeHost: number;
  /** By index in `planned` (as of the last walk): the first directory (in reach order from the root) naming it. */
  homes: (Planned | undefined)[];
  synthesized: string[];
  dropped: RepairReport['dropped'];
  keptPartial: RepairReport['keptPartial'];
  removedEntries: RepairReport['removedEntries'];
  rehomed: RepairReport['rehomed'];
  volumeChanges: string[];
}

/** A directory's entries (decoded from its pages once, then edited in place). */
function entriesOf(p: Planned): DirEntry[] {
  if (!p.entries) {
    const k = p.packed;
    p.entries = k ? unpacked(k) : orderedEntries(p.pages!);
    p.packed = undefined;
  }
  return p.entries;
}

/** A directory's entries to read (packed where they are, without making objects). */
function entryListOf(p: Planned): EntryList {
  return p.entries ? new DirEntryList(p.entries) : p.packed ?? new DirEntryList(entriesOf(p));
}

function unpacked(k: PackedEntries): DirEntry[] {
  const out: DirEntry[] = new Array(k.count);
  for (let i = 0; i < k.count; i++) out[i] = { name: k.name(i), vnode: k.vnode(i), unique: k.unique(i) };
  return out;
}

/** The index of the first entry with this name, or -1. */
function firstNamed(l: EntryList, name: string): number {
  for (let k = 0; k < l.count; k++) if (l.name(k) === name) return k;
  return -1;
}

/**
 * Plan the repaired dump, stage by stage: the vnodes that survive (1), what
 * donors give back (1b), what is dropped (1c), the root (2), entries naming
 * what is not written (3), homes for what no directory reaches (4) and
 * parent links (5), directory pages (6), header and volume (7), index
 * lists and the report (8).
 */
export function planRepair(a: Analysis, opts: RepairOptions = {}): Plan {
  const w: Work = {
    a, opts, incremental: a.incremental, planned: [], byKey: new PlannedIndex(0),
    removed: [], root: undefined, nextUnique: 0, maxDir: 1, latestMtime: 0, lightMtime: 0, lightHost: false, storeHost: 0, homes: [],
    synthesized: [], dropped: [], keptPartial: [], removedEntries: [], rehomed: [], volumeChanges: [],
  };
  collectVnodes(w);
  const donorStage = opts.donors && opts.donors.length > 0 ? restoreFromDonors(a, opts, w.planned) : null;
  if (donorStage) {
    // A file a donor gave back whole is no longer kept in part.
    const partial = new Set(w.planned.filter((p) => p.origin === 'partial').map((p) => key(p.fields)));
    for (let i = w.keptPartial.length - 1; i >= 0; i--) if (!partial.has(key(w.keptPartial[i]))) w.keptPartial.splice(i, 1);
    rebuildLostDirectories(w, opts.donors!);
  }
  listDropped(w);
  w.planned.sort(outputOrder(a.incremental));
  tally(w);
  placeRoot(w);
  pruneEntries(w);
  if (!w.incremental && w.root) {
    homeOrphans(w);
    fixParents(w);
  }
  encodeDirectories(w);
  const { header, volume } = headerAndVolume(w);
  return finish(w, header, volume, donorStage);
}

/** The survivor that record i is (-1: it is not one). */
function survivorAt(a: Analysis, i: number): number {
  const recs = a.walk.records;
  const j = a.survivors.find(recs.vnode(i), recs.unique(i));
  return j >= 0 && a.survivors.record(j) === i ? j : -1;
}

/** 1. The vnodes to write, in stream order (survivors; with keepPartial, files cut short). */
function collectVnodes(w: Work): void {
  const { a, opts, planned, keptPartial, removed } = w;
  const vs = a.vs;
  const recs = a.walk.records;
  // Pairs written from a partial record (few): a later record of the pair is not written again.
  const partialSeen = new Set<string>();
  const lostPath = new Map(a.lost.vnodes.map((l) => [key(l), l.path]));
  for (let seq = 0; seq < recs.length; seq++) {
    const kind = recs.kind(seq);
    if (kind === K_RMVNODE && a.incremental && !recs.afterEnd(seq)) removed.push({ vnode: recs.vnode(seq), unique: recs.unique(seq), seq });
    if (kind !== K_VNODE) continue;
    const j = survivorAt(a, seq);
    if (j < 0 && recs.complete(seq)) continue;
    const k = vnodeKey(recs.vnode(seq), recs.unique(seq));
    // Written already: from an earlier partial record, or (for a partial one) as the survivor of an earlier record.
    if (partialSeen.has(k)) continue;
    if (j < 0) {
      const sj = a.survivors.find(recs.vnode(seq), recs.unique(seq));
      if (sj >= 0 && a.survivors.record(sj) < seq) continue;
    }
    const f = recs.get(seq);
    const v = f.rec as Vnode;
    if (j >= 0) {
      const light = v.type !== VNODE_DIR && v.mode <= 0o7777
        && ((v.data.kind === 'filedata' && v.length === v.data.length && recs.dataStart(seq) === v.data.start) || v.data.kind === 'badinode');
      if (light) {
        planned.push(new LightSurvivor(a, seq, v.data.kind === 'filedata' ? v.data.length : -1));
        w.lightMtime = Math.max(w.lightMtime, v.mtime);
        if (v.vv.storeHost !== 0) w.lightHost = true;
        continue;
      }
      const p: Planned = {
        fields: fieldsOf(v), kind: v.type === VNODE_DIR ? 'dir' : v.data.kind === 'badinode' ? 'badinode' : 'file',
        length: 0, data: [], origin: 'survivor', from: a.survivors.from(j), changes: [], oldPath: null, seq,
      };
      if (v.data.kind === 'dirpages') p.pages = v.data.pages;
      if (v.data.kind === 'filedata') {
        p.length = v.data.length;
        p.data = vs.fileRanges(v.data.start, v.data.start + v.data.length);
        if (v.length !== v.data.length) {
          p.changes.push(`declared length ${v.length} set to the ${v.data.length} bytes of data`);
          p.fields.length = v.data.length;
        }
      }
      if (v.mode > 0o7777) p.changes.push(`mode 0${v.mode.toString(8)} cut to its permission bits`);
      if (p.kind === 'dir' && p.fields.acl === undefined && p.fields.rawAcl === undefined) {
        p.fields.acl = formatAcl(DEFAULT_ACL);
        p.changes.push('missing access list replaced by the default one');
      }
      planned.push(p);
    } else if (!f.complete) {
      const partialFile = v.data.kind === 'filedata' && v.type !== VNODE_DIR && (v.type === 1 || v.type === 3) && !isDirNumber(v.vnode)
        && f.suspect !== 'overlap' && !(f.suspect === 'seam' && (f.dataReadable ?? 0) === 0);
      if (opts.keepPartial && partialFile && v.data.kind === 'filedata') {
        partialSeen.add(k);
        const kept = f.dataReadable ?? 0;
        const p: Planned = {
          fields: { ...fieldsOf(v), length: kept }, kind: 'file', length: kept,
          data: vs.fileRanges(v.data.start, v.data.start + kept), origin: 'partial',
          from: vs.fileRanges(f.at, v.data.start + kept),
          changes: [`truncated to the ${kept} of ${v.data.length} bytes that survive`], oldPath: lostPath.get(k) ?? null, seq,
        };
        planned.push(p);
        keptPartial.push({ vnode: v.vnode, unique: v.unique, path: p.oldPath, kept, of: v.data.length });
      }
    }
  }
}

/**
 * 1b (with donors). A lost directory that no donor gave back (none has it,
 * or only an older version with --exact-only) is rebuilt from the parent
 * links of the vnodes written, with the names a donor's version of it gives
 * them (else `#<vnode>.<uniquifier>`). Its own record is lost: its entry in
 * a surviving parent puts it back in place, else it goes to lost+found.
 */
function rebuildLostDirectories(w: Work, donors: readonly Donor[]): void {
  const { a, planned } = w;
  const have = new Set(planned.map(keyOf));
  const numbers = new Set(planned.map(vnOf));
  const lostDirs = new Set(a.lost.vnodes.filter((l) => isDirNumber(l.vnode)).map((l) => key(l)));
  const children = new Map<string, Planned[]>();
  for (const p of planned) {
    const pk = vnodeKey(parOf(p), parUOf(p));
    if (p.origin === 'partial' || pk === keyOf(p) || have.has(pk) || !lostDirs.has(pk) || numbers.has(parOf(p))) continue;
    const l = children.get(pk);
    if (l) l.push(p);
    else children.set(pk, [p]);
  }
  for (const [pk, kids] of children) {
    const [vnode, unique] = pk.split('.').map(Number);
    let donorDir: Vnode | undefined;
    let from = '';
    for (const d of donors) {
      const x = d.vnodes.get(pk)?.rec;
      if (x && x.data.kind === 'dirpages') {
        donorDir = x;
        from = d.name;
        break;
      }
    }
    const names = new Map<string, string>();
    if (donorDir && donorDir.data.kind === 'dirpages') {
      try {
        for (const e of decodeDirectory(donorDir.data.pages)) if (e.name !== '.' && e.name !== '..') names.set(key(e), e.name);
      } catch {
        // pages that do not decode give no names
      }
    }
    const parent = donorDir ? { vnode: donorDir.parent, unique: donorDir.parentUnique } : { vnode: 1, unique: unOfFirst(planned.find((p) => vnOf(p) === 1)) };
    const entries: DirEntry[] = [{ name: '.', vnode, unique }, { name: '..', vnode: parent.vnode, unique: parent.unique }];
    const used = new Set<string>();
    const byDonor: boolean[] = [];
    for (const k of kids) {
      let name = names.get(key(k.fields));
      const known = name !== undefined && !used.has(name);
      if (!known) name = `#${k.fields.vnode}.${k.fields.unique}`;
      byDonor.push(known);
      used.add(name!);
      entries.push({ name: name!, vnode: k.fields.vnode, unique: k.fields.unique });
    }
    // Names by number can be longer than the names they stand for: the entries that do not fit
    // in 128 pages are left out, and their vnodes go to lost+found (stage 4) like other orphans.
    const fit = entriesThatFit(entries.map((e) => e.name));
    const left = entries.length - fit;
    if (left > 0) {
      entries.length = fit;
      kids.length = fit - 2;
      byDonor.length = fit - 2;
    }
    const named = byDonor.filter(Boolean).length;
    const first = kids[0].fields;
    const mtime = kids.reduce((m, k) => Math.max(m, mtimeOf(k)), 0);
    planned.push({
      fields: {
        vnode, unique, type: VNODE_DIR, mode: donorDir ? donorDir.mode & 0o7777 : 0o755, linkCount: 2 + kids.filter((k) => k.kind === 'dir').length, length: 0,
        dataVersion: 1, vv: { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost: first.vv.storeHost, storeUniq: unique, flags: 0 },
        mtime, author: donorDir?.author ?? first.author, owner: donorDir?.owner ?? first.owner, parent: parent.vnode, parentUnique: parent.unique,
        acl: donorDir?.acl ?? formatAcl(DEFAULT_ACL),
      },
      kind: 'dir', length: 0, data: [], origin: 'rebuilt', from: [], entries, rebuilt: true,
      changes: [`rebuilt from ${kids.length} parent link${kids.length === 1 ? '' : 's'}`], oldPath: a.lost.vnodes.find((l) => key(l) === pk)?.path ?? null,
      seq: Number.MAX_SAFE_INTEGER - 1,
    });
    numbers.add(vnode);
    w.synthesized.push(
      `directory ${pk} rebuilt from the parent links of ${kids.length} vnode${kids.length === 1 ? '' : 's'}` +
        (donorDir ? `, ${named} name${named === 1 ? '' : 's'} from ${from}` : ', named by number (no donor has it)') +
        (left > 0 ? `; ${left} more did not fit in its 128 pages (they go to lost+found)` : ''),
    );
  }
}

/** 1c. What is not written, and why. */
function listDropped(w: Work): void {
  const { a, planned, dropped } = w;
  const plannedPairs = new PlannedIndex(planned.length);
  for (const p of planned) plannedPairs.set(p);
  for (const l of a.lost.vnodes) {
    if (plannedPairs.get(l.vnode, l.unique)) continue;
    dropped.push({
      vnode: l.vnode, unique: l.unique, path: l.path,
      reason: !l.partial
        ? 'lost (its record is gone)'
        : l.damage === 'corrupt'
          ? 'damaged record (it does not decode)'
          : l.damage === 'suspect'
            ? 'its data cannot be trusted (the record chain breaks inside or right after it)'
            : isDirNumber(l.vnode) ? 'partial directory (its pages were cut)' : 'partial (its data was cut)',
    });
  }
  // Whole records that decode but cannot be written as they are.
  const droppedKeys = new Set(dropped.map((d) => key(d)));
  const recs = a.walk.records;
  for (let i = 0; i < recs.length; i++) {
    if (recs.kind(i) !== K_VNODE || !recs.complete(i) || survivorAt(a, i) >= 0) continue;
    const r = { vnode: recs.vnode(i), unique: recs.unique(i) };
    if (plannedPairs.get(r.vnode, r.unique) || droppedKeys.has(key(r))) continue;
    droppedKeys.add(key(r));
    dropped.push({ vnode: r.vnode, unique: r.unique, path: null, reason: 'unusable record (type, class or data do not agree)' });
  }
}

/** Numbers the later stages need: the highest directory number and uniquifier in use, the latest time, a store host. */
function tally(w: Work): void {
  const { a, planned } = w;
  w.byKey = new PlannedIndex(planned.length);
  for (const p of planned) w.byKey.set(p);
  let maxUnique = 0;
  let maxDir = 1;
  for (const p of planned) {
    maxUnique = Math.max(maxUnique, unOf(p));
    if (isDirNumber(vnOf(p))) maxDir = Math.max(maxDir, vnOf(p));
  }
  for (const l of a.lost.vnodes) {
    maxUnique = Math.max(maxUnique, l.unique);
    if (isDirNumber(l.vnode)) maxDir = Math.max(maxDir, l.vnode);
  }
  w.nextUnique = Math.max(a.volume?.nextUniquifier ?? 0, maxUnique + 1);
  // A light survivor's numbers from collectVnodes (its record is not decoded again), except the first store host.
  w.latestMtime = planned.reduce((m, p) => (p instanceof LightSurvivor ? m : Math.max(m, mtimeOf(p))), w.lightMtime);
  const host = planned.find((p) => (w.lightHost || !(p instanceof LightSurvivor)) && storeHostOf(p) !== 0);
  w.storeHost = host ? storeHostOf(host) : 0;
  w.maxDir = maxDir;
}

/** 2. The root: a full dump must have one; a lost root is re-created (empty: stage 4 fills it). */
function placeRoot(w: Work): void {
  const { a, planned, byKey, synthesized, dropped, incremental, storeHost, latestMtime } = w;
  let root = planned.find((p) => vnOf(p) === 1);
  if (!root && !incremental) {
    const votes = new Map<number, number>();
    for (const p of planned) if (parOf(p) === 1) votes.set(parUOf(p), (votes.get(parUOf(p)) ?? 0) + 1);
    for (const l of a.lost.vnodes) if (l.vnode === 1) votes.set(l.unique, (votes.get(l.unique) ?? 0) + 100);
    const u = [...votes.entries()].sort((x, y) => y[1] - x[1])[0]?.[0] ?? 1;
    const acl = formatAcl(DEFAULT_ACL);
    root = {
      fields: {
        vnode: 1, unique: u, type: VNODE_DIR, mode: 0o755, linkCount: 2, length: 0, dataVersion: 1,
        vv: { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost, storeUniq: u, flags: 0 }, mtime: latestMtime, author: 0, owner: 0,
        parent: 1, parentUnique: u, acl,
      },
      kind: 'dir', length: 0, data: [], origin: 'root', from: [],
      entries: [{ name: '.', vnode: 1, unique: u }, { name: '..', vnode: 1, unique: u }], rebuilt: true, changes: ['re-created: the root directory was lost'], oldPath: '.',
      seq: -1,
    };
    planned.unshift(root);
    byKey.set(root);
    synthesized.push(`root directory 1.${u} (the original was lost)`);
    const i = dropped.findIndex((d) => d.vnode === 1 && d.unique === u);
    if (i >= 0) dropped[i].reason += '; re-created empty';
  }

  w.root = root;
}

/** 3. Directory entries that name vnodes not written (or a file kept only in part) are removed. */
function pruneEntries(w: Work): void {
  const { planned, byKey, removedEntries, incremental } = w;
  const names = new NameStore();
  if (!incremental) {
    for (const p of planned) {
      if (p.kind !== 'dir' || p.origin === 'root' || p.origin === 'rebuilt') continue;
      const { problems } = validateDirectory(p.pages!);
      const list = entriesOf(p);
      // A file kept in part leaves its directory: it is written to lost+found, truncated.
      const keep = list.filter((e) => e.name === '.' || e.name === '..' || (byKey.get(e.vnode, e.unique)?.origin ?? 'partial') !== 'partial');
      const kept = new Set(keep);
      for (const e of list) {
        if (kept.has(e)) continue;
        removedEntries.push({ dir: key(p.fields), name: e.name, vnode: e.vnode, unique: e.unique });
        if (isDirNumber(e.vnode)) p.fields.linkCount = Math.max(2, p.fields.linkCount - 1);
      }
      // Kept packed, changed or not (a million entries: about 90 MB of objects less through the plan);
      // made objects again one directory at a time, where a later stage changes it or encodes it.
      p.packed = new PackedEntries(keep.length === list.length ? list : keep, names);
      p.entries = undefined;
      if (keep.length !== list.length || problems.length > 0) {
        p.rebuilt = true;
        p.changes.push(
          keep.length !== list.length ? `${list.length - keep.length} entr${list.length - keep.length === 1 ? 'y' : 'ies'} naming lost vnodes removed` : 'damaged directory pages rebuilt',
        );
      }
    }
  }

}

/** 4. Homes: what the root does not reach goes under a new lost+found directory (only the tops of orphaned subtrees). */
function homeOrphans(w: Work): void {
  const { opts, planned, byKey, rehomed, synthesized, storeHost, latestMtime, maxDir } = w;
  const root = w.root!;
  // The one tree model (format/tree.ts), walked from the (possibly re-created) root:
  // `homes` keeps, for each vnode reached, the directory whose entry reached it.
  const walk = (): VolumeTree => {
    const tree = plannedTree(planned);
    tree.walk(planned.indexOf(root));
    const homes: (Planned | undefined)[] = (w.homes = new Array(planned.length));
    for (let i = 0; i < planned.length; i++) {
      const h = tree.home(i);
      homes[i] = h ? planned[h.dir] : undefined;
    }
    return tree;
  };
  const tree = walk();
  const orphans = tree.unreached().map((i) => planned[i]);
  if (orphans.length > 0) {
    // Only the tops: an orphan reached from another orphan stays where it is.
    let tops = tree.orphanTops().map((i) => planned[i]);
    if (tops.length === 0) tops = orphans.slice(0, 1); // a cycle of orphan directories
    const rootEntries = entriesOf(root);
    let name = opts.lostFoundName ?? 'lost+found';
    for (let i = 1; rootEntries.some((e) => e.name === name); i++) name = `${opts.lostFoundName ?? 'lost+found'}.${i}`;
    const lfVnode = maxDir + 2;
    const lfUnique = w.nextUnique++;
    const rf = root.fields;
    const newDir = (vnode: number, unique: number, parent: { vnode: number; unique: number }, change: string): Planned => ({
      fields: {
        vnode, unique, type: VNODE_DIR, mode: 0o700, linkCount: 2, length: 0, dataVersion: 1,
        vv: { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost: rf.vv.storeHost || storeHost, storeUniq: unique, flags: 0 },
        mtime: latestMtime, author: rf.author, owner: rf.owner, parent: parent.vnode, parentUnique: parent.unique,
        ...(rf.acl !== undefined ? { acl: rf.acl } : { acl: formatAcl(DEFAULT_ACL) }),
      },
      kind: 'dir', length: 0, data: [], origin: 'lost+found', from: [],
      entries: [{ name: '.', vnode, unique }, { name: '..', vnode: parent.vnode, unique: parent.unique }],
      rebuilt: true, changes: [change], oldPath: null, seq: Number.MAX_SAFE_INTEGER,
    });
    const dir = newDir(lfVnode, lfUnique, { vnode: 1, unique: rf.unique }, 'created for vnodes whose directory was lost');
    const entryNames = tops.map((o) => `#${vnOf(o)}.${unOf(o)}`);
    // More than one directory's 128 pages hold: numbered subdirectories (1, 2, ...), each filled to what it holds, in order.
    const groups: { name: string; dir: Planned; from: number; to: number }[] = [];
    if (entriesThatFit(['.', '..', ...entryNames]) - 2 < tops.length) {
      const bounds: [number, number][] = [];
      for (let i = 0; i < tops.length; ) {
        const n = Math.max(1, entriesThatFit(['.', '..', ...entryNames.slice(i)]) - 2);
        bounds.push([i, i + n]);
        i += n;
      }
      const width = String(bounds.length).length;
      for (const [k, [from, to]] of bounds.entries()) {
        const sub = newDir(lfVnode + 2 * (k + 1), w.nextUnique++, dir.fields, `created for ${to - from} of the vnodes whose directory was lost`);
        const subName = String(k + 1).padStart(width, '0');
        dir.entries!.push({ name: subName, vnode: sub.fields.vnode, unique: sub.fields.unique });
        dir.fields.linkCount++;
        groups.push({ name: subName, dir: sub, from, to });
      }
    } else {
      groups.push({ name: '', dir, from: 0, to: tops.length });
    }
    for (const g of groups) {
      const at = g.name === '' ? name : `${name}/${g.name}`;
      for (let i = g.from; i < g.to; i++) {
        const o = tops[i];
        // A light survivor's numbers without decoding its record again.
        const vnode = vnOf(o);
        const unique = unOf(o);
        g.dir.entries!.push({ name: entryNames[i], vnode, unique });
        if (o.kind === 'dir') g.dir.fields.linkCount++;
        rehomed.push({ vnode, unique, name: `${at}/${entryNames[i]}`, oldParent: vnodeKey(parOf(o), parUOf(o)) });
      }
    }
    rootEntries.push({ name, vnode: lfVnode, unique: lfUnique });
    root.rebuilt = true;
    root.fields.linkCount++;
    root.changes.push(`entry ${name} added`);
    planned.push(dir);
    byKey.set(dir);
    const split = groups[0].dir !== dir;
    synthesized.push(
      `directory ${name} (vnode ${lfVnode}.${lfUnique}) for ${tops.length} vnode${tops.length === 1 ? '' : 's'} whose directory was lost` +
        (split ? `, in ${groups.length} numbered subdirectories (more than one directory holds)` : ''),
    );
    if (split) {
      for (const g of groups) {
        planned.push(g.dir);
        byKey.set(g.dir);
        synthesized.push(`directory ${name}/${g.name} (vnode ${g.dir.fields.vnode}.${g.dir.fields.unique}) for ${g.to - g.from} of them`);
      }
    }
    walk();
  }
}

/** 5. Parent fields (and `..`) must name a directory that is written and names the vnode. */
function fixParents(w: Work): void {
  const { planned, byKey, homes, root } = w;
  const childrenOf = new Map<Planned, Set<string>>();
  const names = (d: Planned): Set<string> => {
    let c = childrenOf.get(d);
    if (!c) {
      c = new Set(entriesOf(d).filter((e) => e.name !== '.' && e.name !== '..').map((e) => key(e)));
      childrenOf.set(d, c);
    }
    return c;
  };
  for (let i = 0; i < planned.length; i++) {
    const p = planned[i];
    if (p === root) continue;
    const home = homes[i];
    if (!home) continue;
    const parentKey = vnodeKey(parOf(p), parUOf(p));
    const parent = byKey.get(parOf(p), parUOf(p));
    // The directory whose entry reached it names it (no set of its entries needed).
    const parentOk = parent !== undefined && parent.kind === 'dir' && (parent === home || names(parent).has(keyOf(p)));
    if (parentOk) continue;
    const { fields: f, changes } = own(p);
    changes.push(`parent ${parentKey} -> ${key(home.fields)}`);
    f.parent = home.fields.vnode;
    f.parentUnique = home.fields.unique;
    if (p.kind === 'dir') {
      const list = entriesOf(p);
      const dd = list.find((e) => e.name === '..');
      if (dd) {
        dd.vnode = f.parent;
        dd.unique = f.parentUnique;
      } else list.splice(1, 0, { name: '..', vnode: f.parent, unique: f.parentUnique });
      p.rebuilt = true;
    }
  }
}

/** Whether a directory's first `.` and first `..` name it and its parent (the root: itself), as encodeDirectories wants them. */
function sameDots(l: EntryList, p: Planned): boolean {
  const self = firstNamed(l, '.');
  const up = firstNamed(l, '..');
  const want = p.fields.vnode === 1 ? p.fields : { vnode: p.fields.parent, unique: p.fields.parentUnique };
  return self >= 0 && up >= 0 && l.vnode(self) === p.fields.vnode && l.unique(self) === p.fields.unique && l.vnode(up) === want.vnode && l.unique(up) === want.unique;
}

/** 6. Re-encode what changed (and any directory whose `.`/`..` disagree with its fields); lengths. */
function encodeDirectories(w: Work): void {
  const { planned, incremental } = w;
  const names = new NameStore();
  for (const p of planned) {
    if (p.kind !== 'dir') continue;
    if (!p.rebuilt && p.pages && !incremental && !sameDots(entryListOf(p), p)) {
      const list = entriesOf(p);
      const self = list.find((e) => e.name === '.');
      const up = list.find((e) => e.name === '..');
      const wantUp = p.fields.vnode === 1 ? p.fields : { vnode: p.fields.parent, unique: p.fields.parentUnique };
      if (!self || key(self) !== key(p.fields) || !up || key(up) !== key(wantUp)) {
        if (up) {
          up.vnode = wantUp.vnode;
          up.unique = wantUp.unique;
        } else list.splice(1, 0, { name: '..', vnode: wantUp.vnode, unique: wantUp.unique });
        if (!self) list.unshift({ name: '.', vnode: p.fields.vnode, unique: p.fields.unique });
        p.rebuilt = true;
        p.changes.push("'.' and '..' set to the directory and its parent");
      }
    }
    if (p.rebuilt || !p.pages) {
      const list = entriesOf(p);
      const self = list.find((e) => e.name === '.');
      if (self && (self.vnode !== p.fields.vnode || self.unique !== p.fields.unique)) {
        self.vnode = p.fields.vnode;
        self.unique = p.fields.unique;
      }
      p.pages = encodeDirectoryChecked(list, p);
      // Packed again (numbers of 32 bits only): the report's paths read them, the write only the pages.
      if (list.every((e) => e.vnode >>> 0 === e.vnode && e.unique >>> 0 === e.unique)) {
        p.packed = new PackedEntries(list, names);
        p.entries = undefined;
      }
    }
    p.fields.length = p.pages!.length;
  }
}

/** 7. Header and volume data: the originals where they survive (counts brought up to date), else synthesized. */
function headerAndVolume(w: Work): { header: HeaderFields; volume: VolumeFields } {
  const { a, opts, planned, synthesized, volumeChanges, incremental, latestMtime, nextUnique, storeHost } = w;
  let header: HeaderFields;
  if (a.header) {
    header = headerFieldsOf(a.header);
  } else {
    const date = a.volume?.backupDate || latestMtime;
    header = {
      volumeId: opts.volumeId ?? a.volume?.id ?? DEFAULT_RECOVERED_VOLUME_ID, parentId: a.volume?.parentId ?? 0,
      name: opts.volumeName ?? a.volume?.name ?? DEFAULT_RECOVERED_NAME, backupDate: date, incremental: 0, oldest: date, latest: date,
    };
    synthesized.push(`dump header (the original was lost): volume 0x${header.volumeId.toString(16).padStart(8, '0')} "${header.name}", backup date ${date}`);
  }
  const fileCount = planned.filter((p) => p.kind !== 'dir').length;
  const diskUsed = planned.reduce((n, p) => n + Math.ceil((p.kind === 'dir' ? p.pages!.length : p.length) / 1024), 0);
  let volume: VolumeFields;
  if (a.volume) {
    volume = updatedVolume(a.volume, nextUnique, fileCount, incremental, volumeChanges);
  } else {
    const date = header.backupDate;
    volume = {
      id: header.volumeId, stampVersion: 1, name: header.name, partition: '/vicepa', inService: 1, blessed: 1, nextUniquifier: nextUnique,
      type: 2, parentId: header.parentId, groupId: 0, cloneId: 0, backupId: header.volumeId, maxQuota: 0, minQuota: 0, maxFiles: 0,
      diskUsed, fileCount, linkCount: 0, accountNumber: 0, owner: 0, creationDate: date, accessDate: date, updateDate: date,
      expirationDate: 0, backupDate: date, offlineMessage: '', motd: '', weekUse: [0, 0, 0, 0, 0, 0, 0], dayUseDate: 0, dayUse: 0,
      vv: { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost, storeUniq: 1, flags: 0 },
    };
    synthesized.push('volume data (the original was lost), from the dump header and the surviving vnodes');
  }
  return { header, volume };
}

/** The original dump header's fields, to write again. */
function headerFieldsOf(h: DumpHeader): HeaderFields {
  return { volumeId: h.volumeId, parentId: h.parentId, name: h.name, backupDate: h.backupDate, incremental: h.incremental, oldest: h.oldest, latest: h.latest, magic: h.magic, version: h.version };
}

/** The original volume data with its next uniquifier and (full dumps) file count brought up to date; the changes said in `volumeChanges`. */
function updatedVolume(original: VolumeData, nextUnique: number, fileCount: number, incremental: boolean, volumeChanges: string[]): VolumeFields {
  const { kind: _k, offset: _o, size: _s, fields: _f, notes: _n, ...v } = original;
  const volume: VolumeFields = { ...v };
  if (v.nextUniquifier !== nextUnique) volumeChanges.push(`next uniquifier ${v.nextUniquifier} -> ${nextUnique}`);
  if (!incremental && v.fileCount !== fileCount) volumeChanges.push(`file count ${v.fileCount} -> ${fileCount}`);
  volume.nextUniquifier = nextUnique;
  // The file count is the number of small vnodes; disk use stays as the server accounted it.
  if (!incremental) volume.fileCount = fileCount;
  if (volume.weekUse.length !== 7) volume.weekUse = [...volume.weekUse, 0, 0, 0, 0, 0, 0, 0].slice(0, 7);
  return volume;
}

/** 8. Index lists, output order, paths in the repaired tree and the report. */
function finish(w: Work, header: HeaderFields, volume: VolumeFields, donorStage: { uses: DonorUse[]; restored: Restored[] } | null): Plan {
  const { a, planned, root, incremental, removed, synthesized, dropped, keptPartial, removedEntries, rehomed, volumeChanges } = w;
  const maxSlot = (odd: boolean) => planned.filter((p) => isDirNumber(vnOf(p)) === odd).reduce((m, p) => Math.max(m, vnodeSlot(vnOf(p)) + 1), 0);
  const lists = {
    large: Math.max(a.indexes.large?.lists ?? 8, maxSlot(true), 1),
    small: Math.max(a.indexes.small?.lists ?? 1, maxSlot(false), 1),
  };
  planned.sort(outputOrder(incremental));

  const list = new RepairedList(planned, root);
  // The pages are encoded (the write reads them) and the report has the entries packed: the objects go.
  if (list.plain) for (const p of planned) if (p.kind === 'dir') p.entries = undefined;
  const written = { large: planned.filter((p) => isDirNumber(vnOf(p))).length, small: planned.filter((p) => !isDirNumber(vnOf(p))).length };
  const declared = incremental
    ? { large: a.indexes.large?.declared ?? written.large, small: a.indexes.small?.declared ?? written.small }
    : written;
  const report = {
    verdictBefore: a.verdict, model: a.wraparound?.model ?? null, synthesized, dropped, keptPartial, removedEntries, rehomed,
    volumeChanges, written,
  } as Plan['report'];
  // The per-vnode list is made when it is read (--json); the text report reads only the sources.
  withVnodes(report, list);
  if (donorStage) {
    const newPath = list.newPath();
    for (const r of donorStage.restored) {
      const p = newPath.get(vnodeKey(r.vnode, r.unique));
      if (r.outcome !== 'lost' && p !== undefined) r.path = p;
    }
    const counts = { exact: 0, older: 0, lost: 0 };
    for (const r of donorStage.restored) counts[r.outcome]++;
    report.donors = donorStage.uses.map((u) => ({ name: u.donor.name, date: u.donor.date, relation: u.relation, sameRun: u.sameRun }));
    report.restored = donorStage.restored;
    report.counts = counts;
    report.findings = donorStage.restored.map((r) =>
      r.outcome === 'lost'
        ? finding('VNODE_LOST', 0, r.olderIn ? `not restored (--exact-only): ${r.olderIn} holds an older version` : 'no donor holds it', { vnode: r, ...(r.path !== null ? { path: r.path } : {}) })
        : finding(r.outcome === 'exact' ? 'RESTORED_EXACT' : 'RESTORED_OLDER', 0, `restored from ${r.donor} as of ${isoDate(r.date!)}`, { vnode: r, file: r.donor!, ...(r.path !== null ? { path: r.path } : {}) }),
    );
  }
  return { header, volume, lists, declared, removed, vnodes: planned, report };
}

export function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

/**
 * Put lost vnodes back from donors: every vnode the diagnosis names as lost
 * (or kept only in part), and, below a directory restored from a donor,
 * whatever that donor's directory names. A vnode whose number a surviving
 * vnode now uses (the slot was reused) is not restored.
 */
function restoreFromDonors(a: Analysis, opts: RepairOptions, planned: Planned[]): { uses: DonorUse[]; restored: Restored[] } {
  const uses = relateDonors(a, opts.donors ?? []);
  const restored: Restored[] = [];
  const byKey = new Map(planned.map((p) => [keyOf(p), p]));
  const numbers = new Set(planned.filter((p) => p.origin !== 'partial').map(vnOf));
  const own = new Map<string, Vnode>();
  const recs = a.walk.records;
  for (let i = 0; i < recs.length; i++) if (recs.kind(i) === K_VNODE && !recs.complete(i)) own.set(key(recs.vnodeRec(i)), recs.vnodeRec(i));
  const queue = a.lost.vnodes.map((l) => ({ vnode: l.vnode, unique: l.unique, path: l.path }));
  const queued = new Set(queue.map(key));
  for (let i = 0; i < queue.length; i++) {
    const c = queue[i];
    const k = key(c);
    const existing = byKey.get(k);
    if (existing && existing.origin !== 'partial') continue;
    const pick = numbers.has(c.vnode) ? null : pickDonor(uses, k, own.get(k) ?? null);
    if (!pick || (opts.exactOnly && pick.outcome !== 'exact')) {
      restored.push({ vnode: c.vnode, unique: c.unique, path: c.path, outcome: 'lost', ...(pick ? { olderIn: pick.use.donor.name } : {}) });
      continue;
    }
    const r = pick.dv.rec;
    const donor = pick.use.donor;
    const p: Planned = {
      fields: fieldsOf(r), kind: r.type === VNODE_DIR ? 'dir' : r.data.kind === 'badinode' ? 'badinode' : 'file', length: 0, data: [],
      origin: 'donor', from: [], changes: [`restored from ${donor.name} (${pick.outcome}, as of ${isoDate(donor.date)})`],
      oldPath: c.path, seq: a.walk.records.length + i, source: pick.dv.source,
    };
    if (r.data.kind === 'dirpages') p.pages = r.data.pages;
    if (r.data.kind === 'filedata') {
      p.length = r.data.length;
      p.data = r.data.length > 0 ? [{ start: r.data.start, end: r.data.start + r.data.length }] : [];
      p.fields.length = r.data.length;
    }
    if (p.kind === 'dir' && p.fields.acl === undefined && p.fields.rawAcl === undefined) p.fields.acl = formatAcl(DEFAULT_ACL);
    if (existing) planned.splice(planned.indexOf(existing), 1);
    planned.push(p);
    byKey.set(k, p);
    numbers.add(r.vnode);
    restored.push({ vnode: c.vnode, unique: c.unique, path: c.path, outcome: pick.outcome, donor: donor.name, date: donor.date });
    if (p.pages) {
      let entries: DirEntry[] = [];
      try {
        entries = decodeDirectory(p.pages);
      } catch {
        // pages that do not decode name nothing to restore below
      }
      for (const e of entries) {
        if (e.name === '.' || e.name === '..') continue;
        const ek = key(e);
        if (queued.has(ek) || byKey.has(ek)) continue;
        queued.add(ek);
        queue.push({ vnode: e.vnode, unique: e.unique, path: pathJoin(c.path, e.name) });
      }
    }
  }
  return { uses, restored };
}

/** Full dumps: by class, then vnode number (as a server lists them). Incrementals: by class, stream order. */
function outputOrder(incremental: boolean) {
  return (x: Planned, y: Planned): number => {
    const vx = vnOf(x);
    const vy = vnOf(y);
    const cx = isDirNumber(vx) ? 0 : 1;
    const cy = isDirNumber(vy) ? 0 : 1;
    return cx - cy || (incremental ? x.seq - y.seq : vx - vy || x.seq - y.seq);
  };
}

function encodeDirectoryChecked(list: DirEntry[], p: Planned): Buffer {
  try {
    return encodeDirectory(list);
  } catch (e) {
    if (e instanceof DumpError) {
      throw new DumpError(e.code, `cannot rebuild directory ${p.fields.vnode}.${p.fields.unique}: ${e.message}`);
    }
    throw e;
  }
}

const COPY_BUFFER = 1 << 20;

/**
 * A piece of the repaired dump: encoded bytes, or a range of file data to
 * copy from an input; with `record`, an encoded record that was decoded
 * from that range of the input (the same bytes when nothing changed it).
 */
type PlanPiece = Buffer | { from: FileSource | undefined; start: number; end: number; vnode: Planned; record?: Buffer; follows?: number };

/** A planned vnode's name in a message ("vnode.uniquifier"), made only for the message. */
const nameOf = (p: Planned): string => `${vnOf(p)}.${unOf(p)}`;

/** A survivor's encoded record, with the input range it was read from where its layout allows it to be the same bytes. */
function recordPiece(p: Planned, rec: Buffer, data: FileRange[] = p.data): PlanPiece {
  // (A light survivor makes its ranges again at each read of `from` or `data`: each read once here.)
  if (p.origin !== 'survivor' || p.source !== undefined) return rec;
  const from = p.from;
  if (from.length !== 1) return rec;
  const start = from[0].start;
  const recEnd = data.length > 0 ? data[0].start : from[0].end;
  if (recEnd - start !== rec.length) return rec;
  return { from: undefined, start, end: recEnd, vnode: p, record: rec, follows: data.length > 0 ? data[0].end - data[0].start : 0 };
}

/**
 * The repaired dump in order, as encoded records and the file-data ranges
 * to copy between them: what writePlan writes and repairedBytes streams.
 */
function* planPieces(plan: Plan): Generator<PlanPiece> {
  yield encodeHeader(plan.header);
  yield encodeVolume(plan.volume);
  type Item = { seq: number; vnode?: Planned; rm?: { vnode: number; unique: number } };
  // Without RMVNODE records, the planned vnodes of the class as they are (no object a vnode).
  function* items(odd: boolean): Generator<Item> {
    const rms = plan.removed.filter((r) => isDirNumber(r.vnode) === odd);
    if (rms.length === 0) {
      for (const p of plan.vnodes) if (isDirNumber(vnOf(p)) === odd) yield { seq: p.seq, vnode: p };
      return;
    }
    const list: Item[] = plan.vnodes.filter((p) => isDirNumber(vnOf(p)) === odd).map((p) => ({ seq: p.seq, vnode: p }));
    yield* [...list, ...rms.map((r) => ({ seq: r.seq, rm: r }))].sort((x, y) => x.seq - y.seq);
  }
  yield encodeIndexHeader('large', plan.declared.large, plan.lists.large);
  for (const it of items(true)) {
    yield it.rm ? encodeRmVnode(it.rm.vnode, it.rm.unique) : recordPiece(it.vnode!, encodeVnode(it.vnode!.fields, { kind: 'dirpages', pages: it.vnode!.pages! }));
  }
  yield encodeIndexHeader('small', plan.declared.small, plan.lists.small);
  for (const it of items(false)) {
    if (it.rm) {
      yield encodeRmVnode(it.rm.vnode, it.rm.unique);
      continue;
    }
    const p = it.vnode!;
    if (p.kind === 'badinode') {
      yield recordPiece(p, encodeVnode(p.fields, { kind: 'badinode' }));
      continue;
    }
    const data = p.data;
    const planned = data.reduce((n, r) => n + (r.end - r.start), 0);
    if (planned !== p.length) throw new DumpError('BAD_VALUE', `internal: vnode ${nameOf(p)} has ${planned} bytes of data, planned ${p.length}`);
    yield recordPiece(p, encodeVnode(p.fields, { kind: 'filedata', length: p.length }), data);
    for (const r of data) yield { from: p.source, start: r.start, end: r.end, vnode: p };
  }
  yield encodeEnd();
}

function inputEnded(pos: number, vnode: string, src: FileSource): DumpError {
  return new DumpError('IO', `input ended at ${pos} while copying vnode ${vnode}`, pos, src.name);
}

/**
 * The repaired dump's bytes as a stream, without writing a file: the same
 * pieces writePlan writes (extract reads a damaged dump through this;
 * test/extract/salvage.test.ts checks they agree). File data is read from
 * `src` by position, 1 MiB at a time, each piece a new buffer (the consumer
 * may keep it).
 */
export async function* repairedBytes(plan: Plan, src: FileSource): AsyncGenerator<Buffer> {
  for (const piece of planPieces(plan)) {
    if (Buffer.isBuffer(piece)) {
      yield piece;
      continue;
    }
    if (piece.record) {
      yield piece.record;
      continue;
    }
    const from = piece.from ?? src;
    for (let pos = piece.start; pos < piece.end; ) {
      const buf = Buffer.allocUnsafe(Math.min(COPY_BUFFER, piece.end - pos));
      const n = await from.read(buf, 0, buf.length, pos);
      if (n === 0) throw inputEnded(pos, nameOf(piece.vnode), src);
      yield buf.subarray(0, n);
      pos += n;
    }
  }
}

/**
 * Write the plan: records and file data through a RangeCopier (adjacent
 * input ranges joined, unchanged records taken from the input, big ranges
 * copied by the kernel, small ones through a read-ahead window). `direct`:
 * no file-system seam, so the inputs may be read by descriptor.
 */
async function writePlan(plan: Plan, src: FileSource, out: DumpOutput, direct: boolean): Promise<void> {
  const copier = new RangeCopier<Planned>(out, direct, (pos, p) => inputEnded(pos, nameOf(p), src));
  for (const piece of planPieces(plan)) {
    if (Buffer.isBuffer(piece)) await copier.bytes(piece);
    else if (piece.record) await copier.record(piece.record, piece.from ?? src, piece.start, piece.end, piece.vnode, piece.follows);
    else await copier.range(piece.from ?? src, piece.start, piece.end, piece.vnode);
  }
  await copier.finish();
}
