/**
 * Where extracted entries go: a directory tree (DirSink) or a tar archive
 * (TarSink). The extractor calls `dir` for every directory (parents first)
 * before any file, then `file` as each file's data streams by, `symlink`
 * for each link (kept until `finish`, which creates them last), then
 * `finish`.
 *
 * DirSink never follows a symbolic link when it creates something:
 * - a path is only used when its parent is a directory this run created, or
 *   one it found in place and checked with lstat (a real directory, not a
 *   link to one);
 * - each file is written under a temporary name in its own directory,
 *   `.<name>.<pid>.<12 hex>.partial` (as AtomicOutput names its), created
 *   with O_CREAT|O_EXCL|O_NOFOLLOW, and renamed to its name only once it is
 *   complete (data, mode, times): a kill never leaves a short file under a
 *   final name. No fsync per file (a kill does not lose the page cache; a
 *   power cut may). In a directory this run did not create, the rename is a
 *   no-clobber link() then unlink() unless --force; the next run into such
 *   a directory removes what a killed run left there; SIGINT and SIGTERM
 *   remove the file being written at once (runExitCleanups);
 * - symbolic links are created last, after every file and directory, so
 *   no later write can pass through one; a link never replaces a directory;
 * - directory modes and times are set at the very end, deepest first,
 *   through a descriptor opened with O_DIRECTORY|O_NOFOLLOW.
 * (Another process changing the target while an extraction runs is out of
 * scope: there is no openat() in Node to pin every parent.)
 */
