/**
 * Structural checks over a stream of records (FORMAT.md 3 and 4). Feed every
 * record to `record()`, then call `finish()`; the checker holds only per-vnode
 * metadata (no file data), so it serves both file verification and
 * streaming verification while a dump is being written.
 */
import { parseAcl } from '../acl/acl.js';
import { validateDirectory, type DirEntry } from '../dir/pages.js';
import { DIR_PAGE_SIZE, DUMP_END_MAGIC, DUMP_VERSION, VNODE_DIR, VNODE_FILE, VNODE_SYMLINK } from '../format/constants.js';
import { resolvePaths, vnodeKey } from '../format/paths.js';
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
}

export class StructureChecker {
  readonly problems: Problem[] = [];
  /** Problems dropped by the per-code cap, by code. */
  readonly suppressed = new Map<string, number>();
  header: DumpHeader | null = null;
  volume: VolumeData | null = null;
  readonly index: Record<IndexClass, IndexState | null> = { large: null, small: null };
  readonly vnodes: CheckedVnode[] = [];
  sawEnd = false;
  streamLength = -1;
  trailing = 0;
  private current: IndexClass | null = null;
  private lastVnode = 0;
  private readonly seen = new Set<string>();
  private readonly perCode = new Map<string, number>();
  private readonly maxPerCode: number;

  constructor(opts: CheckerOptions = {}) {
    this.maxPerCode = opts.maxPerCode ?? 100;
  }

  get incremental(): boolean {
    return (this.header?.incremental ?? 0) !== 0;
  }

  add(code: string, severity: Severity, offset: number, message: string, vnode?: string): void {
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
    for (const n of r.notes ?? []) {
      const sev: Severity = n.code === 'STRING_NOT_TERMINATED' ? 'error' : 'warning';
      this.add(n.code, sev, n.offset, n.message, vnode);
    }
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
    const id = `${v.vnode}.${v.unique}`;
    const end = v.data.kind === 'filedata' ? v.data.start + v.data.length : v.offset + v.size;
    const cv: CheckedVnode = {
      vnode: v.vnode, unique: v.unique, type: v.type, parent: v.parent, parentUnique: v.parentUnique,
      offset: v.offset, end, size: v.data.kind === 'filedata' ? v.data.length : v.data.kind === 'dirpages' ? v.data.pages.length : 0,
    };
    this.vnodes.push(cv);
    this.notes(v, id);
    if (!this.requireIndex(v.offset, `vnode ${id}`)) return;
    const cls = this.current!;
    const idx = this.index[cls]!;
    idx.records++;
    const odd = v.vnode % 2 === 1;
    if (cls === 'large' && !odd) this.add('VNODE_CLASS', 'error', v.offset, `even vnode number ${v.vnode} in the large (directory) index`, id);
    if (cls === 'small' && odd) this.add('VNODE_CLASS', 'error', v.offset, `odd vnode number ${v.vnode} in the small (file) index`, id);
    if (v.type !== VNODE_FILE && v.type !== VNODE_DIR && v.type !== VNODE_SYMLINK) {
      this.add('VNODE_TYPE', 'error', v.offset, `vnode type ${v.type} (want 1 file, 2 directory, 3 symbolic link)`, id);
    } else if ((v.type === VNODE_DIR) !== (cls === 'large')) {
      this.add('VNODE_CLASS', 'error', v.offset, `${v.type === VNODE_DIR ? 'directory' : 'file'} vnode in the ${cls} index`, id);
    }
    if (!this.incremental) {
      if (v.vnode < this.lastVnode) this.add('VNODE_ORDER', 'error', v.offset, `vnode ${v.vnode} after vnode ${this.lastVnode}: numbers must not decrease in a full dump`, id);
      if (this.seen.has(id)) this.add('VNODE_DUPLICATE', 'error', v.offset, `vnode ${id} appears twice`, id);
    }
    this.seen.add(id);
    this.lastVnode = Math.max(this.lastVnode, v.vnode);
    if (idx.lists > 0 && vnodeSlot(v.vnode) >= idx.lists) {
      this.add('VNODE_SLOT', 'warning', v.offset, `vnode ${v.vnode} is in slot ${vnodeSlot(v.vnode)}, beyond the ${idx.lists} lists of its index`, id);
    }
    const missing = [...VNODE_REQUIRED].filter((f) => !v.fields?.includes(f));
    if (missing.length) this.add('VNODE_FIELD_MISSING', 'error', v.offset, `vnode lacks field(s) ${missing.map((m) => `'${m}'`).join(' ')}`, id);
    if (v.mode > 0o7777) this.add('VNODE_MODE', 'warning', v.offset, `mode 0${v.mode.toString(8)} has bits beyond the 12 permission bits`, id);
    if (v.rawAcl) this.add('OLD_ACL', 'info', v.offset, 'old raw access list (\'A\') instead of \'X\'', id);

    if (v.type === VNODE_DIR) this.checkDirectory(v, cv, id);
    else if (v.type === VNODE_FILE || v.type === VNODE_SYMLINK) {
      if (v.data.kind === 'filedata') {
        if (v.length !== v.data.length) {
          this.add('SIZE_MISMATCH', 'error', v.data.offset, `declared length 'L' ${v.length} but FILEDATA holds ${v.data.length} bytes`, id);
        }
      } else if (v.data.kind === 'badinode') {
        this.add('BADINODE', 'warning', v.data.offset, 'BADINODE: the server could not read this file; a restore creates it empty', id);
      } else if (v.data.kind === 'dirpages') {
        this.add('DATA_KIND', 'error', v.data.offset, 'directory pages in a file vnode', id);
      } else {
        this.add('DATA_MISSING', 'error', v.offset + v.size, 'file vnode without FILEDATA or BADINODE', id);
      }
    }
  }

