/**
 * Structural checks over a stream of records (FORMAT.md 3 and 4). Feed every
 * record to `record()`, then call `finish()`; the checker holds only per-vnode
 * metadata (no file data), so it serves both file verification and
 * streaming verification while a dump is being written.
 */
import type { Code } from '../diagnostics/codes.js';
import { vnodeKey } from '../diagnostics/finding.js';
import { parseAcl } from '../acl/acl.js';
import { scanDirectory, type DirEntry, type DirScan } from '../dir/pages.js';
import { DIR_PAGE_SIZE, DUMP_END_MAGIC, DUMP_VERSION, VNODE_DIR, VNODE_FILE, VNODE_SYMLINK } from '../format/constants.js';
import { VolumeTree, type EntryList, type TreeSource } from '../format/tree.js';
import { displayString, vnodeSlot, type DumpHeader, type DumpRecord, type IndexClass, type Vnode, type VolumeData } from '../format/types.js';
import type { Problem, Severity } from './problems.js';

const VNODE_REQUIRED = 'tblLvVmaopq';
const VOLUME_FIELDS = 'ivnPs+utpgcbqmxdflaoCAUEBOMWDZV';

export interface CheckedVnode {
  vnode: number;
  unique: number;
  type: number;
  parent: number;
  parentUnique: number;
  offset: number;
  /** End of the record including its data (absolute). */
  end: number;
  size: number;
  entries?: DirEntry[];
}

export interface IndexState {
  declared: number;
  lists: number;
  records: number;
  removed: number;
  offset: number;
}

export interface CheckerOptions {
  /** Cap on problems kept per code (the rest are counted only). Default 100. */
  maxPerCode?: number;
  /**
   * Keep what `vnodes` gives of each vnode (parent, size, end: 16 bytes a
   * vnode more). Default false: `vnodes` then throws; verify and redump
   * read only the problems and counts.
   */
  vnodes?: boolean;
  /**
   * finish() leaves the checks over the volume tree (dangling entries,
   * missing parents, unreached vnodes) to finishTree(): repair's copy of a
   * sound dump proves them with less memory and runs them only when it
   * cannot (issue #17).
   */
  deferTree?: boolean;
}

function checkedVnode(
  vnode: number, unique: number, type: number, parent: number, parentUnique: number, offset: number, end: number, size: number,
): CheckedVnode {
  return { vnode, unique, type, parent, parentUnique, offset, end, size };
}
// Offsets pass 2^31 in big dumps (and sizes or ids may): V8 then re-lays out
// every CheckedVnode made before, about 1 us each. One object with
// non-numbers in those fields, made first, gives them their general form.
const general = null as unknown as number;
checkedVnode(general, general, 0, general, general, general, general, general);

export class StructureChecker {
  readonly problems: Problem[] = [];
  /** Problems dropped by the per-code cap, by code. */
  readonly suppressed = new Map<string, number>();
  header: DumpHeader | null = null;
  volume: VolumeData | null = null;
  readonly index: Record<IndexClass, IndexState | null> = { large: null, small: null };
  /** What is kept of each vnode, in columns; `vnodes` makes objects of it on demand. */
  private readonly cols: VnodeColumns;
  private readonly view: CheckedVnode[] = [];
  sawEnd = false;
  streamLength = -1;
  trailing = 0;
  private current: IndexClass | null = null;
  private lastVnode = 0;
  /**
   * (vnode, uniquifier) -> 2 * index in `vnodes` of the last vnode with the
   * pair, + 1 once the pair was seen inside an index (for VNODE_DUPLICATE).
   */
  private readonly pairs: PairLookup;
  /**
   * Vnodes whose parent link named no vnode seen before them (the root
   * aside): index, parent, parent uniquifier. finish() looks them up again
   * (a parent may come later); every other vnode's parent is in the dump.
   */
  private readonly orphanIndex: number[] = [];
  private readonly orphanParent: number[] = [];
  /** Vnodes whose (vnode, uniquifier) pair a later vnode had again: 0 in a sound dump. */
  private superseded = 0;
  private readonly perCode = new Map<string, number>();
  private readonly maxPerCode: number;

  private readonly deferTree: boolean;
  private treePending = false;

  constructor(opts: CheckerOptions = {}) {
    this.maxPerCode = opts.maxPerCode ?? 100;
    this.cols = new VnodeColumns(opts.vnodes ?? false);
    this.pairs = new PairLookup(this.cols);
    this.deferTree = opts.deferTree === true;
  }

  /** Every vnode record seen, in order (made on demand: the checker keeps them packed). Needs the `vnodes` option. */
  get vnodes(): CheckedVnode[] {
    if (!this.cols.full) throw new Error('StructureChecker: vnodes needs the vnodes option');
    for (let i = this.view.length; i < this.cols.length; i++) this.view.push(this.cols.object(i));
    return this.view;
  }

