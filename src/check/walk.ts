/**
 * Find the dumps of a backup archive (FORMAT.md section 6): walk the given
 * directories, recognise dumps by content, and verify each file once however
 * many paths reach it (same device and inode); the other paths are its
 * aliases. Symbolic links are followed after the plain tree is walked, so a
 * dump's own path is the one shown and the backup program's
 * `<server>/<vol>.<rep>` links become aliases. A directory link that leads
 * back above itself (a loop), a link that leaves the tree, a link whose
 * target is not here and an unreadable file or directory are reported and the
 * walk goes on: every directory is walked at most once, so the walk ends.
 */
import { open, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { finding, type Finding } from '../diagnostics/finding.js';
import { DumpError } from '../format/errors.js';
import { endsWithEndMarker, sniff as sniffBytes } from '../source/sniff.js';
import { isContainer, openInput, sniffPath } from '../source/open.js';
import { amandaFilesIn, firstPieceOf, isContinuation, type AmandaFile } from '../source/amanda.js';
import { ioError } from '../format/errors.js';
import { relocatePath, type Relocation } from './backup-log.js';
import type { FileSystem } from '../source/fs.js';

/** What a dump's paths say about it: the run directory, server, volume and replica ids. */
export interface Layout {
  /** The dated run directory's name (`29Nov2026`, or `2026-11-29`). */
  run?: string;
  /** Its day, YYYY-MM-DD. */
  day?: string;
  server?: string;
  /** Volume id, 8 lower-case hex digits. */
  volumeId?: string;
  /** Replica (read-write volume) id, 8 lower-case hex digits. */
  replicaId?: string;
}

export interface Candidate {
  /** The path shown: the first path found that goes through no link. */
  path: string;
  /** The path its bytes are read from (the link's target, relocated, when only a link reaches it). */
  file: string;
  size: number | null;
  /** Why it is taken for a dump. */
  reason: 'named' | 'header' | 'container' | 'end-marker' | 'log';
  /** Other paths to the same file (device and inode). */
  aliases: string[];
  layout: Layout;
}

export interface WalkCounts {
  /** Symbolic links met. */
  links: number;
  /** Second and further paths to a dump already found. */
  aliases: number;
  loops: number;
  outside: number;
  dangling: number;
  unreadable: number;
}

export interface Discovery {
  candidates: Candidate[];
  /** Files under the given directories that are not dumps. */
  skipped: string[];
  /** Links and unreadable entries, in walk order. */
  findings: Finding[];
  counts: WalkCounts;
  /** The directories walked (real paths). */
  roots: string[];
}

export interface WalkOptions {
  /** Resolved paths a backup log names: taken for dumps whatever their content. */
  logged?: Set<string>;
  /** Where absolute link targets (the backup host's paths) are now. */
  relocate?: Relocation[];
  /**
   * The file-system seam (source/fs.ts): directories are listed and each
   * file's first bytes read through it, so a test can make them fail
   * (EACCES, EIO); default node:fs.
   */
  fs?: Partial<FileSystem>;
}

/** Directory entries stat'ed and sniffed at once. */
const WALK_BATCH = 32;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A run directory's name as a day: `29Nov2026` (the backup program's), `29Nov26`, or `2026-11-29`. */
export function runDay(name: string): string | null {
  let m = /^(\d{1,2})([A-Z][a-z]{2})(\d{4}|\d{2})$/.exec(name);
  if (m) {
    const mon = MONTHS.indexOf(m[2]);
    if (mon < 0) return null;
    let y = Number(m[3]);
    if (m[3].length === 2) y += y >= 70 ? 1900 : 2000;
    return `${y}-${String(mon + 1).padStart(2, '0')}-${m[1].padStart(2, '0')}`;
  }
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(name);
  return m ? name : null;
}

const PARTITION_NAME = /^(.+)-([0-9a-f]{8})(?:\.([0-9a-f]{8}))?$/;
const RUN_NAME = /^([0-9a-f]{8})(?:\.([0-9a-f]{8}))?$/;

/** What one path says: `<partition>/<run>/<server>-<vol>[.<rep>]` or `<run>/<server>/<vol>[.<rep>]`. */
export function layoutOf(path: string): Layout {
  const parts = path.split(sep).filter(Boolean);
  const out: Layout = {};
  for (let i = parts.length - 2; i >= 0; i--) {
    const d = runDay(parts[i]);
    if (d) {
      out.run = parts[i];
      out.day = d;
      break;
    }
  }
  const name = parts[parts.length - 1] ?? '';
  let m = RUN_NAME.exec(name);
  if (m) {
    out.volumeId = m[1];
    if (m[2]) out.replicaId = m[2];
    const parent = parts[parts.length - 2];
    if (parent && parent !== out.run) out.server = parent;
    return out;
  }
  m = PARTITION_NAME.exec(name);
  if (m) {
    out.server = m[1];
    out.volumeId = m[2];
    if (m[3]) out.replicaId = m[3];
  }
  return out;
}