import { constants as C } from 'node:fs';
import { unlinkSync } from 'node:fs';
import { lstat, link, lchown, lutimes, mkdir, open, readdir, rename, stat, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { pack as tarPack, type Pack as TarPack } from 'tar-stream';
import { DumpError, ioError } from '../format/errors.js';
import { AtomicOutput, isDeadWritersTemp } from '../io/atomic-output.js';
import { registerExitCleanup } from '../io/exit-cleanup.js';
import { parentPath, type Meta, type PlannedDir, type ProblemCode, type ProblemReport } from './plan.js';

export interface ExtractStats {
  dirs: number;
  files: number;
  symlinks: number;
  /** Extra names of a file (hard links). */
  links: number;
  /** File bytes written. */
  bytes: number;
}

export interface SinkContext {
  report(p: ProblemReport): void;
  stats: ExtractStats;
  /**
   * Can a second file or link with this path come (set once the tree is
   * planned)? Only such paths are remembered, with every directory's: the
   * memory of an extraction does not grow with its number of files.
   * Unset: every path is remembered.
   */
  mayRepeat?: (path: string) => boolean;
}

/** Should a sink remember file or link path `p` to refuse a second entry with it? */
function remember(ctx: SinkContext, p: string): boolean {
  return ctx.mayRepeat === undefined || ctx.mayRepeat(p);
}

export interface ExtractSink {
  /** Make a directory; false when it could not be made (the reason is reported, nothing below it is extracted). */
  dir(d: PlannedDir): Promise<boolean>;
  /** Write one file's data under its first usable path; its other paths become hard links. */
  file(paths: string[], meta: Meta, data: AsyncIterable<Buffer>, size: number): Promise<void>;
  /** Remember a symbolic link; links are created by `finish`, after everything else. */
  symlink(paths: string[], target: string, meta: Meta): void;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

const SLASH = Buffer.from('/');
const O_NOFOLLOW = C.O_NOFOLLOW ?? 0;
const CREATE_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | O_NOFOLLOW;
const DIR_FLAGS = C.O_RDONLY | (C.O_DIRECTORY ?? 0) | O_NOFOLLOW;
/** Bytes of a file's name kept in its temporary name (a name may have 255: the suffix must fit too). */
const TEMP_BASE_MAX = 200;
/** link() not possible here (some file systems): the no-clobber commit checks, then renames. */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function errText(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  return x && x.code ? x.code : String(e);
}

export interface DirSinkOptions {
  force: boolean;
  /** Restore owners (only effective when running as root). */
  sameOwner: boolean;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export class DirSink implements ExtractSink {
  private readonly ready = new Set<string>(['']);
  /** Every path this run created: a second entry with the same name never replaces one. */
  private readonly written = new Set<string>(['']);
  private readonly made: PlannedDir[] = [];
  private readonly links: { paths: string[]; target: string; meta: Meta }[] = [];
  private readonly chown: boolean;
  private readonly modeMask: number;
  /** Directories this run created (nothing else was in them): a file is renamed into place without a check. */
  private readonly fresh = new Set<string>();
  /** The temporary file being written (removed at exit if the process ends before it is renamed). */
  private pending: Buffer | null = null;
  private readonly unregister: () => void;
  /** Temporary names: `.<name>.<pid>.<12 hex>.partial`, the hex a per-run random start plus a counter. */
  private nonce = randomBytes(6).readUIntBE(0, 6);

  private constructor(
    private readonly root: Buffer,
    private readonly createdRoot: boolean,
    private readonly opts: DirSinkOptions,
    private readonly ctx: SinkContext,
  ) {
    this.chown = opts.sameOwner && isRoot();
    // Set-id bits only make sense with the owner they were set for: as root without
    // --same-owner every file would be root's, so they are dropped.
    this.modeMask = isRoot() && !this.chown ? 0o1777 : 0o7777;
    if (createdRoot) this.fresh.add('');
    this.unregister = registerExitCleanup(() => {
      if (this.pending) unlinkSync(this.pending);
    });
  }

  /** Use DIR (created, with its parents, if missing; it must otherwise be a directory). */
  static async open(dir: string, opts: DirSinkOptions, ctx: SinkContext): Promise<DirSink> {
    const abs = resolve(dir);
    let created = false;
    try {
      const st = await stat(abs);
      if (!st.isDirectory()) throw new DumpError('USAGE', 'the target is not a directory', undefined, dir);
    } catch (e) {
      if (e instanceof DumpError) throw e;
      if (code(e) !== 'ENOENT') throw ioError(e, dir, 'cannot use the target directory');
      try {
        await mkdir(abs, { recursive: true, mode: 0o700 });
      } catch (e2) {
        throw ioError(e2, dir, 'cannot create the target directory');
      }
      created = true;
    }
    const sink = new DirSink(Buffer.from(abs), created, opts, ctx);
    if (!created) await sink.removeLeftovers('');
    return sink;
  }

  /** Remove the temporary files a killed run left in directory `p` (best effort: what cannot be listed or removed stays). */
  private async removeLeftovers(p: string): Promise<void> {
    let names: Buffer[];
    try {
      names = await readdir(this.abs(p), { encoding: 'buffer' });
    } catch {
      return;
    }
    for (const n of names) {
      if (n.length < 25 || n[0] !== 0x2e || !isDeadWritersTemp(n.toString('latin1'))) continue;
      await unlink(Buffer.concat([this.abs(p), SLASH, n])).catch(() => undefined);
    }
  }

  /** The temporary name for file `p`, in p's directory. */
  private tempFor(p: string): Buffer {
    const parent = parentPath(p);
    const base = Buffer.from(parent === '' ? p : p.slice(parent.length + 1), 'latin1').subarray(0, TEMP_BASE_MAX);
    this.nonce = (this.nonce + 1) % 2 ** 48;
    const suffix = `.${process.pid}.${this.nonce.toString(16).padStart(12, '0')}.partial`;
    return Buffer.concat([this.abs(parent), SLASH, Buffer.from('.'), base, Buffer.from(suffix)]);
  }

  private abs(p: string): Buffer {
    return p === '' ? this.root : Buffer.concat([this.root, SLASH, Buffer.from(p, 'latin1')]);
  }

  private problem(p: string, meta: Meta | PlannedDir, code: ProblemCode, message: string): void {
    const m: ProblemReport = { code, path: p, message };
    if (!('synthetic' in meta && meta.synthetic)) {
      m.vnode = meta.vnode;
      m.unique = meta.unique;
    }
    this.ctx.report(m);
  }

  async dir(d: PlannedDir): Promise<boolean> {
    if (d.path === '') {
      // The target itself: its mode and times are the volume root's only when this run created it.
      if (this.createdRoot) this.made.push(d);
      return true;
    }
    if (!this.ready.has(parentPath(d.path))) return false;
    if (this.duplicate(d.path, d)) return false;
    const abs = this.abs(d.path);
    let created = false;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await mkdir(abs, 0o700);
        created = true;
        break;
      } catch (e) {
        if (code(e) !== 'EEXIST' || attempt > 0) {
          this.problem(d.path, d, 'IO', `cannot create directory: ${errText(e)}`);
          return false;
        }
        let st;
        try {
          st = await lstat(abs);
        } catch (e2) {
          this.problem(d.path, d, 'IO', `cannot check the existing entry: ${errText(e2)}`);
          return false;
        }
        if (st.isDirectory()) break; // a real directory already there: extract into it
        const what = st.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
        if (!this.opts.force) {
          this.problem(d.path, d, 'EXISTS', `exists and is ${what}; nothing extracted below it (--force replaces it)`);
          return false;
        }
        try {
          await unlink(abs);
        } catch (e3) {
          this.problem(d.path, d, 'IO', `cannot remove the existing entry: ${errText(e3)}`);
          return false;
        }
      }
    }
    if (created) this.fresh.add(d.path);
    else await this.removeLeftovers(d.path);
    this.ready.add(d.path);
    this.written.add(d.path);
    this.made.push(d);
    this.ctx.stats.dirs++;
    return true;
  }

  /** True (and reported) when this run already created `p`: the dump names it twice. */
  private duplicate(p: string, meta: Meta): boolean {
    if (!this.written.has(p)) return false;
    this.problem(p, meta, 'DUPLICATE', 'a second entry with this name in the dump; not extracted');
    return true;
  }

  /**
   * May a file be written to `p`? Not a second time in one run; in a
   * directory this run did not create, an existing entry only with --force,
   * and never a directory. (Checked before the data is written; the commit
   * checks again.)
   */
  private async mayWrite(p: string, meta: Meta): Promise<boolean> {
    if (this.duplicate(p, meta)) return false;
    if (this.fresh.has(parentPath(p))) return true;
    let st;
    try {
      st = await lstat(this.abs(p));
    } catch (e) {
      if (code(e) === 'ENOENT') return true;
      this.problem(p, meta, 'IO', `cannot check the existing entry: ${errText(e)}`);
      return false;
    }
    if (!this.opts.force) {
      this.problem(p, meta, 'EXISTS', 'exists; not overwritten (--force replaces it)');
      return false;
    }
    if (st.isDirectory()) {
      this.problem(p, meta, 'EXISTS', 'exists and is a directory; not replaced');
      return false;
    }
    return true;
  }

  /**
   * Give the complete temporary file `tmp` its name `p`: a rename in a
   * directory this run created or with --force (an existing file or link is
   * replaced in one step), otherwise a no-clobber link() then unlink().
   * False (reported, `tmp` removed) when it cannot.
   */
  private async commit(tmp: Buffer, p: string, meta: Meta): Promise<boolean> {
    const abs = this.abs(p);
    try {
      if (this.fresh.has(parentPath(p)) || this.opts.force) {
        await rename(tmp, abs);
        return true;
      }
      try {
        await link(tmp, abs);
      } catch (e) {
        if (!NO_LINK.has(code(e) ?? '')) throw e;
        // No hard links here: check, then rename (a name that appears in between is replaced).
        const there = await lstat(abs).then(() => true, (e2: unknown) => (code(e2) === 'ENOENT' ? false : Promise.reject(e2)));
        if (!there) {
          await rename(tmp, abs);
          return true;
        }
        return this.refuse(tmp, p, meta);
      }
      await unlink(tmp);
      return true;
    } catch (e) {
      if (code(e) === 'EEXIST') return this.refuse(tmp, p, meta);
      await unlink(tmp).catch(() => undefined);
      this.problem(p, meta, 'IO', `cannot put the file in place: ${errText(e)}`);
      return false;
    }
  }

  /** The name is taken (and no --force): the temporary file goes, the name is reported. */
  private async refuse(tmp: Buffer, p: string, meta: Meta): Promise<false> {
    await unlink(tmp).catch(() => undefined);
    this.problem(p, meta, 'EXISTS', 'exists; not overwritten (--force replaces it)');
    return false;
  }

  /** Make room at `p` for a file or link: only with --force, never removing a directory. */
  private async clear(p: string, meta: Meta): Promise<boolean> {
    const abs = this.abs(p);
    if (!this.opts.force) {
      this.problem(p, meta, 'EXISTS', 'exists; not overwritten (--force replaces it)');
      return false;
    }
    try {
      const st = await lstat(abs);
      if (st.isDirectory()) {
        this.problem(p, meta, 'EXISTS', 'exists and is a directory; not replaced');
        return false;
      }
      await unlink(abs);
      return true;
    } catch (e) {
      this.problem(p, meta, 'IO', `cannot replace the existing entry: ${errText(e)}`);
      return false;
    }
  }

  async file(paths: string[], meta: Meta, data: AsyncIterable<Buffer>, size: number): Promise<void> {
    let primary: string | null = null;
    const usable = paths.filter((p) => this.ready.has(parentPath(p)));
    for (const p of usable) {
      if (await this.mayWrite(p, meta)) {
        primary = p;
        break;
      }
    }
    if (primary === null) return;
    const tmp = this.tempFor(primary);
    let fh: FileHandle;
    try {
      fh = await open(tmp, CREATE_FLAGS, 0o600);
    } catch (e) {
      this.problem(primary, meta, 'IO', `cannot create: ${errText(e)}`);
      return;
    }
    this.pending = tmp;
    let got = 0;
    let cut: unknown = null;
    let failed = false;
    try {
      try {
        for await (const piece of data) {
          got += piece.length;
          let at = 0;
          while (at < piece.length) {
            const { bytesWritten } = await fh.write(piece, at, piece.length - at);
            at += bytesWritten;
          }
        }
      } catch (e) {
        if (!(e instanceof DumpError)) throw e;
        cut = e; // the input broke inside this file's data
      }
      if (cut === null) {
        // Owner before mode: a chown clears set-id bits.
        if (this.chown) await fh.chown(meta.owner, -1);
        await fh.chmod(meta.mode & this.modeMask);
        await fh.utimes(meta.mtime, meta.mtime);
      }
    } catch (e) {
      failed = true;
      this.problem(primary, meta, 'IO', `cannot write: ${errText(e)}`);
    } finally {
      await fh.close();
    }
    if (failed || cut !== null) {
      // Only whole files are extracted: the temporary file goes.
      await unlink(tmp).catch(() => undefined);
      this.pending = null;
      if (failed) return;
      this.problem(primary, meta, 'CUT', `its data was cut by the damage: ${got} of ${size} bytes arrived; not extracted`);
      throw cut;
    }
    const placed = await this.commit(tmp, primary, meta);
    this.pending = null;
    if (!placed) return;
    if (remember(this.ctx, primary)) this.written.add(primary);
    this.ctx.stats.files++;
    this.ctx.stats.bytes += size;
    for (const p of usable) {
      if (p === primary) continue;
      await this.hardlink(primary, p, meta);
    }
  }

  private async hardlink(existing: string, p: string, meta: Meta): Promise<void> {
    if (this.duplicate(p, meta)) return;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(this.abs(existing), this.abs(p));
        if (remember(this.ctx, p)) this.written.add(p);
        this.ctx.stats.links++;
        return;
      } catch (e) {
        if (code(e) !== 'EEXIST' || attempt > 0) {
          this.problem(p, meta, 'IO', `cannot link to ${JSON.stringify(existing)}: ${errText(e)}`);
          return;
        }
        if (!(await this.clear(p, meta))) return;
      }
    }
  }

  symlink(paths: string[], target: string, meta: Meta): void {
    this.links.push({ paths, target, meta });
  }

  async finish(): Promise<void> {
    this.unregister(); // no file is being written any more
    // Symbolic links last: nothing is written after them, so none can redirect a write.
    for (const l of this.links) {
      for (const p of l.paths) {
        if (!this.ready.has(parentPath(p)) || this.duplicate(p, l.meta)) continue;
        const abs = this.abs(p);
        let ok = false;
        for (let attempt = 0; attempt < 2 && !ok; attempt++) {
          try {
            await symlink(Buffer.from(l.target, 'latin1'), abs);
            if (remember(this.ctx, p)) this.written.add(p);
            ok = true;
          } catch (e) {
            if (code(e) !== 'EEXIST' || attempt > 0) {
              this.problem(p, l.meta, 'IO', `cannot create symbolic link: ${errText(e)}`);
              break;
            }
            if (!(await this.clear(p, l.meta))) break;
          }
        }
        if (!ok) continue;
        try {
          if (this.chown) await lchown(abs, l.meta.owner, -1);
          await lutimes(abs, l.meta.mtime, l.meta.mtime);
        } catch (e) {
          this.problem(p, l.meta, 'IO', `cannot set the link's owner or times: ${errText(e)}`);
        }
        this.ctx.stats.symlinks++;
      }
    }
    // Directory modes and times last, deepest first (their contents are complete now).
    for (let i = this.made.length - 1; i >= 0; i--) {
      const d = this.made[i];
      let fh: FileHandle | null = null;
      try {
        fh = await open(this.abs(d.path), DIR_FLAGS);
        if (this.chown && !d.synthetic) await fh.chown(d.owner, -1);
        await fh.chmod(d.mode & this.modeMask);
        await fh.utimes(d.mtime, d.mtime);
      } catch (e) {
        this.problem(d.path, d, 'IO', `cannot set the directory's mode or times: ${errText(e)}`);
      } finally {
        await fh?.close();
      }
    }
  }

  async abort(): Promise<void> {
    // What was extracted stays; links and directory times are still applied so the tree is usable.
    await this.finish();
  }
}

