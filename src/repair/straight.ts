/**
 * repair of a sound dump without the diagnosis (issue #17): verify's
 * straight parse of the input, with a look at every record on the way,
 * proves that the plan repair would make is the input itself: then the
 * repaired dump is a copy of the input, and the report is made from the
 * checker's tables (no object a vnode, no second table of the vnodes).
 *
 * The proof (what repair.ts's stages would otherwise change), each part
 * checked here or by the checker finding nothing at all:
 *   - verify finds nothing (no finding of any severity): records in order
 *     (dump header, volume data, large index, directories, small index,
 *     files, end marker at the file's end), a full dump, numbers increasing
 *     in each index with no pair twice, every field there, permission bits
 *     only, lengths that agree with the data, directories whose pages check
 *     (their `.` and `..` naming the directory and its parent), no entry
 *     naming what is not in the dump, no parent missing, nothing the root
 *     does not reach;
 *   - every vnode is one repair keeps (`usableVnode`), and no other record
 *     kind comes between them;
 *   - every vnode but the root is named by exactly one directory entry,
 *     in the directory its parent field names (then repair moves nothing,
 *     and paths do not depend on the order entries are listed in); the
 *     root's one `..` names the root;
 *   - each record encoded again from its fields (as repair writes it) is
 *     the input's bytes, records and file data tiling the file (the dump
 *     header, volume data with its counts brought up to date, and the
 *     index headers with their counts are compared by the caller).
 * Anything else: the caller diagnoses and plans as before, with the
 * findings of this parse (not parsed twice).
 */
import * as nodeFs from 'node:fs';
import { encodeVnode, type VnodeFields } from '../format/encoder.js';
import { VNODE_DIR } from '../format/constants.js';
import { vnodeSlot, type DumpHeader, type DumpRecord, type IndexHeader, type Vnode, type VolumeData } from '../format/types.js';
import type { FileSource } from '../source/file.js';
import { sniff } from '../source/sniff.js';
import { StructureChecker, type CheckedTree } from '../check/checker.js';
import { verifySource } from '../check/verify.js';
import type { Problem } from '../check/problems.js';
import { borrowed } from '../diagnose/diagnose.js';
import { usableVnode } from '../diagnose/resync.js';

/** A decoded vnode's fields as repair encodes them (permission bits only). */
export function fieldsOf(v: Vnode): VnodeFields {
  const f: VnodeFields = {
    vnode: v.vnode, unique: v.unique, type: v.type, mode: v.mode & 0o7777, linkCount: v.linkCount, length: v.length,
    dataVersion: v.dataVersion, vv: v.vv, mtime: v.mtime, author: v.author, owner: v.owner, parent: v.parent,
    parentUnique: v.parentUnique,
  };
  if (v.acl !== undefined) f.acl = v.acl;
  else if (v.rawAcl !== undefined) {
    f.rawAcl = v.rawAcl;
    f.rawAclPadding = v.rawAclPadding;
  }
  return f;
}

/** A sound dump, as the copy and its report need it. */
export interface SoundDump {
  header: DumpHeader;
  volume: VolumeData;
  indexes: { large: IndexHeader; small: IndexHeader };
  /** The end marker's position. */
  endAt: number;
  /** Vnodes in each index, the highest uniquifier, the highest slot + 1 in each index. */
  counts: { large: number; small: number };
  maxUnique: number;
  slots: { large: number; small: number };
  /** Files, links and bad inodes (the volume's file count as repair sets it). */
  files: number;
  /** The vnodes in stream (= output) order. */
  tree: CheckedTree;
}

/** A window of the input read with synchronous positional reads (the records are compared in stream order). */
class Window {
  private readonly buf = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private end = 0;
  constructor(private readonly fd: number) {}

  /** True when the input holds exactly `b` at `pos` (false where it cannot be read: the diagnosis reports that). */
  same(b: Buffer, pos: number): boolean {
    if (b.length > WINDOW) return false;
    if (pos < this.start || pos + b.length > this.end) {
      let n = 0;
      this.start = this.end = 0;
      try {
        while (n < WINDOW) {
          const r = nodeFs.readSync(this.fd, this.buf, n, WINDOW - n, pos + n);
          if (r === 0) break;
          n += r;
        }
      } catch {
        return false;
      }
      this.start = pos;
      this.end = pos + n;
      if (pos + b.length > this.end) return false;
    }
    return b.equals(this.buf.subarray(pos - this.start, pos - this.start + b.length));
  }
}

const WINDOW = 256 * 1024;

/**
 * Verify's parse of `src`, and whether repair may copy it as it is: the
 * sound dump's tables, or verify's findings for the diagnosis.
 */
