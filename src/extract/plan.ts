/**
 * Where every vnode of a dump goes when it is extracted: the tree learnt
 * from the directory pages (which a dump carries before any file data).
 * Pure: no file system. Paths are binary strings (one char per byte),
 * relative to the target, components joined by `/`; the root is ''.
 */
import { finding, type Finding } from '../diagnostics/finding.js';
import type { DirEntry } from '../dir/pages.js';
import { DumpError } from '../format/errors.js';
import { vnodeClass } from '../format/types.js';

/** What extract reports (codes in src/diagnostics/codes.ts, areas `extract`, `tree` and `run`). */
export type ProblemCode =
  | 'UNSAFE_NAME' | 'EXISTS' | 'DANGLING' | 'UNREACHABLE' | 'DUPLICATE' | 'NO_DATA' | 'LATE_DIRECTORY' | 'UNREPRESENTABLE' | 'NOT_FOUND' | 'IO';

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

/** A directory vnode as the extractor keeps it (entries, never pages). */
export interface DirInfo {
  vnode: number;
  unique: number;
  mode: number;
  mtime: number;
  owner: number;
  entries: DirEntry[];
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

export function fidKey(vnode: number, unique: number): string {
  return `${vnode}.${unique}`;
}

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
  /** Small vnode key -> the selected paths naming it (the first is where its data goes). */
  files: Map<string, string[]>;
  /** Small vnode keys named by some placed directory (selected or not). */
  named: Set<string>;
  /** Name of the orphans directory under the root (only with --orphans). */
  orphanDir: string | null;
  problems: ExtractProblem[];
}

function byName(a: DirEntry, b: DirEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Lay the directories out: breadth first from the root (vnode 1), names
 * checked, paths assigned; with `orphans`, every directory the root does
 * not reach is laid out under `<orphanDir>/<vnode>.<unique>`.
 */
export function planTree(dirs: Map<string, DirInfo>, root: DirInfo | undefined, opts: PlanOptions): TreePlan {
  const sel = opts.selection;
  const plan: TreePlan = { dirs: [], files: new Map(), named: new Set(), orphanDir: null, problems: [] };
  const placed = new Map<string, string>(); // dir key -> path
  const report = (p: ProblemReport) => plan.problems.push(extractProblem(p));

  const walk = (start: DirInfo, startPath: string) => {
    const queue: { d: DirInfo; path: string }[] = [{ d: start, path: startPath }];
    placed.set(fidKey(start.vnode, start.unique), startPath);
    if (sel.includes(startPath) || sel.isAncestor(startPath)) plan.dirs.push(metaOf(start, startPath));
    for (let i = 0; i < queue.length; i++) {
      const { d, path } = queue[i];
      for (const e of [...d.entries].sort(byName)) {
        const key = fidKey(e.vnode, e.unique);
        const small = vnodeClass(e.vnode) === 'small';
        if (e.name === '.' || e.name === '..') {
          // Every directory has them; they are never extracted. Naming a file is hostile.
          if (small && e.vnode !== 0) {
            plan.named.add(key);
            report({ code: 'UNSAFE_NAME', path: joinPath(path, e.name), vnode: e.vnode, unique: e.unique, message: `entry "${e.name}" names a file; not extracted` });
          }
          continue;
        }
        const bad = unsafeName(e.name);
        const childPath = joinPath(path, e.name);
        if (bad) {
          if (small) plan.named.add(key);
          report({ code: 'UNSAFE_NAME', path: childPath, vnode: e.vnode, unique: e.unique, message: `${bad}; not extracted` });
          continue;
        }
        const wanted = sel.includes(childPath);
        if (small) {
          plan.named.add(key);
          if (wanted) {
            const l = plan.files.get(key);
            if (l) l.push(childPath);
            else plan.files.set(key, [childPath]);
          }
          continue;
        }
        const child = dirs.get(key);
        if (!child) {
          if (wanted || sel.isAncestor(childPath)) report({ code: 'DANGLING', path: childPath, vnode: e.vnode, unique: e.unique, message: `names directory vnode ${key}, which is not in the dump` });
          continue;
        }
        const already = placed.get(key);
        if (already !== undefined) {
          if (wanted) report({ code: 'DUPLICATE', path: childPath, vnode: e.vnode, unique: e.unique, message: `a second name for directory ${key}, already placed at ${JSON.stringify(already)}; not extracted` });
          continue;
        }
        placed.set(key, childPath);
        if (wanted || sel.isAncestor(childPath)) plan.dirs.push(metaOf(child, childPath));
        queue.push({ d: child, path: childPath });
      }
    }
  };

  if (root) walk(root, '');

  const lost = [...dirs.values()].filter((d) => !placed.has(fidKey(d.vnode, d.unique)));
  if (opts.orphans) {
    const taken = new Set((root?.entries ?? []).map((e) => e.name));
    let name = '#orphans';
    for (let k = 1; taken.has(name); k++) name = `#orphans.${k}`;
    plan.orphanDir = name;
    if (lost.length > 0) {
      // Top-level lost directories first (those no other lost directory names), then whatever cycles remain.
      const namedByLost = new Set<string>();
      for (const d of lost) for (const e of d.entries) if (e.name !== '.' && e.name !== '..') namedByLost.add(fidKey(e.vnode, e.unique));
      const order = [...lost.filter((d) => !namedByLost.has(fidKey(d.vnode, d.unique))), ...lost];
      let container = false;
      for (const d of order) {
        if (placed.has(fidKey(d.vnode, d.unique))) continue;
        const p = joinPath(name, fidKey(d.vnode, d.unique));
        if (!container && (sel.includes(p) || sel.isAncestor(p))) {
          plan.dirs.push(orphanContainer(name, opts.orphanTime));
          container = true;
        }
        walk(d, p);
      }
    }
  } else if (sel.all) {
    for (const d of lost) {
      report({ code: 'UNREACHABLE', vnode: d.vnode, unique: d.unique, message: `directory ${fidKey(d.vnode, d.unique)} is not reachable from the root; not extracted (use --orphans)` });
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