  private checkDirectory(v: Vnode, cv: CheckedVnode, id: string): void {
    if (v.acl !== undefined) {
      const { problems } = parseAcl(v.acl);
      for (const p of problems) this.add('ACL_BAD', 'error', v.offset, `access list: ${p.message}`, id);
    } else if (!v.rawAcl) {
      this.add('VNODE_FIELD_MISSING', 'error', v.offset, 'directory vnode without an access list', id);
    }
    if (v.data.kind !== 'dirpages') {
      this.add(v.data.kind === 'none' ? 'DATA_MISSING' : 'DATA_KIND', 'error', v.offset + v.size, 'directory vnode without DIRPAGES', id);
      return;
    }
    const d = v.data;
    if (v.length !== d.count * DIR_PAGE_SIZE) {
      this.add('DIR_LENGTH', 'warning', v.offset, `declared length 'L' ${v.length}, but ${d.count} pages are ${d.count * DIR_PAGE_SIZE} bytes`, id);
    }
    if (d.count === 0) {
      this.add('DIR_PAGE_COUNT', 'error', d.offset, 'directory with 0 pages', id);
      cv.entries = [];
      return;
    }
    const self = { vnode: v.vnode, unique: v.unique };
    const parent = v.vnode === 1 ? undefined : { vnode: v.parent, unique: v.parentUnique };
    const { entries, problems } = validateDirectory(d.pages, parent ? { self, parent } : { self });
    cv.entries = entries;
    // Page k's bytes start at DIRPAGES tag + 5 (tag, count) + k * 2049 + 1 ('P').
    for (const p of problems) {
      const page = Math.floor(p.offset / DIR_PAGE_SIZE);
      const abs = d.offset + 5 + page * (DIR_PAGE_SIZE + 1) + 1 + (p.offset % DIR_PAGE_SIZE);
      this.add(p.code, 'error', abs, `directory: ${p.message}`, id);
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
    const root = this.vnodes.find((v) => v.vnode === 1);
    if (!root) {
      this.add('ROOT_MISSING', 'error', this.index.large?.offset ?? 0, 'no root directory (vnode 1)');
      return;
    }
    const present = new Map<string, CheckedVnode>();
    for (const v of this.vnodes) present.set(vnodeKey(v.vnode, v.unique), v);
    const { unreachable, dangling } = resolvePaths(this.vnodes);
    for (const d of dangling) {
      const dir = d.dir as CheckedVnode;
      this.add('DANGLING_ENTRY', 'error', dir.offset, `directory entry "${displayString(d.entry.name)}" names vnode ${d.entry.vnode}.${d.entry.unique}, which is not in the dump`, `${dir.vnode}.${dir.unique}`);
    }
    for (const v of this.vnodes) {
      if (v.vnode === 1) continue;
      if (!present.has(vnodeKey(v.parent, v.parentUnique))) {
        this.add('PARENT_MISSING', 'error', v.offset, `parent ${v.parent}.${v.parentUnique} is not in the dump`, `${v.vnode}.${v.unique}`);
      }
    }
    for (const u of unreachable) {
      const v = u as CheckedVnode;
      this.add('UNREACHABLE', 'warning', v.offset, 'no directory entry reaches this vnode from the root', `${v.vnode}.${v.unique}`);
    }
  }
}