/** The layout of a dump from all its paths: the first path that says a thing wins. */
export function mergeLayouts(paths: string[]): Layout {
  const out: Layout = {};
  for (const p of paths) {
    const l = layoutOf(p);
    for (const k of Object.keys(l) as (keyof Layout)[]) if (out[k] === undefined && l[k] !== undefined) out[k] = l[k];
  }
  return out;
}

/**
 * What a file under a searched directory is, by content (source/sniff.ts): a
 * dump header, a container (gzip, Amanda, bzip2...) whose decoded stream
 * starts with one (or that cannot be decoded here: it is reported
 * unreadable, never skipped in silence), or a dump's end marker at the end
 * (a dump that lost its head). Continuation pieces of a split Amanda dump
 * (CONT_FILE, SPLIT_FILE parts after the first) are read with their first
 * piece when it is beside them; alone they are candidates, reported
 * unreadable (AMANDA_ORPHAN_PIECE).
 */
async function sniff(path: string, size: number, seam?: Partial<FileSystem>, amandaDirs?: Map<string, Promise<AmandaFile[]>>): Promise<'header' | 'container' | 'end-marker' | null> {
  if (seam?.open) {
    // The first read goes through the seam: a file it cannot open or read is unreadable.
    const fh = await seam.open(path);
    try {
      await fh.read(Buffer.alloc(5), 0, Math.min(5, size), 0);
    } finally {
      await fh.close();
    }
  }
  const s = await sniffPath(path);
  if (s.kind === 'dump') return 'header';
  if (s.kind === 'amanda' && s.amanda && isContinuation(s.amanda)) {
    // Read with its first piece when that is beside it; alone it is reported (AMANDA_ORPHAN_PIECE), never skipped in silence.
    const dir = dirname(path);
    let files = amandaDirs?.get(dir);
    if (!files) {
      files = amandaFilesIn(dir);
      amandaDirs?.set(dir, files);
    }
    return (await firstPieceOf(path, s.amanda, await files)) !== null ? null : 'container';
  }
  if (isContainer(s)) {
    let src;
    try {
      src = await openInput(path);
    } catch (e) {
      if (e instanceof DumpError && e.code === 'DECOMPRESSOR_MISSING') return 'container';
      throw e;
    }
    try {
      const b = Buffer.alloc(5);
      let got = 0;
      while (got < 5) {
        const n = await src.read(b, got, 5 - got, got);
        if (n === 0) break;
        got += n;
      }
      return got === 5 && sniffBytes(b).kind === 'dump' ? 'container' : null;
    } finally {
      await src.close();
    }
  }
  if (s.kind !== 'unknown' || size < 5) return null;
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(5);
    await fh.read(b, 0, 5, size - 5);
    return endsWithEndMarker(b) ? 'end-marker' : null;
  } finally {
    await fh.close();
  }
}

interface FileEntry {
  /** Path to read the bytes from. */
  real: string;
  paths: { shown: string; viaLink: boolean }[];
  size: number;
  kind: Candidate['reason'] | null;
}