/** A binary-string path as tar-stream needs it (UTF-8 text), or null when its bytes are not UTF-8. */
export function tarText(p: string): string | null {
  const b = Buffer.from(p, 'latin1');
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? s : null;
}

/** Largest id an ustar header field holds (7 octal digits); larger ones go in a pax record. */
const USTAR_MAX_ID = 0o7777777;

type TarHeader = Parameters<TarPack['entry']>[0];

function waitDrain(s: NodeJS.EventEmitter): Promise<void> {
  return new Promise((res) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      s.off('error', done);
      res();
    };
    s.once('drain', done);
    s.once('close', done);
    s.once('error', done);
  });
}

/**
 * A tar archive through tar-stream (ustar headers, pax records for long or
 * non-ASCII names and large ids). Names are written as UTF-8, which is
 * what pax `path` records hold: a name or link target whose bytes are not
 * UTF-8 cannot be carried, and is reported and left out. The volume root
 * itself has no entry; directories come first, then files as they stream,
 * then symbolic links, then every directory entry once more (deepest
 * first) so that extractors set directory modes and times after the
 * contents: that is how a stream says "directory mtimes last".
 */
export class TarSink implements ExtractSink {
  private readonly pack = tarPack();
  private readonly pump: Promise<void>;
  private pumpError: unknown = null;
  private readonly links: { paths: string[]; target: string; meta: Meta }[] = [];
  private readonly bad = new Set<string>();
  /** Names already in the archive: a second entry with one is left out (no consumer has to decide). */
  private readonly emitted = new Set<string>();
  /** Directory entries written, to repeat at the end. */
  private readonly dirEntries: TarHeader[] = [];