  /** Vnodes seen, directories (type 2) and the others. */
  countVnodes(): { directories: number; files: number } {
    let directories = 0;
    for (let i = 0; i < this.cols.length; i++) if (this.cols.typeOf(i) === VNODE_DIR) directories++;
    return { directories, files: this.cols.length - directories };
  }

  /**
   * After finish(): the vnodes seen as the volume tree reads them (columns,
   * packed entries, pair look-up), with each one's record range and type;
   * null when some value did not fit the columns. repair's copy of a sound
   * dump reads them instead of keeping its own (issue #17).
   */
  checkedTree(): CheckedTree | null {
    if (this.cols.odd.size > 0) return null;
    return new CheckedTree(this.cols.length, this.cols, this.cols.entries, this.pairs, this.superseded > 0);
  }

  get incremental(): boolean {
    return (this.header?.incremental ?? 0) !== 0;
  }

  add(code: Code, severity: Severity, offset: number, message: string, vnode?: string): void {
    const n = (this.perCode.get(code) ?? 0) + 1;
    this.perCode.set(code, n);
    if (n > this.maxPerCode) {
      this.suppressed.set(code, (this.suppressed.get(code) ?? 0) + 1);
      return;
    }
    const p: Problem = { code, severity, offset, message };
    if (vnode !== undefined) p.vnode = vnode;
    this.problems.push(p);
  }

  private notes(r: DumpRecord, vnode?: string): void {
    for (const n of r.notes ?? []) this.add(n.code, n.severity, n.offset, n.message, vnode);
  }

  record(r: DumpRecord): void {
    switch (r.kind) {
      case 'header': return this.onHeader(r);
      case 'volume': return this.onVolume(r);
      case 'index': return this.onIndex(r);
      case 'vnode': return this.onVnode(r);
      case 'rmvnode': {
        this.requireIndex(r.offset, 'RMVNODE');
        if (this.current) this.index[this.current]!.removed++;
        if (!this.incremental) this.add('ORDER', 'error', r.offset, `RMVNODE ${r.vnode}.${r.unique} in a full dump`);
        return;
      }
      case 'nullvnode':
        this.requireIndex(r.offset, 'NULLVNODE');
        return;
      case 'end':
        this.sawEnd = true;
        this.streamLength = r.offset + r.size;
        if (r.magic !== DUMP_END_MAGIC) {
          this.add('BAD_END_MAGIC', 'error', r.offset + 1, `end marker magic is 0x${r.magic.toString(16).padStart(8, '0')}, want 0x3a214b6e`);
        }
        if (!this.index.small) this.add('INDEX_MISSING', 'error', r.offset, 'the dump ends without a small (file) index');
        return;
      case 'trailing':
        this.trailing = r.size;
        this.add('TRAILING_DATA', 'error', r.offset, `${r.size} bytes of trailing data after the end marker`);
        return;
    }
  }

  private onHeader(h: DumpHeader): void {
    if (this.header) {
      this.add('ORDER', 'error', h.offset, 'a second dump header');
      return;
    }
    this.header = h;
    if (h.version !== DUMP_VERSION) this.add('BAD_VERSION', 'error', h.offset + 5, `dump version ${h.version}, want ${DUMP_VERSION}`);
    if (h.volumeId === 0) this.add('HEADER_VOLUME_ID', 'error', h.offset, 'dump header has no volume id (or it is 0)');
    if (!h.fields?.includes('n') || h.name === '') this.add('HEADER_NAME', 'error', h.offset, 'dump header has no volume name');
    this.notes(h);
  }

  private onVolume(v: VolumeData): void {
    if (this.volume || this.current) {
      this.add('ORDER', 'error', v.offset, 'volume disk data out of place');
      return;
    }
    this.volume = v;
    const missing = [...VOLUME_FIELDS].filter((f) => !v.fields?.includes(f));
    if (missing.length) this.add('VOLUME_FIELD_MISSING', 'warning', v.offset, `volume disk data lacks field(s) ${missing.map((m) => `'${m}'`).join(' ')}`);
    if (v.fields?.includes('W') && v.weekUse.length !== 7) this.add('WEEK_USE', 'warning', v.offset, `week use has ${v.weekUse.length} values, want 7`);
    this.notes(v);
  }

