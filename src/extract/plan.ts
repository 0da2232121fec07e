/**
 * Where every vnode of a dump goes when it is extracted: the tree learnt
 * from the directory pages (which a dump carries before any file data).
 * Pure: no file system. Paths are binary strings (one char per byte),
 * relative to the target, components joined by `/`; the root is ''.
 */
import type { Code } from '../diagnostics/codes.js';
import { finding, vnodeKey, type Finding } from '../diagnostics/finding.js';
import { DumpError } from '../format/errors.js';
import { ObjectSource, VolumeTree, type TreeVisitor } from '../format/tree.js';
import { vnodeClass } from '../format/types.js';
import { PairTable, type PackedEntries } from '../format/packed.js';
import { EntryRefs, NAMED } from './compact.js';

/** What extract reports (codes in src/diagnostics/codes.ts, areas `extract`, `tree` and `run`). */
export type ProblemCode =
  | 'UNSAFE_NAME' | 'EXISTS' | 'DANGLING' | 'UNREACHABLE' | 'DUPLICATE' | 'NO_DATA' | 'LATE_DIRECTORY' | 'UNREPRESENTABLE' | 'NOT_FOUND' | 'IO'
  /** A file whose data the damage cut: not extracted (a directory), zero-filled after what arrived (a tar from a stream). */
  | 'CUT'
  /** A vnode of a damaged dump that could not be extracted (lost, cut or damaged: the message says which). */
  | 'SKIPPED'
  /** Damage in the input (the dump's own code: TRUNCATED, UNEXPECTED_TAG, WRAPAROUND...): what the extraction went around or stopped at. */
  | Code;

/** An extract finding: `path` is the binary-string path relative to the target, when there is one. */
export type ExtractProblem = Finding & { code: ProblemCode; path?: string };

/** What the extractor's parts report; made into a finding by `extractProblem`. */
export interface ProblemReport {
  code: ProblemCode;
  path?: string;
  vnode?: number;
  unique?: number;
  /** Offset of the record concerned in the dump, when known. */
  offset?: number;
  message: string;
}

export function extractProblem(p: ProblemReport): ExtractProblem {
  return finding(p.code, p.offset, p.message, {
    ...(p.path !== undefined ? { path: p.path } : {}),
    ...(p.vnode !== undefined ? { vnode: { vnode: p.vnode, unique: p.unique ?? 0 } } : {}),
  }) as ExtractProblem;
}

/** A directory vnode as the extractor keeps it (entries sorted by name and packed, never pages). */
export interface DirInfo {
  vnode: number;
  unique: number;
  mode: number;
  mtime: number;
  owner: number;
  entries: PackedEntries;
}

export interface Meta {
  vnode: number;
  unique: number;
  mode: number;
  mtime: number;
  owner: number;
}

export interface PlannedDir extends Meta {
  path: string;
  /** The orphans container: made up, not a vnode of the dump. */
  synthetic?: boolean;
}

/** @deprecated `vnodeKey` is the one spelling (diagnostics/finding.ts); this name stays until extract.ts uses it. */
export const fidKey = vnodeKey;

/** Why `name` cannot be one path component, or null when it can. */
export function unsafeName(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name === '.' || name === '..') return `the name "${name}"`;
  if (name.includes('/')) return 'name contains "/"';
  if (name.includes('\0')) return 'name contains a NUL byte';
  return null;
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