  private constructor(
    private readonly out: AtomicOutput | NodeJS.WritableStream,
    private readonly ctx: SinkContext,
  ) {
    this.pump = (async () => {
      try {
        for await (const chunk of this.pack as AsyncIterable<Buffer>) {
          if (this.out instanceof AtomicOutput) this.out.write(chunk);
          else if (!this.out.write(chunk)) await once(this.out, 'drain');
        }
      } catch (e) {
        this.pumpError = e;
        this.pack.destroy(e as Error);
      }
    })();
  }

  /** A tar written atomically to `file`, or to a stream (standard output). */
  static open(target: string | NodeJS.WritableStream, force: boolean, ctx: SinkContext): TarSink {
    const out = typeof target === 'string' ? new AtomicOutput(target, { force }) : target;
    return new TarSink(out, ctx);
  }

  private async entry(header: TarHeader, data?: AsyncIterable<Buffer>, cutPath?: string): Promise<void> {
    if (this.pumpError) throw this.writeError();
    let sink!: ReturnType<TarPack['entry']>;
    const done = new Promise<void>((res, rej) => {
      sink = this.pack.entry(header, (err) => (err ? rej(err) : res()));
    });
    // An aborted archive destroys the entry in flight: the callback above has the error.
    sink.on('error', () => undefined);
    let cut: unknown = null;
    if (data) {
      let got = 0;
      try {
        for await (const piece of data) {
          // The reader reuses its buffer: hand tar-stream a copy.
          got += piece.length;
          if (!sink.write(Buffer.from(piece))) await waitDrain(sink);
        }
      } catch (e) {
        if (!(e instanceof DumpError)) throw e;
        // The input broke inside this file's data. The header (with its size) is
        // out already: the entry is filled up with zeros so the archive stays
        // readable, and the report says so.
        cut = e;
        const size = header.size ?? 0;
        const zeros = Buffer.alloc(Math.min(1 << 20, Math.max(0, size - got)));
        for (let left = size - got; left > 0; left -= zeros.length) {
          if (!sink.write(zeros.subarray(0, Math.min(zeros.length, left)))) await waitDrain(sink);
        }
        this.ctx.report({ code: 'CUT', path: cutPath ?? header.name, message: `its data was cut by the damage: ${got} of ${size} bytes arrived; the archive entry is filled with zeros after them` });
      }
    }
    sink.end(null);
    try {
      await done;
    } catch (e) {
      if (this.pumpError) throw this.writeError();
      throw e;
    }
    if (cut !== null) throw cut;
  }