  private onIndex(r: Extract<DumpRecord, { kind: 'index' }>): void {
    if (!this.volume && !this.index.large) this.add('VOLUME_MISSING', 'error', r.offset, 'no volume disk data before the first index');
    if (r.index === 'large') {
      if (this.index.large || this.index.small) {
        this.add('ORDER', 'error', r.offset, 'large index out of place (it must come first, once)');
      }
    } else if (this.index.small) {
      this.add('ORDER', 'error', r.offset, 'a second small index');
    } else if (!this.index.large) {
      this.add('INDEX_MISSING', 'error', r.offset, 'small index without a large index before it');
    }
    if (r.lists === 0) this.add('INDEX_LISTS', 'error', r.offset, `${r.index} index has 0 vnode lists ('s' must be > 0)`);
    this.index[r.index] = { declared: r.declared, lists: r.lists, records: 0, removed: 0, offset: r.offset };
    this.current = r.index;
    this.lastVnode = 0;
  }

  private requireIndex(offset: number, what: string): boolean {
    if (this.current) return true;
    this.add('ORDER', 'error', offset, `${what} before any index header`);
    return false;
  }

  private onVnode(v: Vnode): void {
    const end = v.data.kind === 'filedata' ? v.data.start + v.data.length : v.offset + v.size;
    const at = this.cols.push(
      v.vnode, v.unique, v.type, v.parent, v.parentUnique,
      v.offset, end, v.data.kind === 'filedata' ? v.data.length : v.data.kind === 'dirpages' ? v.data.pages.length : 0,
    );
    if (v.notes) this.notes(v, fid(v));
    if (v.vnode !== 1 && this.pairs.get(v.parent, v.parentUnique) < 0) {
      this.orphanIndex.push(at);
      this.orphanParent.push(v.parent, v.parentUnique);
    }
    if (!this.current) {
      this.requireIndex(v.offset, `vnode ${fid(v)}`);
      if (this.pairs.add(at, v.vnode, v.unique, 0) >= 0) this.superseded++;
      return;
    }
    const cls = this.current!;
    const idx = this.index[cls]!;
    idx.records++;
    const odd = v.vnode % 2 === 1;
    if (cls === 'large' && !odd) this.add('VNODE_CLASS', 'error', v.offset, `even vnode number ${v.vnode} in the large (directory) index`, fid(v));
    if (cls === 'small' && odd) this.add('VNODE_CLASS', 'error', v.offset, `odd vnode number ${v.vnode} in the small (file) index`, fid(v));
    if (v.type !== VNODE_FILE && v.type !== VNODE_DIR && v.type !== VNODE_SYMLINK) {
      this.add('VNODE_TYPE', 'error', v.offset, `vnode type ${v.type} (want 1 file, 2 directory, 3 symbolic link)`, fid(v));
    } else if ((v.type === VNODE_DIR) !== (cls === 'large')) {
      this.add('VNODE_CLASS', 'error', v.offset, `${v.type === VNODE_DIR ? 'directory' : 'file'} vnode in the ${cls} index`, fid(v));
    }
    const prev = this.pairs.add(at, v.vnode, v.unique, 1);
    if (prev >= 0) this.superseded++;
    if (!this.incremental) {
      if (v.vnode < this.lastVnode) this.add('VNODE_ORDER', 'error', v.offset, `vnode ${v.vnode} after vnode ${this.lastVnode}: numbers must not decrease in a full dump`, fid(v));
      if (prev >= 0 && (prev & 1) === 1) this.add('VNODE_DUPLICATE', 'error', v.offset, `vnode ${fid(v)} appears twice`, fid(v));
    }
    this.lastVnode = Math.max(this.lastVnode, v.vnode);
    if (idx.lists > 0 && vnodeSlot(v.vnode) >= idx.lists) {
      this.add('VNODE_SLOT', 'warning', v.offset, `vnode ${v.vnode} is in slot ${vnodeSlot(v.vnode)}, beyond the ${idx.lists} lists of its index`, fid(v));
    }
    const missing = v.fields?.startsWith(VNODE_REQUIRED) ? [] : [...VNODE_REQUIRED].filter((f) => !v.fields?.includes(f));
    if (missing.length) this.add('VNODE_FIELD_MISSING', 'error', v.offset, `vnode lacks field(s) ${missing.map((m) => `'${m}'`).join(' ')}`, fid(v));
    if (v.mode > 0o7777) this.add('VNODE_MODE', 'warning', v.offset, `mode 0${v.mode.toString(8)} has bits beyond the 12 permission bits`, fid(v));
    if (v.rawAcl) this.add('OLD_ACL', 'info', v.offset, 'old raw access list (\'A\') instead of \'X\'', fid(v));

    if (v.type === VNODE_DIR) this.checkDirectory(v, at);
    else if (v.type === VNODE_FILE || v.type === VNODE_SYMLINK) {
      if (v.data.kind === 'filedata') {
        if (v.length !== v.data.length) {
          this.add('SIZE_MISMATCH', 'error', v.data.offset, `declared length 'L' ${v.length} but FILEDATA holds ${v.data.length} bytes`, fid(v));
        }
      } else if (v.data.kind === 'badinode') {
        this.add('BADINODE', 'warning', v.data.offset, 'BADINODE: the server could not read this file; a restore creates it empty', fid(v));
      } else if (v.data.kind === 'dirpages') {
        this.add('DATA_KIND', 'error', v.data.offset, 'directory pages in a file vnode', fid(v));
      } else {
        this.add('DATA_MISSING', 'error', v.offset + v.size, 'file vnode without FILEDATA or BADINODE', fid(v));
      }
    }
  }

