/**
 * Verify a whole backup archive: find the dumps under the given paths
 * (recognised by content, not by name), verify several at once, and check
 * each against the backup log(s).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { TWO_32 } from '../format/constants.js';
import { endsWithEndMarker, sniff } from '../source/sniff.js';
import { isContainer, openInput, sniffPath } from '../source/open.js';
import { DumpError, ioError } from '../format/errors.js';
import { declaredModulo, matchLog, readBackupLog, type LogEntry } from './backup-log.js';
import { verdictOf } from './problems.js';
import { verifyFile, type VerifyOptions, type VerifyResult } from './verify.js';

export interface Candidate {
  path: string;
  size: number | null;
  /** Why it is taken for a dump. */
  reason: 'named' | 'header' | 'container' | 'end-marker' | 'log';
}

export interface Discovery {
  candidates: Candidate[];
  /** Files under the given directories that are not dumps. */
  skipped: string[];
}

/**
 * What a file under a searched directory is, by content (source/sniff.ts): a
 * dump header, a container (gzip, Amanda, bzip2...) whose decoded stream
 * starts with one (or that cannot be decoded here: it is reported
 * unreadable, never skipped in silence), or a dump's end marker at the end
 * (a dump that lost its head). Continuation pieces of a split Amanda dump
 * are read with their first piece.
 */
async function sniffCandidate(path: string, size: number): Promise<Candidate['reason'] | null> {
  const s = await sniffPath(path);
  if (s.kind === 'dump') return 'header';
  if (s.kind === 'amanda' && s.amanda?.type === 'CONT_FILE') return null;
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
      return got === 5 && sniff(b).kind === 'dump' ? 'container' : null;
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

export async function discoverDumps(paths: string[], logged: Set<string> = new Set()): Promise<Discovery> {
  const candidates: Candidate[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  async function walk(dir: string): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (e) {
      throw ioError(e, dir);
    }
    for (const n of names) {
      const p = join(dir, n);
      let st;
      try {
        st = await stat(p);
      } catch {
        skipped.push(p);
        continue;
      }
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) {
        if (seen.has(resolve(p))) continue;
        seen.add(resolve(p));
        let kind: Candidate['reason'] | null = null;
        try {
          kind = await sniffCandidate(p, st.size);
        } catch {
          kind = null;
        }
        if (kind) candidates.push({ path: p, size: st.size, reason: kind });
        else if (logged.has(resolve(p))) candidates.push({ path: p, size: st.size, reason: 'log' });
        else skipped.push(p);
      }
    }
  }
  for (const p of paths) {
    if (p === '-') {
      candidates.push({ path: '-', size: null, reason: 'named' });
      continue;
    }
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      throw ioError(e, p);
    }
    if (st.isDirectory()) await walk(p);
    else if (!seen.has(resolve(p))) {
      seen.add(resolve(p));
      candidates.push({ path: p, size: st.size, reason: 'named' });
    }
  }
  return { candidates, skipped };
}

export interface DumpReport extends VerifyResult {
  /** Set by a diagnosis of damage (see diagnose): free-form details for --json. */
  diagnosis?: unknown;
  /** The backup log line this dump matched, if any. */
  log?: { file: string; line: number; volume: string; printed: number | null; declaredModulo: number | null };
}

/** Compare a verified dump's size with the backup log's count (true size modulo 2^32). */
export function applyLog(r: DumpReport, e: LogEntry): void {
  r.log = { file: e.log, line: e.line, volume: e.volume, printed: e.printed, declaredModulo: e.printed === null ? null : declaredModulo(e.printed) };
  if (e.printed === null || r.size === null) return;
  const want = declaredModulo(e.printed);
  const have = r.size % TWO_32;
  if (want !== have) {
    const delta = want - have;
    const hint = delta > 0 && r.size < TWO_32 ? ` (${delta} bytes missing if the dump was under 4 GiB)` : '';
    r.problems.push({
      code: 'LOG_SIZE_MISMATCH',
      severity: 'error',
      offset: r.size,
      message: `backup log ${e.log}:${e.line} says Transferred ${e.printed} bytes (${want} mod 2^32), the file has ${r.size} (${have} mod 2^32)${hint}`,
    });
  } else if (r.size >= TWO_32) {
    r.problems.push({
      code: 'LOG_SIZE_MODULO',
      severity: 'info',
      offset: r.size,
      message: `backup log count ${e.printed} matches the size only modulo 2^32 (the log cannot tell sizes past 4 GiB apart)`,
    });
  }
  r.verdict = verdictOf(r.problems);
}

export interface ArchiveOptions extends VerifyOptions {
  jobs?: number;
  logs?: string[];
  /** Called once the dumps are known, with their total size. */
  onStart?: (candidates: Candidate[], totalBytes: number) => void;
  /** Called with each result, in discovery order. */
  onResult?: (r: DumpReport, index: number) => void;
  /** Called as bytes are checked (total over all dumps so far). */
  onBytes?: (bytes: number) => void;
  /** Extra analysis of a finished result (e.g. wraparound diagnosis). */
  analyze?: (r: DumpReport, declared: number | null) => Promise<void>;
}

