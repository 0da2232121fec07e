/**
 * Read a whole dump once and collect what `inspect` and `ls` show: header,
 * volume data, index headers with record counts, and one summary per vnode
 * (with directory entries and symbolic link targets, never file contents).
 */
import { decodeDirectory, type DirEntry } from '../dir/pages.js';
import { DumpError } from './errors.js';
import type { DumpReader } from './reader.js';
import type { DumpHeader, IndexClass, Vnode, VolumeData } from './types.js';
import { VNODE_DIR, VNODE_SYMLINK } from './constants.js';

export interface VnodeSummary
  extends Pick<Vnode, 'vnode' | 'unique' | 'type' | 'mode' | 'linkCount' | 'length' | 'mtime' | 'owner' | 'author' | 'parent' | 'parentUnique' | 'offset' | 'acl'> {
  data: Vnode['data']['kind'];
  /** FILEDATA count, or pages * 2048. */
  size: number;
  entries?: DirEntry[];
  target?: string;
}

export interface IndexSummary {
  declared: number;
  lists: number;
  records: number;
  removed: number;
  offset: number;
}

export interface DumpSummary {
  header: DumpHeader;
  volume: VolumeData | null;
  large: IndexSummary | null;
  small: IndexSummary | null;
  vnodes: VnodeSummary[];
  removed: { vnode: number; unique: number; offset: number }[];
  /** Offset just past the end marker (the dump stream's length). */
  streamLength: number;
  /** Bytes after the end marker. */
  trailing: number;
}

/** Largest symbolic link target read into memory. */
const MAX_TARGET = 64 << 10;

export interface SummaryOptions {
  /**
   * Keep one VnodeSummary per vnode in `vnodes` (default true). False: the
   * vnodes are counted in their index only, `vnodes` stays empty, and no
   * directory page is decoded nor link target read: what `inspect` without
   * `--vnodes` needs, in memory that does not grow with the dump.
   */
  vnodes?: boolean;
}

/** Read the dump to its end. Throws DumpError on damage (with the file and offset). */
export async function summarizeDump(reader: DumpReader, opts: SummaryOptions = {}): Promise<DumpSummary> {
  const keep = opts.vnodes ?? true;
  let header: DumpHeader | null = null;
  let volume: VolumeData | null = null;
  const idx: Record<IndexClass, IndexSummary | null> = { large: null, small: null };
  let current: IndexSummary | null = null;
  const vnodes: VnodeSummary[] = [];
  const removed: DumpSummary['removed'] = [];
  let streamLength = -1;
  let trailing = 0;
  try {
    for await (const r of reader.records()) {
      switch (r.kind) {
        case 'header': header = r; break;
        case 'volume': volume = r; break;
        case 'index':
          current = { declared: r.declared, lists: r.lists, records: 0, removed: 0, offset: r.offset };
          idx[r.index] = current;
          break;
        case 'vnode': {
          if (current) current.records++;
          if (!keep) break;
          const s: VnodeSummary = {
            vnode: r.vnode, unique: r.unique, type: r.type, mode: r.mode, linkCount: r.linkCount, length: r.length,
            mtime: r.mtime, owner: r.owner, author: r.author, parent: r.parent, parentUnique: r.parentUnique,
            offset: r.offset, data: r.data.kind, size: 0,
          };
          if (r.acl !== undefined) s.acl = r.acl;
          if (r.data.kind === 'dirpages') {
            s.size = r.data.pages.length;
            // A directory with no pages has no entries (verify reports it); don't fail the listing.
            if (r.type === VNODE_DIR) s.entries = r.data.count > 0 ? decodeDirectory(r.data.pages) : [];
          } else if (r.data.kind === 'filedata') {
            s.size = r.data.length;
            if (r.type === VNODE_SYMLINK && r.data.length <= MAX_TARGET) {
              s.target = (await reader.readFileData()).toString('latin1');
            }
          }
          vnodes.push(s);
          break;
        }
        case 'rmvnode':
          if (current) current.removed++;
          removed.push({ vnode: r.vnode, unique: r.unique, offset: r.offset });
          break;
        case 'nullvnode':
          break;
        case 'end': streamLength = r.offset + r.size; break;
        case 'trailing': trailing = r.size; break;
      }
    }
  } finally {
    await reader.close();
  }
  if (!header) throw new DumpError('NOT_A_DUMP', 'no dump header', 0, reader.source.name);
  return { header, volume, large: idx.large, small: idx.small, vnodes, removed, streamLength, trailing };
}