  private checkDirectory(v: Vnode, at: number): void {
    if (v.acl !== undefined) {
      const { problems } = parseAcl(v.acl);
      for (const p of problems) this.add('ACL_BAD', 'error', v.offset, `access list: ${p.message}`, fid(v));
    } else if (!v.rawAcl) {
      this.add('VNODE_FIELD_MISSING', 'error', v.offset, 'directory vnode without an access list', fid(v));
    }
    if (v.data.kind !== 'dirpages') {
      this.add(v.data.kind === 'none' ? 'DATA_MISSING' : 'DATA_KIND', 'error', v.offset + v.size, 'directory vnode without DIRPAGES', fid(v));
      return;
    }
    const d = v.data;
    if (v.length !== d.count * DIR_PAGE_SIZE) {
      this.add('DIR_LENGTH', 'warning', v.offset, `declared length 'L' ${v.length}, but ${d.count} pages are ${d.count * DIR_PAGE_SIZE} bytes`, fid(v));
    }
    if (d.count === 0) {
      this.add('DIR_PAGE_COUNT', 'error', d.offset, 'directory with 0 pages', fid(v));
      this.cols.setEntries(at, d.pages, null);
      return;
    }
    const self = { vnode: v.vnode, unique: v.unique };
    const parent = v.vnode === 1 ? undefined : { vnode: v.parent, unique: v.parentUnique };
    const scan = scanDirectory(d.pages, parent ? { self, parent } : { self });
    this.cols.setEntries(at, d.pages, scan);
    const problems = scan.problems;
    // Page k's bytes start at DIRPAGES tag + 5 (tag, count) + k * 2049 + 1 ('P').
    for (const p of problems) {
      const page = Math.floor(p.offset / DIR_PAGE_SIZE);
      const abs = d.offset + 5 + page * (DIR_PAGE_SIZE + 1) + 1 + (p.offset % DIR_PAGE_SIZE);
      this.add(p.code, 'error', abs, `directory: ${p.message}`, fid(v));
    }
  }

  /** Checks that need the whole dump. Call once after the last record (or after a fatal error). */
  finish(completed: boolean): void {
    if (!completed) return;
    if (!this.header) return;
    for (const cls of ['large', 'small'] as const) {
      const i = this.index[cls];
      if (!i) {
        if (cls === 'large') this.add('INDEX_MISSING', 'error', this.streamLength, 'the dump has no large (directory) index');
        continue;
      }
      if (!this.incremental && i.declared !== i.records) {
        this.add('INDEX_COUNT', 'error', i.offset, `${cls} index declares ${i.declared} vnodes but ${i.records} follow`);
      }
    }
    if (this.incremental) return;
    this.treePending = true;
    if (!this.deferTree) this.finishTree();
  }

  /** The checks over the volume tree, when finish() left them (deferTree); once. */
  finishTree(): void {
    if (!this.treePending) return;
    this.treePending = false;
    // Columns of numbers: the checker's own, or (after a record with values
    // that do not fit them) its exact values.
    const cols: Columns = this.cols.odd.size === 0 ? this.cols : this.cols.exact();
    // The volume tree over the columns: no path strings, no string-keyed maps, no object an entry.
    const tree = new VolumeTree(new CheckedTree(this.cols.length, cols, this.cols.entries, this.pairs, this.superseded > 0));
    if (tree.root < 0) {
      this.add('ROOT_MISSING', 'error', this.index.large?.offset ?? 0, 'no root directory (vnode 1)');
      return;
    }
    const fid = (i: number): string => vnodeKey(cols.vnode(i), cols.unique(i));
    tree.walkFromRoot({
      dangling: (dir, e, k) => {
        this.add('DANGLING_ENTRY', 'error', cols.offset(dir), `directory entry "${displayString(e.name(k))}" names vnode ${e.vnode(k)}.${e.unique(k)}, which is not in the dump`, fid(dir));
      },
    });
    // The vnodes whose parent was not there when they came (the root aside), in order: is it now?
    for (let k = 0; k < this.orphanIndex.length; k++) {
      const i = this.orphanIndex[k];
      const p = this.orphanParent[2 * k];
      const pu = this.orphanParent[2 * k + 1];
      if (this.pairs.get(p, pu) >= 0) continue;
      this.add('PARENT_MISSING', 'error', cols.offset(i), `parent ${p}.${pu} is not in the dump`, fid(i));
    }
    tree.forEachUnreached((i) => {
      this.add('UNREACHABLE', 'warning', cols.offset(i), 'no directory entry reaches this vnode from the root', fid(i));
    });
  }
}