export async function soundPass(src: FileSource): Promise<{ sound: SoundDump | null; problems: Problem[] | null }> {
  // What the diagnosis would refuse before it parses (not a dump, an empty file) is left to it.
  if (src.size < 5 || !src.hasFd) return { sound: null, problems: null };
  const head = Buffer.alloc(5);
  await src.read(head, 0, 5, 0);
  if (sniff(head).kind !== 'dump') return { sound: null, problems: null };

  const checker = new StructureChecker({ deferTree: true, vnodes: true });
  const win = new Window(src.fd);
  let ok = true;
  let pos = 0;
  let header: DumpHeader | null = null;
  let volume: VolumeData | null = null;
  const indexes: { large: IndexHeader | null; small: IndexHeader | null } = { large: null, small: null };
  let endAt = -1;
  // 0 header, 1 volume, 2 large index, 3 small index, 4 end.
  let stage = -1;
  let last = 0;
  const counts = { large: 0, small: 0 };
  const slots = { large: 0, small: 0 };
  let maxUnique = 0;
  let files = 0;
  const onRecord = (r: DumpRecord): void => {
    if (!ok) return;
    if (checker.problems.length > 0 || r.offset !== pos) {
      ok = false;
      return;
    }
    switch (r.kind) {
      case 'header':
        ok = stage === -1;
        stage = 0;
        header = r;
        pos = r.offset + r.size;
        return;
      case 'volume':
        ok = stage === 0;
        stage = 1;
        volume = r;
        pos = r.offset + r.size;
        return;
      case 'index':
        ok = r.index === 'large' ? stage === 1 : stage === 2;
        stage = r.index === 'large' ? 2 : 3;
        indexes[r.index] = r;
        last = 0;
        pos = r.offset + r.size;
        return;
      case 'end':
        ok = stage === 3;
        stage = 4;
        endAt = r.offset;
        pos = r.offset + r.size;
        return;
      case 'vnode': {
        const cls = stage === 2 ? 'large' : 'small';
        if ((stage !== 2 && stage !== 3) || !usableVnode(r) || r.vnode <= last || (r.vnode % 2 === 1) !== (cls === 'large')) {
          ok = false;
          return;
        }
        last = r.vnode;
        counts[cls]++;
        slots[cls] = Math.max(slots[cls], vnodeSlot(r.vnode) + 1);
        maxUnique = Math.max(maxUnique, r.unique);
        if (r.type !== VNODE_DIR) files++;
        const d = r.data;
        const rec = encodeVnode(fieldsOf(r), d.kind === 'dirpages' ? { kind: 'dirpages', pages: d.pages } : d.kind === 'filedata' ? { kind: 'filedata', length: d.length } : { kind: 'badinode' });
        if (rec.length !== r.size || !win.same(rec, r.offset)) {
          ok = false;
          return;
        }
        pos = r.offset + r.size;
        if (d.kind === 'filedata') {
          if (d.start !== pos) ok = false;
          pos = d.start + d.length;
        }
        return;
      }
      default:
        ok = false;
    }
  };
  const result = await verifySource(borrowed(src), { checker, onRecord });
  const problems = result.problems;
  // verify's findings as verify gives them: with its tree checks (left out of the parse), sorted as it sorts them.
  const all = (): Problem[] => {
    checker.finishTree();
    return problems.sort((a, b) => a.offset - b.offset);
  };
  if (!ok || problems.length > 0 || stage !== 4 || pos !== src.size || !header || !volume || !indexes.large || !indexes.small) return { sound: null, problems: all() };
  const h: DumpHeader = header;
  if (h.incremental !== 0) return { sound: null, problems: all() };
  const tree = checker.checkedTree();
  // The tree checks would find nothing where plainTree holds (see there).
  if (!tree || tree.distinct !== true || !plainTree(tree)) return { sound: null, problems: all() };
  return {
    sound: { header: h, volume, indexes: { large: indexes.large, small: indexes.small }, endAt, counts, maxUnique, slots, files, tree },
    problems,
  };
}

/**
 * Every vnode but the root named by exactly one entry, in the directory its
 * parent field names, every directory's entries naming vnodes of the dump,
 * the root's one `..` naming the root, and every vnode reached from the
 * root: the tree repair plans is the one in the dump, and verify's tree
 * checks (dangling entries, missing parents, unreached vnodes) find
 * nothing. One byte a vnode.
 */
function plainTree(src: CheckedTree): boolean {
  let root = 0;
  while (root < src.size && src.vnode(root) !== 1) root++;
  if (root === src.size) return false;
  // 1: named by its parent; 2: and reached from the root.
  const mark = new Uint8Array(src.size);
  for (let dir = 0; dir < src.size; dir++) {
    const list = src.entries(dir);
    if (!list) continue;
    for (let k = 0; k < list.count; k++) {
      if (list.isDot(k)) {
        if (dir === root && list.name(k) === '..' && (list.vnode(k) !== src.vnode(root) || list.unique(k) !== src.unique(root))) return false;
        continue;
      }
      const c = src.find(list.vnode(k), list.unique(k));
      if (c < 0 || c === root || mark[c] === 1 || src.find(src.parent(c), src.parentUnique(c)) !== dir) return false;
      mark[c] = 1;
    }
  }
  const rootEntries = src.entries(root);
  let up = 0;
  for (let k = 0; k < (rootEntries?.count ?? 0); k++) if (rootEntries!.isDot(k) && rootEntries!.name(k) === '..') up++;
  if (up !== 1) return false;
  const queue = [root];
  for (let q = 0; q < queue.length; q++) {
    const list = src.entries(queue[q])!;
    for (let k = 0; k < list.count; k++) {
      if (list.isDot(k)) continue;
      const c = src.find(list.vnode(k), list.unique(k));
      mark[c] = 2;
      if (src.entries(c)) queue.push(c);
    }
  }
  for (let i = 0; i < src.size; i++) if (i !== root && mark[i] !== 2) return false;
  return true;
}
