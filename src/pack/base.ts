/**
 * The base dump of `pack --incremental-from`, in columns (issue #17): what
 * the incremental builder needs of every base vnode (never its file data) in
 * typed-array columns, directory entries packed (`PackedEntries`), found by
 * (vnode, uniquifier) through a `PairTable`: no object per vnode or entry,
 * no path string. It is a `TreeSource`, so the volume tree model walks it.
 */
import { decodeDirectory, type DirEntry } from '../dir/pages.js';
import { VNODE_SYMLINK } from '../format/constants.js';
import { DumpError } from '../format/errors.js';
import { NameStore, PackedEntries, PairTable } from '../format/packed.js';
import { DumpReader } from '../format/reader.js';
import type { EntryList, TreeSource } from '../format/tree.js';
import type { DumpHeader, IndexClass, VersionVector, VolumeData } from '../format/types.js';
import { FileSource } from '../io/source.js';
import { ByteStore, NumberColumn } from './columns.js';

const MAX_TARGET = 64 << 10;
/** Numbers of a version vector in the `vv` column: 8 counters, store host, store uniquifier, flags. */
const VV = 11;

export class BaseDump implements TreeSource {
  header!: DumpHeader;
  volume!: VolumeData;
  readonly lists: Record<IndexClass, number> = { large: 0, small: 0 };
  size = 0;
  private readonly vnodeCol = new NumberColumn();
  private readonly uniqueCol = new NumberColumn();
  private readonly typeCol = new NumberColumn();
  private readonly modeCol = new NumberColumn();
  private readonly mtimeCol = new NumberColumn();
  private readonly ownerCol = new NumberColumn();
  private readonly parentCol = new NumberColumn();
  private readonly parentUniqueCol = new NumberColumn();
  private readonly dataVersionCol = new NumberColumn();
  /** Where the file data starts, and its length + 1 (0: no FILEDATA). */
  private readonly startCol = new NumberColumn();
  private readonly lengthCol = new NumberColumn();
  /** ACL: 1 + its index in `acls` (0: none). */
  private readonly aclCol = new NumberColumn();
  private readonly acls: string[] = [];
  private readonly aclIndex = new Map<string, number>();
  /** Version vectors: a column for each of the eight counters, store host, store uniquifier and flags. */
  private readonly vv = Array.from({ length: VV }, () => new NumberColumn());
  /** Link targets: position in `targets`, and length + 1 (0: none kept). */
  private readonly targetAt = new NumberColumn();
  private readonly targetLen = new NumberColumn();
  private readonly targets = new ByteStore();
  private readonly lists_ = new Map<number, PackedEntries>();
  private readonly names = new NameStore();
  private readonly pairs = new PairTable();

  constructor(readonly path: string) {}

  /** TreeSource: the last vnode with the pair, or -1. */
  find(vnode: number, unique: number): number {
    return this.pairs.value(vnode, unique);
  }
  entries(i: number): EntryList | undefined {
    return this.lists_.get(i);
  }
  vnode(i: number): number {
    return this.vnodeCol.get(i);
  }
  unique(i: number): number {
    return this.uniqueCol.get(i);
  }
  type(i: number): number {
    return this.typeCol.get(i);
  }
  mode(i: number): number {
    return this.modeCol.get(i);
  }
  mtime(i: number): number {
    return this.mtimeCol.get(i);
  }
  owner(i: number): number {
    return this.ownerCol.get(i);
  }
  parent(i: number): number {
    return this.parentCol.get(i);
  }
  parentUnique(i: number): number {
    return this.parentUniqueCol.get(i);
  }
  dataVersion(i: number): number {
    return this.dataVersionCol.get(i);
  }
  /** File data start, or undefined without FILEDATA. */
  start(i: number): number | undefined {
    return this.lengthCol.get(i) === 0 ? undefined : this.startCol.get(i);
  }
  length(i: number): number | undefined {
    const l = this.lengthCol.get(i);
    return l === 0 ? undefined : l - 1;
  }
  acl(i: number): string | undefined {
    const a = this.aclCol.get(i);
    return a === 0 ? undefined : this.acls[a - 1];
  }
  versionVector(i: number): VersionVector {
    const v = this.vv;
    const versions: number[] = [];
    for (let k = 0; k < 8; k++) versions.push(v[k].get(i));
    return { versions, storeHost: v[8].get(i), storeUniq: v[9].get(i), flags: v[10].get(i) };
  }
  /** The link target kept for vnode i (binary string), or undefined. */
  target(i: number): string | undefined {
    const l = this.targetLen.get(i);
    return l === 0 ? undefined : this.targets.latin1(this.targetAt.get(i), l - 1);
  }

