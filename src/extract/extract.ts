/**
 * `extract`: restore a dump (or the named paths in it) into a directory, or
 * write it as a tar archive, in ONE pass over the dump.
 *
 * A dump lists every directory (large index, with its pages) before any
 * file (small index, with its data). So the directory records are kept as
 * entry lists only, the whole tree is laid out (plan.ts) when the first file
 * record or the small index arrives, every directory is created, and then
 * each file is written as its data streams by: file data is never held in
 * memory. Symbolic link targets (file data too, but at most 4095 bytes) are
 * kept until the end, when the links are created, last.
 *
 * What cannot be placed is reported, never guessed: unsafe names, entries
 * naming missing vnodes, vnodes no directory reaches (with `orphans`, those
 * are written as `#orphans/<vnode>.<uniquifier>`), a directory record that
 * arrives after file data began.
 */
import { decodeDirectory, type DirEntry } from '../dir/pages.js';
import { VNODE_DIR, VNODE_SYMLINK } from '../format/constants.js';
import { DumpError } from '../format/errors.js';
import type { DumpReader } from '../format/reader.js';
import type { Vnode } from '../format/types.js';
import {
  Selection, fidKey, joinPath, orphanContainer, parentPath, planPaths, planTree, type DirInfo, type ExtractProblem, type Meta, extractProblem,
  type TreePlan,
} from './plan.js';
import { NAMED, SEEN } from './compact.js';
import { NameStore, PackedEntries } from '../format/packed.js';
import { DirSink, TarSink, type ExtractSink, type ExtractStats, type SinkContext } from './sinks.js';

export interface ExtractOptions {
  /** Extract into this directory (created if missing). */
  directory?: string;
  /** Or write a tar archive: a file path (written atomically) or a stream (e.g. standard output). */
  tar?: string | NodeJS.WritableStream;
  /** Only these paths (binary strings, relative to the volume root) and what is below them. */
  paths?: string[];
  /** Replace existing files, links and non-directories in the target (never a directory). */
  force?: boolean;
  /** Write vnodes no directory reaches under `#orphans/<vnode>.<uniquifier>`. */
  orphans?: boolean;
  /** Restore owner ids on what is extracted (effective only when running as root). */
  sameOwner?: boolean;
}

export interface ExtractResult extends ExtractStats {
  /** The input was damaged: extraction stopped at (or, for a file, went around) the damage; the problems say what was skipped. */
  damaged?: boolean;
  /** The directory, the tar file, or '-' for a stream. */
  target: string;
  kind: 'directory' | 'tar';
  /** Unreachable vnodes that were written under the orphans directory. */
  orphans: { vnode: number; unique: number; path: string }[];
  /** Everything skipped or not placed. Empty when the extraction is complete. */
  problems: ExtractProblem[];
}

/** Longest symbolic link target a Linux file system stores (PATH_MAX - 1). */
const MAX_LINK_TARGET = 4095;

async function* nothing(): AsyncGenerator<Buffer> {}

/**
 * Extract from `reader` (one pass; the reader is closed at the end). Throws
 * DumpError for unusable input (not a dump, an incremental dump, damage that
 * stops the reader) or target; everything else is in `problems`.
 */
export async function extractDump(reader: DumpReader, opts: ExtractOptions): Promise<ExtractResult> {
  try {
    if ((opts.directory === undefined) === (opts.tar === undefined)) {
      throw new DumpError('USAGE', 'extract needs exactly one target: a directory or a tar archive');
    }
    const selection = new Selection(opts.paths ?? []);
    const first = await reader.next();
    if (!first || first.kind !== 'header') throw new DumpError('NOT_A_DUMP', 'no dump header', 0, reader.source.name);
    if (first.incremental !== 0) {
      throw new DumpError(
        'USAGE',
        `an incremental dump (level ${first.incremental}) holds only what changed since its base; merge it onto its full dump first (codadump merge), then extract the result`,
        undefined,
        reader.source.name,
      );
    }
    const problems: ExtractProblem[] = [];
    const ctx: SinkContext = {
      report: (p) => problems.push(extractProblem(p)),
      stats: { dirs: 0, files: 0, symlinks: 0, links: 0, bytes: 0 },
    };
    const sink: ExtractSink =
      opts.directory !== undefined
        ? await DirSink.open(opts.directory, { force: opts.force ?? false, sameOwner: opts.sameOwner ?? false }, ctx)
        : TarSink.open(opts.tar!, opts.force ?? false, ctx);
    const target = opts.directory ?? (typeof opts.tar === 'string' ? opts.tar : '-');
    const result: ExtractResult = { target, kind: opts.directory !== undefined ? 'directory' : 'tar', ...ctx.stats, orphans: [], problems };
    const input = new InputGuard(reader);
    try {
      await run(input, first.backupDate, selection, opts, sink, ctx, result);
      await sink.finish();
    } catch (e) {
      if (!input.failed(e)) {
        await sink.abort();
        throw e;
      }
      // The input broke (truncated, a record that does not decode): what came
      // before is extracted and the archive (or tree) is finished properly.
      const d = e as DumpError;
      result.damaged = true;
      problems.push(extractProblem({
        code: d.code, ...(d.offset !== undefined ? { offset: d.offset } : {}),
        message: `${d.offset !== undefined ? `at byte ${d.offset}: ` : ''}${d.message}; nothing after it could be read`,
      }));
      await sink.finish();
    }
    Object.assign(result, ctx.stats);
    return result;
  } finally {
    await reader.close();
  }
}