export interface ArchiveReport {
  dumps: DumpReport[];
  skipped: string[];
  /** Dumps the log names that were not found on disk. */
  missing: LogEntry[];
  summary: {
    dumps: number;
    ok: number;
    damaged: number;
    byVerdict: Record<string, number>;
    skippedFiles: number;
    missing: number;
    bytesChecked: number;
    seconds: number;
  };
}

/**
 * Log entries with no dump on disk, among those in scope: an entry is in
 * scope when its path lies under a directory being verified, or when its
 * directory matches (by trailing path components) the directory of a dump
 * that was found — the log often names the backup host's paths.
 */
export function missingFromLog(entries: LogEntry[], matched: Set<LogEntry>, found: string[], roots: string[]): LogEntry[] {
  const comps = (p: string) => p.split(sep).filter(Boolean);
  const foundDirs = [...new Set(found.filter((f) => f !== '-').map((f) => dirname(resolve(f))))].map(comps);
  const rootDirs = roots.filter((r) => r !== '-').map((r) => resolve(r) + sep);
  const sameDir = (a: string[], b: string[]) => a.length > 0 && b.length > 0 && a[a.length - 1] === b[b.length - 1];
  const done = new Set([...matched].map((e) => e.resolved));
  return entries.filter((e) => {
    if (matched.has(e) || done.has(e.resolved)) return false;
    if (rootDirs.some((r) => e.resolved.startsWith(r))) return true;
    const d = comps(dirname(e.resolved));
    return foundDirs.some((f) => sameDir(f, d));
  });
}

export function defaultJobs(): number {
  return Math.max(2, Math.min(8, availableParallelism()));
}

export async function verifyArchive(paths: string[], opts: ArchiveOptions = {}): Promise<ArchiveReport> {
  const t0 = process.hrtime.bigint();
  const entries: LogEntry[] = [];
  for (const l of opts.logs ?? []) entries.push(...(await readBackupLog(l)));
  const { candidates, skipped } = await discoverDumps(paths, new Set(entries.map((e) => e.resolved)));
  if (candidates.length === 0 && entries.length === 0) {
    throw new DumpError('USAGE', `no dump files found under ${paths.join(', ')}`);
  }
  const total = candidates.reduce((s, c) => s + (c.size ?? 0), 0);
  opts.onStart?.(candidates, total);
  const matches = matchLog(entries, candidates.map((c) => c.path).filter((p) => p !== '-'));
  const results: DumpReport[] = new Array(candidates.length);
  const progress = new Array<number>(candidates.length).fill(0);
  let emitted = 0;
  let next = 0;
  const jobs = Math.max(1, opts.jobs ?? defaultJobs());
  const report = () => opts.onBytes?.(progress.reduce((a, b) => a + b, 0));
  async function worker(): Promise<void> {
    while (next < candidates.length) {
      const i = next++;
      const c = candidates[i];
      let r: DumpReport;
      try {
        r = await verifyFile(c.path, {
          deep: opts.deep,
          fileDigests: opts.fileDigests,
          decompressWith: opts.decompressWith,
          bufferSize: opts.bufferSize,
          onProgress: (pos) => {
            progress[i] = pos;
            report();
          },
        });
      } catch (e) {
        if (!(e instanceof DumpError)) throw e;
        r = {
          path: c.path, verdict: e.code === 'DECOMPRESSOR_MISSING' ? 'unreadable' : 'not-a-dump', size: c.size, streamLength: null, bytesChecked: 0,
          problems: [{ code: e.code, severity: 'error', offset: e.offset ?? 0, message: e.message }],
          suppressed: {}, header: null, counts: { directories: 0, files: 0, removed: 0 },
        };
      }
      const e = matches.get(c.path);
      if (e) applyLog(r, e);
      if (opts.analyze) await opts.analyze(r, e && e.printed !== null ? declaredModulo(e.printed) : null);
      progress[i] = c.size ?? r.bytesChecked;
      report();
      results[i] = r;
      while (emitted < candidates.length && results[emitted]) {
        opts.onResult?.(results[emitted], emitted);
        emitted++;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, candidates.length)) }, worker));
  const matched = new Set(matches.values());
  const missing = missingFromLog(entries, matched, candidates.map((c) => c.path), paths);
  const byVerdict: Record<string, number> = {};
  for (const r of results) byVerdict[r.verdict] = (byVerdict[r.verdict] ?? 0) + 1;
  const ok = byVerdict.ok ?? 0;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    dumps: results,
    skipped,
    missing,
    summary: {
      dumps: results.length, ok, damaged: results.length - ok, byVerdict, skippedFiles: skipped.length,
      missing: missing.length, bytesChecked: results.reduce((s, r) => s + (r.size ?? r.bytesChecked), 0), seconds,
    },
  };
}