  /** Bytes of the columns (diagnostics). */
  get bytes(): number {
    let n = this.targets.bytes;
    for (const c of [this.vnodeCol, this.uniqueCol, this.typeCol, this.modeCol, this.mtimeCol, this.ownerCol, this.parentCol,
      this.parentUniqueCol, this.dataVersionCol, this.startCol, this.lengthCol, this.aclCol, ...this.vv, this.targetAt, this.targetLen]) n += c.bytes;
    return n;
  }

  private addAcl(acl: string | undefined): number {
    if (acl === undefined) return 0;
    let k = this.aclIndex.get(acl);
    if (k === undefined) {
      k = this.acls.push(acl);
      this.aclIndex.set(acl, k);
    }
    return k;
  }

  /** Read the base dump once: metadata, directory entries and link targets, file data positions. */
  static async read(path: string, source?: FileSource): Promise<BaseDump> {
    if (path === '-') throw new DumpError('USAGE', '--incremental-from needs a dump file (its data is compared by position), not standard input');
    const reader = new DumpReader(source ?? (await FileSource.open(path)));
    const b = new BaseDump(path);
    let header: DumpHeader | null = null;
    let volume: VolumeData | null = null;
    try {
      for (;;) {
        const r = await reader.next();
        if (!r) break;
        if (r.kind === 'header') {
          if (r.incremental !== 0) {
            throw new DumpError('USAGE', `the base is an incremental dump (level ${r.incremental}); merge it onto its full dump first (codadump merge) and use the result as the base`, undefined, path);
          }
          header = r;
        } else if (r.kind === 'volume') volume = r;
        else if (r.kind === 'index') b.lists[r.index] = r.lists;
        else if (r.kind === 'rmvnode') throw new DumpError('BAD_VALUE', 'the base holds RMVNODE records', r.offset, path);
        else if (r.kind === 'vnode') {
          const i = b.size++;
          b.vnodeCol.push(r.vnode);
          b.uniqueCol.push(r.unique);
          b.typeCol.push(r.type);
          b.modeCol.push(r.mode);
          b.mtimeCol.push(r.mtime);
          b.ownerCol.push(r.owner);
          b.parentCol.push(r.parent);
          b.parentUniqueCol.push(r.parentUnique);
          b.dataVersionCol.push(r.dataVersion);
          b.aclCol.push(b.addAcl(r.acl));
          for (let k = 0; k < 8; k++) b.vv[k].push(r.vv.versions[k] ?? 0);
          b.vv[8].push(r.vv.storeHost);
          b.vv[9].push(r.vv.storeUniq);
          b.vv[10].push(r.vv.flags);
          b.pairs.setValue(r.vnode, r.unique, i);
          let start = 0;
          let length = 0;
          let tAt = 0;
          let tLen = 0;
          if (r.data.kind === 'dirpages') {
            let entries: DirEntry[];
            try {
              entries = decodeDirectory(r.data.pages);
            } catch {
              entries = [];
            }
            b.lists_.set(i, new PackedEntries(entries, b.names));
          } else if (r.data.kind === 'filedata') {
            start = r.data.start;
            length = r.data.length + 1;
            if (r.type === VNODE_SYMLINK && r.data.length <= MAX_TARGET) {
              const t = await reader.readFileData();
              tAt = b.targets.add(t);
              tLen = t.length + 1;
            }
          }
          b.startCol.push(start);
          b.lengthCol.push(length);
          b.targetAt.push(tAt);
          b.targetLen.push(tLen);
        }
      }
    } finally {
      await reader.close();
    }
    if (!header) throw new DumpError('NOT_A_DUMP', 'no dump header', 0, path);
    if (!volume) throw new DumpError('BAD_VALUE', 'the base has no volume disk data', undefined, path);
    b.header = header;
    b.volume = volume;
    return b;
  }
}