export function parentPath(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/**
 * The paths named on the command line. `includes(p)`: p is one of them or
 * below one; `isAncestor(p)`: p is a directory above one of them (created
 * so the selection has somewhere to go). No paths = everything.
 */
export class Selection {
  readonly all: boolean;
  readonly paths: string[];
  readonly matched = new Set<string>();

  constructor(paths: readonly string[] = []) {
    const norm: string[] = [];
    for (const raw of paths) {
      const parts = raw.split('/').filter((c) => c !== '' && c !== '.');
      if (parts.includes('..')) throw new DumpError('USAGE', `path ${JSON.stringify(raw)} contains "..": name paths inside the volume`);
      norm.push(parts.join('/'));
    }
    this.all = norm.length === 0 || norm.includes('');
    this.paths = this.all ? [] : [...new Set(norm)];
  }

  includes(p: string): boolean {
    if (this.all) return true;
    for (const s of this.paths) {
      if (p === s || p.startsWith(s + '/')) {
        this.matched.add(s);
        return true;
      }
    }
    return false;
  }

  isAncestor(p: string): boolean {
    if (this.all) return false;
    if (p === '') return true;
    for (const s of this.paths) {
      if (s.startsWith(p + '/')) return true;
    }
    return false;
  }

  /** Paths named on the command line that matched nothing. */
  unmatched(): string[] {
    return this.paths.filter((s) => !this.matched.has(s));
  }
}

export interface PlanOptions {
  selection: Selection;
  orphans: boolean;
  /** mtime of the made-up orphans directory. */
  orphanTime: number;
}

export interface TreePlan {
  /** Directories to create, parents first (the root, '', first when there is one). */
  dirs: PlannedDir[];
  /**
   * Small vnode pairs: NAMED by some placed directory (selected or not);
   * `value(vnode, unique)`: the last of the references (in `refs`) to the
   * entries naming a selected file, or -1.
   */
  files: PairTable;
  /** Entries naming selected files, in the order the walk met them (see `paths`). */
  refs: EntryRefs;
  /** The directories the plan was made from (their index is a reference's `dir`). */
  list: readonly DirInfo[];
  /** Path of each placed directory, by index in `list`. */
  pathAt: readonly string[];
  /** Name of the orphans directory under the root (only with --orphans). */
  orphanDir: string | null;
  problems: ExtractProblem[];
}

/** The selected paths of the file whose last reference is `last`, in the order the walk met them (the first is where its data goes). */
export function planPaths(plan: TreePlan, last: number): string[] {
  const out: string[] = [];
  const first = plan.refs.next(last);
  let r = first;
  do {
    const d = plan.refs.dir(r);
    out.push(joinPath(plan.pathAt[d], plan.list[d].entries.name(plan.refs.entry(r))));
    r = plan.refs.next(r);
  } while (r !== first);
  return out;
}

/**
 * Lay the directories out: breadth first from the root (vnode 1) over the
 * volume tree (format/tree.ts), names checked, paths assigned; with
 * `orphans`, every directory the root does not reach is laid out under
 * `<orphanDir>/<vnode>.<unique>`.
 */
export function planTree(dirs: Map<string, DirInfo>, root: DirInfo | undefined, opts: PlanOptions): TreePlan {
  const sel = opts.selection;
  // The volume tree over the directories, entries by name. (A root that a
  // later directory with its pair replaced in `dirs` is walked all the same.)
  const list = [...dirs.values()];
  const indexed = list.length;
  let rootAt = root ? list.indexOf(root) : -1;
  if (root && rootAt < 0) rootAt = list.push(root) - 1;
  const tree = new VolumeTree(new ObjectSource(list.map((d) => ({ vnode: d.vnode, unique: d.unique, d })), indexed, (x) => x.d.entries));
  /** Path of each directory placed (by index; a walk's start also under its pair's index). */
  const pathAt: string[] = [];
  const plan: TreePlan = { dirs: [], files: new PairTable(), refs: new EntryRefs(), list, pathAt, orphanDir: null, problems: [] };
  // Every file the walk can mark is named by an entry: the table is sized once (no doubling, no copy).
  let named = 0;
  for (const d of list) named += d.entries.count;
  plan.files.reserve(named);
  const report = (p: ProblemReport) => plan.problems.push(extractProblem(p));

  const visitor: TreeVisitor = {
    dot(dir, e, k) {
      // Every directory has them; they are never extracted. Naming a file is hostile.
      const vnode = e.vnode(k);
      if (vnodeClass(vnode) === 'small' && vnode !== 0) {
        plan.files.mark(vnode, e.unique(k), NAMED);
        report({ code: 'UNSAFE_NAME', path: joinPath(pathAt[dir], e.name(k)), vnode, unique: e.unique(k), message: `entry "${e.name(k)}" names a file; not extracted` });
      }
    },
    entry(dir, e, k, child, seen) {
      const vnode = e.vnode(k);
      const unique = e.unique(k);
      const key = vnodeKey(vnode, unique);
      const small = vnodeClass(vnode) === 'small';
      const bad = unsafeName(e.name(k));
      const childPath = joinPath(pathAt[dir], e.name(k));
      if (bad) {
        if (small) plan.files.mark(vnode, unique, NAMED);
        report({ code: 'UNSAFE_NAME', path: childPath, vnode, unique, message: `${bad}; not extracted` });
        return false;
      }
      const wanted = sel.includes(childPath);
      if (small) {
        plan.files.mark(vnode, unique, NAMED);
        if (wanted) plan.files.setValue(vnode, unique, plan.refs.add(dir, k, plan.files.value(vnode, unique)));
        return false;
      }
      if (child < 0) {
        if (wanted || sel.isAncestor(childPath)) report({ code: 'DANGLING', path: childPath, vnode, unique, message: `names directory vnode ${key}, which is not in the dump` });
        return false;
      }
      if (seen) {
        if (wanted) report({ code: 'DUPLICATE', path: childPath, vnode, unique, message: `a second name for directory ${key}, already placed at ${JSON.stringify(pathAt[child])}; not extracted` });
        return false;
      }
      pathAt[child] = childPath;
      if (wanted || sel.isAncestor(childPath)) plan.dirs.push(metaOf(list[child], childPath));
      return true;
    },
  };
  /** Lay out the directories `start` reaches, breadth first, `start` at `startPath`. */
  const walk = (start: number, startPath: string) => {
    pathAt[start] = startPath;
    pathAt[tree.canonical(start)] = startPath;
    if (sel.includes(startPath) || sel.isAncestor(startPath)) plan.dirs.push(metaOf(list[start], startPath));
    tree.walk(start, visitor);
  };

  if (rootAt >= 0) walk(rootAt, '');

  const lost: number[] = [];
  for (let i = 0; i < indexed; i++) if (!tree.isReached(i)) lost.push(i);
  if (opts.orphans) {
    const taken = new Set<string>();
    if (root) for (let k = 0; k < root.entries.count; k++) taken.add(root.entries.name(k));
    let name = '#orphans';
    for (let k = 1; taken.has(name); k++) name = `#orphans.${k}`;
    plan.orphanDir = name;
    if (lost.length > 0) {
      // Top-level lost directories first (those no other lost directory names), then whatever cycles remain.
      const order = [...tree.orphanTops(), ...lost];
      let container = false;
      for (const i of order) {
        if (tree.isReached(i)) continue;
        const d = list[i];
        const p = joinPath(name, vnodeKey(d.vnode, d.unique));
        if (!container && (sel.includes(p) || sel.isAncestor(p))) {
          plan.dirs.push(orphanContainer(name, opts.orphanTime));
          container = true;
        }
        walk(i, p);
      }
    }
  } else if (sel.all) {
    for (const i of lost) {
      const d = list[i];
      report({ code: 'UNREACHABLE', vnode: d.vnode, unique: d.unique, message: `directory ${vnodeKey(d.vnode, d.unique)} is not reachable from the root; not extracted (use --orphans)` });
    }
  }
  return plan;
}

export function orphanContainer(name: string, mtime: number): PlannedDir {
  return { path: name, vnode: 0, unique: 0, mode: 0o700, mtime, owner: 0, synthetic: true };
}

function metaOf(d: DirInfo, path: string): PlannedDir {
  return { path, vnode: d.vnode, unique: d.unique, mode: d.mode, mtime: d.mtime, owner: d.owner };
}