  private writeError(): DumpError {
    return ioError(this.pumpError, this.out instanceof AtomicOutput ? this.out.path : '-', 'cannot write the archive');
  }

  private header(name: string, meta: Meta, extra: Partial<TarHeader>): TarHeader {
    const h: TarHeader = { name, mode: meta.mode & 0o7777, mtime: new Date(meta.mtime * 1000), uid: meta.owner, gid: 0, ...extra };
    if (meta.owner > USTAR_MAX_ID) h.pax = { uid: String(meta.owner) };
    return h;
  }

  private leftOut(p: string, meta: Meta, code: ProblemCode, message: string): void {
    const m: ProblemReport = { code, path: p, message };
    if (meta.vnode) {
      m.vnode = meta.vnode;
      m.unique = meta.unique;
    }
    this.ctx.report(m);
  }

  private name(p: string, meta: Meta): string | null {
    if (this.emitted.has(p)) {
      this.leftOut(p, meta, 'DUPLICATE', 'a second entry with this name in the dump; left out of the archive');
      return null;
    }
    const t = tarText(p);
    if (t === null) {
      this.leftOut(p, meta, 'UNREPRESENTABLE', 'name is not UTF-8, which a tar (pax) name must be; left out of the archive (extract to a directory to keep it)');
    }
    return t;
  }