/** The checker's vnodes as the volume tree reads them: its columns, packed entries and pair index. */
export class CheckedTree implements TreeSource {
  constructor(
    readonly size: number,
    private readonly cols: Columns,
    private readonly dirs: Map<number, PackedEntries>,
    private readonly pairs: PairLookup,
    /** Some pair came twice: the vnode that stands for index i's pair may be a later one. */
    private readonly superseded: boolean,
  ) {
    this.distinct = !superseded;
  }

  readonly distinct: boolean;

  vnode(i: number): number {
    return this.cols.vnode(i);
  }

  unique(i: number): number {
    return this.cols.unique(i);
  }

  find(vnode: number, unique: number): number {
    return this.pairs.get(vnode, unique) >> 1; // -1 if absent
  }

  entries(i: number): EntryList | undefined {
    return this.dirs.get(i);
  }

  /** Where vnode i's record starts, and where it ends with its data; its parent (checkedTree() of a checker with the `vnodes` option). */
  offset(i: number): number {
    return this.cols.offset(i);
  }

  end(i: number): number {
    return (this.cols as VnodeColumns).end(i);
  }

  type(i: number): number {
    return (this.cols as VnodeColumns).typeOf(i);
  }

  parent(i: number): number {
    return (this.cols as VnodeColumns).parent(i);
  }

  parentUnique(i: number): number {
    return (this.cols as VnodeColumns).parentUnique(i);
  }
}

/** `vnode.uniquifier` of a vnode, as problems name it. */
function fid(v: Vnode): string {
  return vnodeKey(v.vnode, v.unique);
}

/** The numbers finish() reads, by vnode index. */
interface Columns {
  vnode(i: number): number;
  unique(i: number): number;
  offset(i: number): number;
}

const isU32 = (x: number): boolean => x >>> 0 === x;

const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/** Offsets below 2^40 fit the columns (a 32-bit low part and a byte). */
const OFFSET_LIMIT = 2 ** 40;
const TWO32 = 2 ** 32;

/** Columns of 8,192 vnodes (15 bytes a vnode; 31 with the `vnodes` option). */
class ColumnChunk {
  readonly vnode = new Uint32Array(CHUNK);
  readonly unique = new Uint32Array(CHUNK);
  readonly type = new Uint8Array(CHUNK);
  /** 1: the vnode came inside an index (PairLookup's flag). */
  readonly inIndex = new Uint8Array(CHUNK);
  /** The record's offset: its low 32 bits, and the byte above them. */
  readonly offsetLow = new Uint32Array(CHUNK);
  readonly offsetHigh = new Uint8Array(CHUNK);
  /** With the `vnodes` option only: what `vnodes` gives besides. */
  readonly parent: Uint32Array | undefined;
  readonly parentUnique: Uint32Array | undefined;
  readonly size: Uint32Array | undefined;
  /** end - offset: the record's length with its data. */
  readonly length: Uint32Array | undefined;

  constructor(full: boolean) {
    if (!full) return;
    this.parent = new Uint32Array(CHUNK);
    this.parentUnique = new Uint32Array(CHUNK);
    this.size = new Uint32Array(CHUNK);
    this.length = new Uint32Array(CHUNK);
  }
}

/**
 * What the checker keeps of each vnode, in typed arrays: 15 bytes a vnode
 * (objects take several times that and keep the garbage collector busy,
 * with hundreds of thousands of files), in chunks so that growing copies
 * nothing. The parent links are not kept: a vnode whose parent came before
 * it (nearly all) is known to have one; the others are kept aside.
 */
class VnodeColumns implements Columns {
  length = 0;
  private readonly chunks: ColumnChunk[] = [];
  /** Vnodes with a value the columns cannot hold exactly (hand-made records; never decoded ones), as given. */
  readonly odd = new Map<number, CheckedVnode>();
  /** Directory entries, by vnode index. */
  readonly entries = new Map<number, PackedEntries>();
  private readonly names = new NameArena();

  /** full: keep parent, size and end too (for `vnodes`). */
  constructor(readonly full: boolean) {}

