/**
 * Fixity manifests: structure checks cannot see a flipped bit inside file
 * data, and archives sit for years. A manifest records, per dump, its size,
 * its SHA-256 and the SHA-256 of each file's data; checked again later it
 * says which dumps changed (and which files in them), which were added and
 * which are gone.
 *
 * Format (text, one record a line, UTF-8):
 *
 *     codadump-manifest 1
 *     dump <sha256> <size> <path>
 *     file <vnode>.<uniquifier> <sha256>
 *     ...
 *
 * `file` lines belong to the `dump` line above them. A path is relative to
 * the manifest's directory (so an archive and its manifest move together)
 * and runs to the end of the line. Lines starting with `#` and blank lines
 * are ignored. A manifest is rewritten whole (atomically), never patched.
 */
import { readFile, stat } from 'node:fs/promises';
import { verifyFile } from '../check/verify.js';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { finding, type Finding } from '../diagnostics/finding.js';
import { DumpError, ioError } from '../diagnostics/errors.js';
import { AtomicOutput } from '../io/atomic-output.js';

export const MANIFEST_MAGIC = 'codadump-manifest 1';

export interface ManifestEntry {
  /** Path relative to the manifest's directory (as written in it). */
  path: string;
  sha256: string;
  size: number;
  /** SHA-256 of each file's data, by `vnode.uniquifier`. */
  files: Map<string, string>;
}

export interface Manifest {
  file: string;
  entries: ManifestEntry[];
}

/** What verify --deep knows of a dump, enough for a manifest entry. */
export interface Hashed {
  path: string;
  size: number | null;
  sha256?: string;
  fileDigests?: Map<string, string>;
}

/** A dump's path as the manifest at `manifestFile` writes it. */
export function manifestPath(manifestFile: string, path: string): string {
  return relative(dirname(resolve(manifestFile)), resolve(path)) || '.';
}

export function entryOf(manifestFile: string, r: Hashed): ManifestEntry | null {
  if (!r.sha256 || r.size === null || r.path === '-') return null;
  return { path: manifestPath(manifestFile, r.path), sha256: r.sha256, size: r.size, files: r.fileDigests ?? new Map() };
}

export function formatManifest(entries: ManifestEntry[]): string {
  const lines = [MANIFEST_MAGIC];
  for (const e of entries) {
    if (/[\r\n]/.test(e.path)) throw new DumpError('USAGE', `a path with a line break cannot go into a manifest: ${JSON.stringify(e.path)}`);
    lines.push(`dump ${e.sha256} ${e.size} ${e.path}`);
    for (const [k, h] of [...e.files].sort((a, b) => fileOrder(a[0], b[0]))) lines.push(`file ${k} ${h}`);
  }
  return lines.join('\n') + '\n';
}

function fileOrder(a: string, b: string): number {
  const [av, au] = a.split('.').map(Number);
  const [bv, bu] = b.split('.').map(Number);
  return av - bv || au - bu;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parse a manifest; a line that cannot be read is fatal (MANIFEST_SYNTAX, with file and line). */
export function parseManifest(text: string, file: string): Manifest {
  const entries: ManifestEntry[] = [];
  const lines = text.split('\n');
  const bad = (i: number, why: string) => new DumpError('MANIFEST_SYNTAX', `line ${i + 1}: ${why}`, undefined, file);
  let sawMagic = false;
  let cur: ManifestEntry | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/\r$/, '');
    if (l === '' || l.startsWith('#')) continue;
    if (!sawMagic) {
      if (l !== MANIFEST_MAGIC) throw bad(i, `not a codadump manifest (want '${MANIFEST_MAGIC}' first)`);
      sawMagic = true;
      continue;
    }
    let m = /^dump ([0-9a-f]{64}) (\d{1,16}) (.+)$/.exec(l);
    if (m) {
      cur = { path: m[3], sha256: m[1], size: Number(m[2]), files: new Map() };
      entries.push(cur);
      continue;
    }
    m = /^file (\d+\.\d+) (\S+)$/.exec(l);
    if (m && HEX64.test(m[2])) {
      if (!cur) throw bad(i, "a 'file' line before any 'dump' line");
      cur.files.set(m[1], m[2]);
      continue;
    }
    throw bad(i, `cannot read ${JSON.stringify(l.slice(0, 80))}`);
  }
  if (!sawMagic) throw new DumpError('MANIFEST_SYNTAX', 'empty manifest', undefined, file);
  return { file, entries };
}

export async function readManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw ioError(e, file);
  }
  return parseManifest(text, file);
}

/** A manifest being written: opened first (an existing file is refused without `force`), committed whole. */
export interface ManifestWriter {
  commit(entries: ManifestEntry[]): void;
  abort(): void;
}