  async dir(d: PlannedDir): Promise<boolean> {
    if (d.path === '') return true;
    const parent = parentPath(d.path);
    if (this.bad.has(parent)) {
      this.bad.add(d.path);
      return false;
    }
    if (this.emitted.has(d.path)) {
      // A second directory with this name: what is in it still goes under the first one.
      this.ctx.report({ code: 'DUPLICATE', path: d.path, vnode: d.vnode, unique: d.unique, message: 'a second entry with this name in the dump; left out of the archive' });
      return false;
    }
    const n = this.name(d.path, d);
    if (n === null) {
      this.bad.add(d.path);
      return false;
    }
    this.emitted.add(d.path);
    const h = this.header(n + '/', d, { type: 'directory' });
    this.dirEntries.push(h);
    await this.entry({ ...h });
    this.ctx.stats.dirs++;
    return true;
  }

  private usable(paths: string[], meta: Meta): { path: string; name: string }[] {
    const r: { path: string; name: string }[] = [];
    for (const p of paths) {
      if (this.bad.has(parentPath(p))) continue;
      const n = this.name(p, meta);
      if (n !== null) {
        if (remember(this.ctx, p)) this.emitted.add(p);
        r.push({ path: p, name: n });
      }
    }
    return r;
  }

  async file(paths: string[], meta: Meta, data: AsyncIterable<Buffer>, size: number): Promise<void> {
    const names = this.usable(paths, meta);
    if (names.length === 0) return;
    await this.entry(this.header(names[0].name, meta, { type: 'file', size }), data, names[0].path);
    this.ctx.stats.files++;
    this.ctx.stats.bytes += size;
    for (const extra of names.slice(1)) {
      await this.entry(this.header(extra.name, meta, { type: 'link', linkname: names[0].name }));
      this.ctx.stats.links++;
    }
  }

  symlink(paths: string[], target: string, meta: Meta): void {
    this.links.push({ paths, target, meta });
  }

  async finish(): Promise<void> {
    for (const l of this.links) {
      const names = this.usable(l.paths, l.meta);
      if (names.length === 0) continue;
      const target = tarText(l.target);
      if (target === null) {
        this.ctx.report({ code: 'UNREPRESENTABLE', path: l.paths[0], vnode: l.meta.vnode, unique: l.meta.unique, message: 'symbolic link target is not UTF-8; left out of the archive' });
        continue;
      }
      for (const n of names) {
        await this.entry(this.header(n.name, l.meta, { type: 'symlink', linkname: target }));
        this.ctx.stats.symlinks++;
      }
    }
    // Every directory again, deepest first: extractors (GNU tar, bsdtar) apply the
    // last entry's mode and mtime, so they are set after the directory's contents,
    // which arrive in dump order, not grouped by directory.
    for (let i = this.dirEntries.length - 1; i >= 0; i--) await this.entry({ ...this.dirEntries[i] });
    this.pack.finalize();
    await this.pump;
    if (this.pumpError) throw this.writeError();
    if (this.out instanceof AtomicOutput) this.out.commit();
  }

  async abort(): Promise<void> {
    this.pack.destroy(new Error('extraction aborted'));
    await this.pump.catch(() => undefined);
    if (this.out instanceof AtomicOutput) this.out.abort();
  }
}