/**
 * The reader, with every error it throws remembered: an error from the input
 * (damage) stops the extraction but keeps what was extracted; an error from
 * the target (disk full) aborts it.
 */
class InputGuard {
  private readonly errors = new WeakSet<object>();
  constructor(private readonly reader: DumpReader) {}

  failed(e: unknown): boolean {
    return e instanceof DumpError && this.errors.has(e);
  }

  private mark(e: unknown): unknown {
    if (e instanceof DumpError) this.errors.add(e);
    return e;
  }

  async next(): ReturnType<DumpReader['next']> {
    try {
      return await this.reader.next();
    } catch (e) {
      throw this.mark(e);
    }
  }

  async readFileData(): Promise<Buffer> {
    try {
      return await this.reader.readFileData();
    } catch (e) {
      throw this.mark(e);
    }
  }

  async *fileData(): AsyncGenerator<Buffer> {
    try {
      yield* this.reader.fileData();
    } catch (e) {
      throw this.mark(e);
    }
  }
}

async function run(
  reader: InputGuard,
  backupDate: number,
  selection: Selection,
  opts: ExtractOptions,
  sink: ExtractSink,
  ctx: SinkContext,
  result: ExtractResult,
): Promise<void> {
  const report = ctx.report;
  const dirs = new Map<string, DirInfo>();
  let root: DirInfo | undefined;
  let plan: TreePlan | null = null;
  let container: boolean | null = null; // the orphans directory: made, failed, or not yet tried
  const names = new NameStore();

  const makePlan = async (): Promise<TreePlan> => {
    if (!root) {
      report({ code: 'UNREACHABLE', message: 'the dump has no root directory (vnode 1): no path can be placed' + (opts.orphans ? '' : ' (use --orphans)') });
    }
    const p = planTree(dirs, root, { selection, orphans: opts.orphans ?? false, orphanTime: backupDate });
    result.problems.push(...p.problems);
    for (const d of p.dirs) {
      const ok = await sink.dir(d);
      if (d.synthetic) container = ok;
      else if (p.orphanDir !== null && parentPath(d.path) === p.orphanDir) result.orphans.push({ vnode: d.vnode, unique: d.unique, path: d.path });
    }
    // Two planned paths are equal only where one directory names the same
    // name twice: the sinks need to remember only those (and directories).
    const repeated = new Set<string>();
    const planned = new Map(p.dirs.map((d) => [fidKey(d.vnode, d.unique), d.path]));
    for (const [key, d] of dirs) {
      const at = planned.get(key);
      if (at === undefined) continue;
      // Sorted by name: a name that comes twice is next to itself.
      for (let k = 1; k < d.entries.count; k++) if (d.entries.sameNameAsPrevious(k)) repeated.add(joinPath(at, d.entries.name(k)));
    }
    ctx.mayRepeat = (path) => repeated.has(path);
    dirs.clear(); // the plan keeps the directories it needs
    return p;
  };

  const fileVnode = async (r: Vnode, p: TreePlan): Promise<void> => {
    const key = fidKey(r.vnode, r.unique);
    const flags = p.files.flagsOf(r.vnode, r.unique);
    if ((flags & SEEN) !== 0) {
      report({ code: 'DUPLICATE', vnode: r.vnode, unique: r.unique, message: `a second record for vnode ${key}; ignored` });
      return;
    }
    p.files.mark(r.vnode, r.unique, SEEN);
    const last = p.files.value(r.vnode, r.unique);
    let paths = last >= 0 ? planPaths(p, last) : undefined;
    if (!paths) {
      if ((flags & NAMED) !== 0) return; // named, but not selected
      if (!opts.orphans) {
        if (selection.all) report({ code: 'UNREACHABLE', vnode: r.vnode, unique: r.unique, message: `file ${key} is not named by any directory reachable from the root; not extracted (use --orphans)` });
        return;
      }
      const path = joinPath(p.orphanDir!, key);
      if (!selection.includes(path)) return;
      if (container === null) container = await sink.dir(orphanContainer(p.orphanDir!, backupDate));
      if (!container) return;
      result.orphans.push({ vnode: r.vnode, unique: r.unique, path });
      paths = [path];
    }
    const meta: Meta = { vnode: r.vnode, unique: r.unique, mode: r.mode, mtime: r.mtime, owner: r.owner };
    if (r.type === VNODE_SYMLINK) {
      if (r.data.kind !== 'filedata') {
        report({ code: 'NO_DATA', path: paths[0], vnode: r.vnode, unique: r.unique, message: 'symbolic link without its target (BADINODE or no data); not extracted' });
        return;
      }
      if (r.data.length > MAX_LINK_TARGET) {
        report({ code: 'UNREPRESENTABLE', path: paths[0], vnode: r.vnode, unique: r.unique, message: `symbolic link target of ${r.data.length} bytes (at most ${MAX_LINK_TARGET}); not extracted` });
        return;
      }
      const target = (await reader.readFileData()).toString('latin1');
      if (target.includes('\0') || target.length === 0) {
        report({ code: 'UNREPRESENTABLE', path: paths[0], vnode: r.vnode, unique: r.unique, message: target.length === 0 ? 'empty symbolic link target; not extracted' : 'symbolic link target contains a NUL byte; not extracted' });
        return;
      }
      sink.symlink(paths, target, meta);
      return;
    }
    if (r.data.kind === 'filedata') {
      await sink.file(paths, meta, reader.fileData(), r.data.length);
    } else {
      report({
        code: 'NO_DATA', path: paths[0], vnode: r.vnode, unique: r.unique,
        message: r.data.kind === 'badinode' ? "the server could not read this file's data (BADINODE); written empty" : 'file without data; written empty',
      });
      await sink.file(paths, meta, nothing(), 0);
    }
  };

  for (;;) {
    const r = await reader.next();
    if (!r || r.kind === 'end') break;
    if (r.kind === 'index') {
      if (r.index === 'small' && !plan) plan = await makePlan();
      continue;
    }
    if (r.kind !== 'vnode') continue;
    const key = fidKey(r.vnode, r.unique);
    if (r.data.kind === 'dirpages' || r.type === VNODE_DIR) {
      if (plan) {
        report({ code: 'LATE_DIRECTORY', vnode: r.vnode, unique: r.unique, message: `directory ${key} comes after file data began; its contents cannot be placed in one pass` });
        continue;
      }
      if (dirs.has(key)) {
        report({ code: 'DUPLICATE', vnode: r.vnode, unique: r.unique, message: `a second record for directory ${key}; ignored` });
        continue;
      }
      let entries: DirEntry[] = [];
      if (r.data.kind === 'dirpages') {
        try {
          entries = decodeDirectory(r.data.pages);
        } catch (e) {
          report({ code: 'NO_DATA', vnode: r.vnode, unique: r.unique, message: `directory ${key}: unreadable pages (${(e as Error).message}); extracted empty` });
        }
      } else {
        report({ code: 'NO_DATA', vnode: r.vnode, unique: r.unique, message: `directory ${key} has no pages; extracted empty` });
      }
      const info: DirInfo = { vnode: r.vnode, unique: r.unique, mode: r.mode, mtime: r.mtime, owner: r.owner, entries: new PackedEntries(entries, names, true) };
      dirs.set(key, info);
      if (r.vnode === 1 && !root) root = info;
      continue;
    }
    if (!plan) plan = await makePlan();
    await fileVnode(r, plan);
  }
  if (!plan) plan = await makePlan();
  // Selected files that never came, in the order the walk first named them.
  const { refs, list } = plan;
  for (let i = 0; i < refs.length; i++) {
    const d = list[refs.dir(i)].entries;
    const vnode = d.vnode(refs.entry(i));
    const unique = d.unique(refs.entry(i));
    if ((plan.files.flagsOf(vnode, unique) & SEEN) !== 0) continue;
    const last = plan.files.value(vnode, unique);
    if (refs.next(last) !== i) continue; // not the file's first reference
    const key = fidKey(vnode, unique);
    for (const path of planPaths(plan, last)) report({ code: 'DANGLING', path, vnode, unique, message: `names file vnode ${key}, which is not in the dump` });
  }
  for (const s of selection.unmatched()) report({ code: 'NOT_FOUND', path: s, message: 'not in the dump' });
}