  /** Add a vnode; returns its index. */
  push(vnode: number, unique: number, type: number, parent: number, parentUnique: number, offset: number, end: number, size: number): number {
    const i = this.length++;
    if ((i & IN_CHUNK) === 0) this.chunks.push(new ColumnChunk(this.full));
    const c = this.chunks[i >> CHUNK_BITS];
    const j = i & IN_CHUNK;
    c.vnode[j] = vnode;
    c.unique[j] = unique;
    c.type[j] = type;
    c.offsetLow[j] = offset % TWO32;
    c.offsetHigh[j] = Math.floor(offset / TWO32);
    let odd = !isU32(vnode) || !isU32(unique) || (type & 255) !== type || !Number.isSafeInteger(offset) || offset < 0 || offset >= OFFSET_LIMIT;
    if (this.full) {
      c.parent![j] = parent;
      c.parentUnique![j] = parentUnique;
      c.size![j] = size;
      const length = end - offset;
      c.length![j] = length;
      odd ||= !isU32(parent) || !isU32(parentUnique) || !isU32(size) || !isU32(length) || offset + length !== end;
    }
    if (odd) this.odd.set(i, checkedVnode(vnode, unique, type, parent, parentUnique, offset, end, size));
    return i;
  }

  vnode(i: number): number {
    return this.chunks[i >> CHUNK_BITS].vnode[i & IN_CHUNK];
  }

  unique(i: number): number {
    return this.chunks[i >> CHUNK_BITS].unique[i & IN_CHUNK];
  }

  offset(i: number): number {
    const c = this.chunks[i >> CHUNK_BITS];
    const j = i & IN_CHUNK;
    return c.offsetHigh[j] * TWO32 + c.offsetLow[j];
  }

  /** The columns with the exact values of the odd vnodes. */
  exact(): Columns {
    return {
      vnode: (i) => this.exactVnode(i),
      unique: (i) => this.exactUnique(i),
      offset: (i) => this.odd.get(i)?.offset ?? this.offset(i),
    };
  }

  /** Where vnode i's record ends with its data; the parent pair (the `vnodes` option only). */
  end(i: number): number {
    return this.offset(i) + this.kept(i).length![i & IN_CHUNK];
  }

  parent(i: number): number {
    return this.kept(i).parent![i & IN_CHUNK];
  }

  parentUnique(i: number): number {
    return this.kept(i).parentUnique![i & IN_CHUNK];
  }

  private kept(i: number): ColumnChunk {
    if (!this.full) throw new Error('StructureChecker: end and parent need the vnodes option');
    return this.chunks[i >> CHUNK_BITS];
  }

  /** Whether vnode i came inside an index (as set by setInIndex). */
  inIndexOf(i: number): number {
    return this.chunks[i >> CHUNK_BITS].inIndex[i & IN_CHUNK];
  }

  setInIndex(i: number, flag: number): void {
    this.chunks[i >> CHUNK_BITS].inIndex[i & IN_CHUNK] = flag;
  }

  /** The vnode number and uniquifier of vnode i as given (the columns hold them unless odd). */
  exactVnode(i: number): number {
    return this.odd.get(i)?.vnode ?? this.vnode(i);
  }

  exactUnique(i: number): number {
    return this.odd.get(i)?.unique ?? this.unique(i);
  }

  typeOf(i: number): number {
    return this.odd.size === 0 ? this.chunks[i >> CHUNK_BITS].type[i & IN_CHUNK] : (this.odd.get(i)?.type ?? this.chunks[i >> CHUNK_BITS].type[i & IN_CHUNK]);
  }

  /** The entries of directory i, as `scan` found them in its pages (none without a scan). */
  setEntries(i: number, pages: Buffer, scan: DirScan | null): void {
    this.entries.set(i, new PackedEntries(pages, scan, this.names));
  }

  object(i: number): CheckedVnode {
    const c = this.chunks[i >> CHUNK_BITS];
    const j = i & IN_CHUNK;
    const offset = this.offset(i);
    const cv = this.odd.get(i) ?? checkedVnode(c.vnode[j], c.unique[j], c.type[j], c.parent![j], c.parentUnique![j], offset, offset + c.length![j], c.size![j]);
    const e = this.entries.get(i);
    if (e) cv.entries = e.unpack();
    return cv;
  }
}

/**
 * The bytes of directory entry names, outside the JavaScript heap: in
 * buffers of 1 MiB (or one name list's size), filled in turn.
 */
export class NameArena {
  private buf = Buffer.alloc(0);
  private used = 0;

  /** Room for `n` bytes: the buffer, and where they go in it. */
  take(n: number): [Buffer, number] {
    if (this.used + n > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(1 << 20, n));
      this.used = 0;
    }
    const at = this.used;
    this.used += n;
    return [this.buf, at];
  }
}