/** What a non-file, non-directory entry is, in words; null for a file or a directory. */
export function specialKind(st: { isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string | null {
  if (st.isFile() || st.isDirectory()) return null;
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'ERROR';
}

export async function discoverDumps(paths: string[], opts: WalkOptions = {}): Promise<Discovery> {
  const logged = opts.logged ?? new Set<string>();
  const relocate = opts.relocate ?? [];
  const files = new Map<string, FileEntry>(); // dev:ino -> entry, in discovery order
  const order: (FileEntry | 'stdin')[] = [];
  const skipped: string[] = [];
  const findings: Finding[] = [];
  const counts: WalkCounts = { links: 0, aliases: 0, loops: 0, outside: 0, dangling: 0, unreadable: 0 };
  const dirsSeen = new Set<string>();
  /** The Amanda pieces of each directory that holds a continuation piece (read once). */
  const amandaDirs = new Map<string, Promise<AmandaFile[]>>();
  const roots: string[] = [];
  /** Links met, followed once the plain tree is walked: [shown path, real path of the link]. */
  const links: [string, string][] = [];

  const key = (st: { dev: bigint; ino: bigint }) => `${st.dev}:${st.ino}`;
  const realDirs = new Map<string, string>();
  const realDir = async (d: string) => {
    let r = realDirs.get(d);
    if (r === undefined) {
      r = await realpath(d);
      realDirs.set(d, r);
    }
    return r;
  };
  const inTree = (real: string) => roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep));

  async function addFile(
    shown: string, real: string, viaLink: boolean, st: { dev: bigint; ino: bigint; size: bigint },
    sniffed?: Promise<'header' | 'container' | 'end-marker' | null>,
  ): Promise<void> {
    const k = key(st);
    const have = files.get(k);
    if (have) {
      have.paths.push({ shown, viaLink });
      return;
    }
    const size = Number(st.size);
    let kind: FileEntry['kind'] = null;
    try {
      kind = await (sniffed ?? sniff(real, size, opts.fs, amandaDirs));
    } catch (e) {
      counts.unreadable++;
      findings.push(finding('ARCHIVE_UNREADABLE', 0, `${shown}: cannot read (${errCode(e)}): skipped`, { file: shown }));
      return;
    }
    if (!kind && (logged.has(resolve(shown)) || logged.has(resolve(real)))) kind = 'log';
    const entry: FileEntry = { real, paths: [{ shown, viaLink }], size, kind };
    files.set(k, entry);
    if (kind) order.push(entry);
    else skipped.push(shown);
  }

  /** A FIFO, socket or device in the tree: named and counted, never opened (a read could block). */
  function special(shown: string, st: Parameters<typeof specialKind>[0]): void {
    counts.unreadable++;
    findings.push(finding('SPECIAL_FILE', 0, `${shown}: ${specialKind(st) ?? 'not a regular file'}, not a dump file; not opened`, { file: shown }));
  }

  async function walk(shown: string, real: string, viaLink: boolean): Promise<void> {
    let ents;
    try {
      ents = await readdir(real, { withFileTypes: true });
      if (opts.fs?.readdir) {
        // Listed through the seam too (the entries' types come from node:fs).
        const names = new Set(await opts.fs.readdir(real));
        ents = ents.filter((d) => names.has(d.name));
      }
    } catch (e) {
      counts.unreadable++;
      findings.push(finding('ARCHIVE_UNREADABLE', 0, `${shown}: cannot read the directory (${errCode(e)}): skipped`, { file: shown }));
      return;
    }
    ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Stat and sniff a batch of entries at once (the file system answers in
    // parallel), then take the answers in name order, so the result does not
    // depend on timing.
    for (let at = 0; at < ents.length; at += WALK_BATCH) {
      const batch = ents.slice(at, at + WALK_BATCH).map((d) => {
        const r = join(real, d.name);
        if (d.isSymbolicLink()) return { d, r, info: null };
        const info = stat(r, { bigint: true }).then(
          (st) => {
            // Sniff files not met before (a hard link already found is not read again).
            const sniffed = st.isFile() && !files.has(key(st)) ? sniff(r, Number(st.size), opts.fs, amandaDirs) : undefined;
            sniffed?.catch(() => undefined); // handled in addFile
            return { st, sniffed, error: null as unknown };
          },
          (error: unknown) => ({ st: null, sniffed: undefined, error }),
        );
        return { d, r, info };
      });
      for (const { d, r, info } of batch) {
        const s = join(shown, d.name);
        if (!info) {
          counts.links++;
          links.push([s, r]);
          continue;
        }
        const { st, sniffed, error } = await info;
        if (!st) {
          counts.unreadable++;
          findings.push(finding('ARCHIVE_UNREADABLE', 0, `${s}: cannot stat (${errCode(error)}): skipped`, { file: s }));
          continue;
        }
        if (st.isDirectory()) {
          const k = key(st);
          if (dirsSeen.has(k)) continue; // a bind mount or the like: walked already
          dirsSeen.add(k);
          await walk(s, r, viaLink);
        } else if (st.isFile()) await addFile(s, r, viaLink, st, sniffed);
        else special(s, st);
      }
    }
  }

  async function followLink(shown: string, real: string): Promise<void> {
    let target: string;
    try {
      target = await readlink(real);
    } catch (e) {
      counts.unreadable++;
      findings.push(finding('ARCHIVE_UNREADABLE', 0, `${shown}: cannot read the link (${errCode(e)}): skipped`, { file: shown }));
      return;
    }
    const moved = isAbsolute(target) ? relocatePath(target, relocate) : target;
    const to = resolve(dirname(real), moved);
    const shownTarget = moved === target ? target : `${target} (relocated to ${moved})`;
    let st;
    try {
      st = await stat(to, { bigint: true });
    } catch (e) {
      const code = errCode(e);
      if (code === 'ELOOP') {
        counts.loops++;
        findings.push(finding('ARCHIVE_LOOP', 0, `${shown} -> ${shownTarget}: the links loop (ELOOP): not followed`, { file: shown }));
      } else if (code === 'ENOENT' || code === 'ENOTDIR') {
        counts.dangling++;
        const hint = isAbsolute(target) && moved === target ? `; if the archive was moved off its host, say where ${target.split('/').slice(0, 2).join('/') || '/'} is now with --relocate ${target.split('/').slice(0, 2).join('/')}=DIR` : '';
        findings.push(finding('ARCHIVE_DANGLING', 0, `${shown} -> ${shownTarget}: the target does not exist here${hint}`, { file: shown }));
      } else {
        counts.unreadable++;
        findings.push(finding('ARCHIVE_UNREADABLE', 0, `${shown} -> ${shownTarget}: cannot reach the target (${code}): skipped`, { file: shown }));
      }
      return;
    }
    if (st.isFile()) {
      const have = files.get(key(st));
      if (have) {
        // A second path to a file already found by the walk: inside the tree, no realpath needed.
        have.paths.push({ shown, viaLink: true });
        return;
      }
    }
    let targetReal: string;
    let linkDir: string;
    try {
      targetReal = await realpath(to);
      linkDir = await realDir(dirname(real));
    } catch (e) {
      counts.unreadable++;
      findings.push(finding('ARCHIVE_UNREADABLE', 0, `${shown} -> ${shownTarget}: cannot resolve (${errCode(e)}): skipped`, { file: shown }));
      return;
    }
    const outside = !inTree(targetReal);
    if (st.isDirectory()) {
      if (linkDir === targetReal || linkDir.startsWith(targetReal.endsWith(sep) ? targetReal : targetReal + sep)) {
        counts.loops++;
        findings.push(finding('ARCHIVE_LOOP', 0, `${shown} -> ${shownTarget}: leads back to ${targetReal}, a directory above it: not followed`, { file: shown }));
        return;
      }
      if (outside) {
        counts.outside++;
        findings.push(finding('ARCHIVE_OUTSIDE', 0, `${shown} -> ${shownTarget}: a directory outside the tree being verified: not walked`, { file: shown }));
        return;
      }
      const k = key(st);
      if (dirsSeen.has(k)) return; // its dumps are found through its own path
      dirsSeen.add(k);
      await walk(shown, to, true);
    } else if (st.isFile()) {
      if (outside) {
        counts.outside++;
        findings.push(finding('ARCHIVE_OUTSIDE', 0, `${shown} -> ${shownTarget}: a file outside the tree being verified (verified all the same)`, { file: shown }));
      }
      await addFile(shown, to, true, st);
    } else special(shown, st);
  }

  for (const p of paths) {
    if (p === '-') {
      order.push('stdin');
      continue;
    }
    let st;
    try {
      st = await stat(p, { bigint: true });
    } catch (e) {
      throw ioError(e, p);
    }
    if (st.isDirectory()) {
      let r: string;
      try {
        r = await realpath(p);
      } catch (e) {
        throw ioError(e, p);
      }
      roots.push(r);
      const k = key(st);
      if (dirsSeen.has(k)) continue;
      dirsSeen.add(k);
      await walk(p, p, false);
    } else {
      const k = key(st);
      const have = files.get(k);
      if (have) {
        have.paths.push({ shown: p, viaLink: false });
        continue;
      }
      const entry: FileEntry = { real: p, paths: [{ shown: p, viaLink: false }], size: Number(st.size), kind: 'named' };
      files.set(k, entry);
      order.push(entry);
    }
  }
  // Links last, so that a dump's own path is found first; a directory walked
  // through a link adds its own links to the queue.
  for (let i = 0; i < links.length; i++) await followLink(links[i][0], links[i][1]);

  const candidates: Candidate[] = order.map((e) => {
    if (e === 'stdin') return { path: '-', file: '-', size: null, reason: 'named', aliases: [], layout: {} };
    const primary = e.paths.find((p) => !p.viaLink) ?? e.paths[0];
    const aliases = e.paths.filter((p) => p !== primary).map((p) => p.shown);
    return { path: primary.shown, file: primary.viaLink ? e.real : primary.shown, size: e.size, reason: e.kind ?? 'named', aliases, layout: mergeLayouts([primary.shown, ...aliases]) };
  });
  // Report aliases of dumps (not of other files) as findings.
  for (const c of candidates) {
    counts.aliases += c.aliases.length;
    for (const a of c.aliases) findings.push(finding('ARCHIVE_ALIAS', 0, `${a}: another path to ${c.path} (same file): verified once`, { file: a }));
  }
  return { candidates, skipped, findings, counts, roots };
}