export function openManifest(file: string, force = false): ManifestWriter {
  const o = new AtomicOutput(file, { force });
  return {
    commit(entries) {
      try {
        o.write(Buffer.from(formatManifest(entries), 'utf8'));
        o.commit();
      } catch (e) {
        o.abort();
        throw e;
      }
    },
    abort: () => o.abort(),
  };
}

/** Write a manifest atomically (refusing to replace one without `force`). */
export function writeManifest(file: string, entries: ManifestEntry[], force = false): void {
  openManifest(file, force).commit(entries);
}

/**
 * Add (or replace, by path) the entries of dumps a writer made to a
 * manifest, creating it if need be: what `--manifest FILE` does on
 * redump, repair, merge and pack.
 */
export async function appendManifest(file: string, add: ManifestEntry[]): Promise<void> {
  let entries: ManifestEntry[] = [];
  try {
    entries = (await readManifest(file)).entries;
  } catch (e) {
    if (!(e instanceof DumpError && e.code === 'IO' && /ENOENT/.test(e.message))) throw e;
  }
  const paths = new Set(add.map((e) => e.path));
  writeManifest(file, [...entries.filter((e) => !paths.has(e.path)), ...add], true);
}

export interface FixityReport {
  changed: { path: string; files: { changed: string[]; added: string[]; removed: string[] } }[];
  added: string[];
  gone: string[];
  same: number;
  findings: Finding[];
}

/**
 * Compare verified (--deep) dumps with a manifest: each dump's bytes, by
 * path. A manifest entry is reported gone only when it lies in `scope` (the
 * files and directories verified), so checking part of an archive is fine.
 */
export function checkAgainst(manifest: Manifest, dumps: Hashed[], scope: string[] = []): FixityReport {
  const roots = scope.filter((p) => p !== '-').map((p) => resolve(p));
  const inScope = (k: string) => roots.some((r) => k === r || k.startsWith(r.endsWith(sep) ? r : r + sep));
  const base = dirname(resolve(manifest.file));
  const want = new Map(manifest.entries.map((e) => [resolve(base, e.path), e]));
  const seen = new Set<string>();
  const out: FixityReport = { changed: [], added: [], gone: [], same: 0, findings: [] };
  for (const d of dumps) {
    if (d.path === '-') continue;
    const key = resolve(d.path);
    const e = want.get(key);
    if (!e) {
      out.added.push(d.path);
      out.findings.push(finding('MANIFEST_ADDED', 0, `${d.path}: not in the manifest ${manifest.file}`, { file: d.path }));
      continue;
    }
    seen.add(key);
    if (d.sha256 === e.sha256 && d.size === e.size) {
      out.same++;
      continue;
    }
    const have = d.fileDigests ?? new Map<string, string>();
    const files = {
      changed: [...e.files].filter(([k, h]) => have.has(k) && have.get(k) !== h).map(([k]) => k),
      added: [...have.keys()].filter((k) => !e.files.has(k)),
      removed: [...e.files.keys()].filter((k) => !have.has(k)),
    };
    out.changed.push({ path: d.path, files });
    const parts = [
      files.changed.length ? `files changed: ${files.changed.join(' ')}` : '',
      files.added.length ? `files added: ${files.added.join(' ')}` : '',
      files.removed.length ? `files gone: ${files.removed.join(' ')}` : '',
    ].filter(Boolean);
    const sizes = d.size === e.size ? `${d.size} bytes` : `${e.size} bytes then, ${d.size} now`;
    out.findings.push(
      finding('MANIFEST_CHANGED', 0, `${d.path}: its bytes changed since the manifest (${sizes}; sha256 ${e.sha256.slice(0, 16)}… then, ${(d.sha256 ?? '').slice(0, 16)}… now)${parts.length ? `; ${parts.join('; ')}` : '; no file digest differs: the change is in metadata or structure'}`, { file: d.path }),
    );
  }
  for (const [key, e] of want) {
    if (seen.has(key) || !inScope(key)) continue;
    const rel = relative(process.cwd(), key);
    const shown = isAbsolute(e.path) || rel === '' || rel.startsWith('..') ? key : rel;
    out.gone.push(shown);
    out.findings.push(finding('MANIFEST_GONE', 0, `${shown}: in the manifest, not found now`, { file: shown }));
  }
  return out;
}

/**
 * Add the entry of a dump a writer made (size, SHA-256, per-file digests, read
 * back from the file) to a manifest: `--manifest FILE` on redump, repair,
 * merge and pack. Returns null when the output is not a file (stdout, or
 * nothing was written).
 */
export async function recordDump(manifestFile: string, dumpPath: string): Promise<ManifestEntry | null> {
  if (dumpPath === '-') return null;
  try {
    await stat(dumpPath);
  } catch {
    return null;
  }
  const r = await verifyFile(dumpPath, { deep: true, fileDigests: true });
  const e = entryOf(manifestFile, r);
  if (e) await appendManifest(manifestFile, [e]);
  return e;
}