/**
 * A directory's entries (as scanDirectory finds them: a name of bytes,
 * 32-bit vnode and uniquifier, a blob number) in a typed array and a few
 * bytes of a name arena, 12 bytes an entry and its name, where 100 entries
 * would otherwise take 100 objects and 100 strings.
 */
export class PackedEntries implements EntryList {
  readonly count: number;
  /** vnode, uniquifier, and blob | name length << 13 | 1 << 21 for `.` and `..`: three per entry. */
  private readonly ids: Uint32Array;
  /** The names, one after the other, from `start`. */
  private readonly names: Buffer;
  private readonly start: number;
  /** Where each name ends (from `start`): made when a name is first asked for (messages only). */
  private ends: Uint32Array | undefined;

  /** The entries `scan` found in `pages` (none without a scan). */
  constructor(pages: Buffer, scan: DirScan | null, arena: NameArena) {
    const count = scan ? scan.count : 0;
    this.count = count;
    const ids = (this.ids = new Uint32Array(3 * count));
    let bytes = 0;
    for (let k = 0; k < count; k++) bytes += scan!.nameLengths[k];
    const [names, start] = arena.take(bytes);
    this.names = names;
    this.start = start;
    let to = start;
    for (let k = 0; k < count; k++) {
      const blob = scan!.blobs[k];
      const len = scan!.nameLengths[k]; // 1..255
      const off = blob * 32;
      const from = off + 12;
      const dot = len <= 2 && pages[from] === 0x2e && pages[from + len - 1] === 0x2e ? 1 : 0;
      ids[3 * k] = pages.readUInt32BE(off + 4);
      ids[3 * k + 1] = pages.readUInt32BE(off + 8);
      ids[3 * k + 2] = blob | (len << 13) | (dot << 21);
      for (let i = 0; i < len; i++) names[to + i] = pages[from + i];
      to += len;
    }
  }

  vnode(k: number): number {
    return this.ids[3 * k];
  }

  unique(k: number): number {
    return this.ids[3 * k + 1];
  }

  private blob(k: number): number {
    return this.ids[3 * k + 2] & 8191;
  }

  name(k: number): string {
    if (!this.ends) {
      this.ends = new Uint32Array(this.count);
      let end = 0;
      for (let j = 0; j < this.count; j++) this.ends[j] = end += (this.ids[3 * j + 2] >>> 13) & 255;
    }
    return this.names.toString('latin1', this.start + (k === 0 ? 0 : this.ends[k - 1]), this.start + this.ends[k]);
  }

  /** True for `.` and `..`. */
  isDot(k: number): boolean {
    return this.ids[3 * k + 2] >>> 21 === 1;
  }

  unpack(): DirEntry[] {
    const out: DirEntry[] = [];
    for (let k = 0; k < this.count; k++) out.push({ name: this.name(k), vnode: this.vnode(k), unique: this.unique(k), blob: this.blob(k) });
    return out;
  }
}

/** Runs of increasing vnode numbers PairLookup searches before it turns to a hash table. */
const MAX_RUNS = 8;

/**
 * (vnode, uniquifier) -> 2 * index of the last vnode with the pair + its
 * in-index flag, for vnodes added in order. While the vnodes form at most
 * MAX_RUNS runs of strictly increasing vnode numbers (a full dump has two:
 * the large index's, then the small one's), a pair is found by a binary
 * search in each run, from the last (a number comes at most once in a run):
 * no memory beyond the columns. Past that (an incremental dump, a disordered
 * one) or with a pair that is not two 32-bit numbers, it builds a PairIndex
 * from the vnodes so far and uses it from then on.
 */
class PairLookup {
  private table: PairIndex | undefined;
  /** First index of each run; the last run ends at `added`. */
  private readonly runs: number[] = [];
  private added = 0;
  private last = -1;

  constructor(private readonly cols: VnodeColumns) {}

  /** Add vnode `at` (the next index) with its pair; returns the value of the last vnode with the pair before it, or -1. */
  add(at: number, vnode: number, unique: number, inIndex: 0 | 1): number {
    this.cols.setInIndex(at, inIndex);
    if (!this.table && (!isU32(vnode) || !isU32(unique))) this.toTable();
    if (this.table) {
      this.added = at + 1;
      return this.table.set(vnode, unique, 2 * at + inIndex);
    }
    const prev = this.get(vnode, unique);
    if (this.runs.length === 0 || vnode <= this.last) {
      this.runs.push(at);
      if (this.runs.length > MAX_RUNS) {
        this.added = at;
        this.toTable();
        this.added = at + 1;
        this.table!.set(vnode, unique, 2 * at + inIndex);
        return prev;
      }
    }
    this.last = vnode;
    this.added = at + 1;
    return prev;
  }

  /** The value for the pair, or -1. */
  get(vnode: number, unique: number): number {
    if (this.table) return this.table.get(vnode, unique);
    if (!isU32(vnode) || !isU32(unique)) return -1;
    const { cols, runs } = this;
    for (let r = runs.length - 1; r >= 0; r--) {
      let lo = runs[r];
      let hi = (r + 1 < runs.length ? runs[r + 1] : this.added) - 1;
      if (hi < lo || vnode < cols.vnode(lo) || vnode > cols.vnode(hi)) continue;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = cols.vnode(mid);
        if (v < vnode) lo = mid + 1;
        else if (v > vnode) hi = mid - 1;
        else {
          if (cols.unique(mid) === unique) return 2 * mid + cols.inIndexOf(mid);
          break;
        }
      }
    }
    return -1;
  }

  /** Put the vnodes added so far into a hash table, in order (a later one replaces an earlier one's pair). */
  private toTable(): void {
    const table = (this.table = new PairIndex(this.cols));
    table.reserve(this.added);
    for (let i = 0; i < this.added; i++) table.set(this.cols.exactVnode(i), this.cols.exactUnique(i), 2 * i + this.cols.inIndexOf(i));
  }
}

/** The uniquifier of each vnode index, as PairIndex reads it. */
interface PairKeys {
  unique(i: number): number;
}

/** PairIndex.reserve asks for room for at most this many pairs at once (the count it is given comes from the input). */
const MAX_RESERVE = 1 << 20;

/**
 * A map from (vnode, uniquifier) pairs to non-negative integers whose half
 * (value >> 1) is the index of a vnode with that pair, in a typed array
 * (open addressing): no string keys and no per-entry objects, for dumps with
 * hundreds of thousands of vnodes. It stores the values and the vnode
 * numbers; a slot's uniquifier is read from the vnode columns at the index
 * its value gives (8 bytes a slot rather than 12). Pairs that
 * are not two 32-bit unsigned numbers (never decoded, but possible in
 * hand-made records) go to an ordinary map.
 */
class PairIndex {
  /** -1: empty slot. */
  private values = new Int32Array(1024).fill(-1);
  /** The vnode number of each slot. */
  private vnodes = new Uint32Array(1024);
  private mask = 1023;
  private count = 0;
  private other: Map<string, number> | undefined;

  constructor(private readonly keys: PairKeys) {}

  private slot(vnode: number, unique: number): number {
    let h = Math.imul(vnode, 0x9e3779b1) ^ Math.imul(unique ^ (unique >>> 15), 0x85ebca6b);
    h ^= h >>> 16;
    return h & this.mask;
  }

  /** The value for the pair, or -1. */
  get(vnode: number, unique: number): number {
    if (vnode >>> 0 !== vnode || unique >>> 0 !== unique) return this.other?.get(`${vnode}.${unique}`) ?? -1;
    const { keys, values, vnodes, mask } = this;
    for (let s = this.slot(vnode, unique); ; s = (s + 1) & mask) {
      const v = values[s];
      if (v < 0) return -1;
      if (vnodes[s] === vnode && keys.unique(v >> 1) === unique) return v;
    }
  }

  /** Set the pair's value (the pair is that of vnode value >> 1); returns the value it replaces, or -1. */
  set(vnode: number, unique: number, value: number): number {
    if (vnode >>> 0 !== vnode || unique >>> 0 !== unique) {
      const other = (this.other ??= new Map());
      const prev = other.get(`${vnode}.${unique}`) ?? -1;
      other.set(`${vnode}.${unique}`, value);
      return prev;
    }
    const { keys, values, vnodes, mask } = this;
    for (let s = this.slot(vnode, unique); ; s = (s + 1) & mask) {
      const v = values[s];
      if (v < 0) {
        values[s] = value;
        vnodes[s] = vnode;
        if (++this.count * 8 > mask * 5) this.resize(values.length * 2);
        return -1;
      }
      if (vnodes[s] === vnode && keys.unique(v >> 1) === unique) {
        values[s] = value;
        return v;
      }
    }
  }

  /** Make room for `n` more pairs now (at most MAX_RESERVE), rather than growing step by step. */
  reserve(n: number): void {
    const want = this.count + Math.min(n, MAX_RESERVE);
    let size = this.values.length;
    while (want * 8 > (size - 1) * 5) size *= 2;
    if (size > this.values.length) this.resize(size);
  }

  private resize(size: number): void {
    const { keys, values, vnodes } = this;
    this.values = new Int32Array(size).fill(-1);
    this.vnodes = new Uint32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < 0) continue;
      let s = this.slot(vnodes[i], keys.unique(v >> 1));
      while (this.values[s] >= 0) s = (s + 1) & this.mask;
      this.values[s] = v;
      this.vnodes[s] = vnodes[i];
    }
  }
}
