/**
 * Verify a whole backup archive: find the dumps under the given paths
 * (recognised by content, not by name), verify several at once, and check
 * each against the backup log(s).
 */
import { availableParallelism } from 'node:os';
import { dirname, resolve, sep } from 'node:path';
import { finding, type Finding } from '../diagnostics/finding.js';
import { TWO_32 } from '../format/constants.js';
import { DumpError } from '../format/errors.js';
import { declaredModulo, matchLog, readBackupLogs, type BackupLog, type LogEntry, type Relocation } from './backup-log.js';
import { verdictOf } from './problems.js';
import { verifyFile, type VerifyOptions, type VerifyResult } from './verify.js';
import { discoverDumps, type Candidate, type Layout, type WalkCounts } from './walk.js';

export { discoverDumps, type Candidate, type Discovery, type Layout, specialKind } from './walk.js';

/** An entry of the tree that could not be examined: named in the output, counted in the summary. */
export interface Unreadable {
  path: string;
  /** ARCHIVE_UNREADABLE: a system error (EACCES, EIO...); SPECIAL_FILE: a FIFO, socket or device, never opened. */
  code: 'ARCHIVE_UNREADABLE' | 'SPECIAL_FILE';
  message: string;
}

export interface DumpReport extends VerifyResult {
  /** Other paths to the same file (aliases: links, hard links). */
  aliases?: string[];
  /** Where the dump was read from, when not at `path` (--relocate). */
  file?: string;
  /** What the paths say: run directory, server, volume and replica ids. */
  layout?: Layout;
  /** Set by a diagnosis of damage (see diagnose): free-form details for --json. */
  diagnosis?: unknown;
  /** The backup log line this dump matched, if any. */
  log?: { file: string; line: number; volume: string; printed: number | null; declaredModulo: number | null; volumeId: string; replicaId: string; date: string | null; time: string; kind: 'full' | 'incremental' | null };
}

/** Compare a verified dump's size with the backup log's count (true size modulo 2^32). */
export function applyLog(r: DumpReport, e: LogEntry): void {
  r.log = {
    file: e.log, line: e.line, volume: e.volume, printed: e.printed, declaredModulo: e.printed === null ? null : declaredModulo(e.printed),
    volumeId: e.volumeId, replicaId: e.replicaId, date: e.date, time: e.time, kind: e.kind,
  };
  applyLogKind(r, e);
  if (e.printed === null) {
    r.problems.push(finding('LOG_NO_TRANSFER', r.size ?? 0, `backup log ${e.log}:${e.line} has no Transferred line for this dump: the backup program saw it fail`));
    return;
  }
  if (r.size === null) return;
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

/** The log's `(incremental)` marker against the header's level `i`. */
export function applyLogKind(r: DumpReport, e: LogEntry): void {
  if (!r.header || e.kind === null) return;
  const headerIncremental = r.header.incremental !== 0;
  if ((e.kind === 'incremental') === headerIncremental) return;
  r.problems.push(
    finding(
      'LOG_KIND_MISMATCH',
      0,
      e.kind === 'incremental'
        ? `backup log ${e.log} lists this dump as incremental, but its header says full (i = 0): the server made a full dump instead`
        : `backup log ${e.log} lists this dump as full, but its header says incremental (i = ${r.header.incremental})`,
    ),
  );
}

export interface ArchiveOptions extends VerifyOptions {
  jobs?: number;
  /** Backup log files, or directories of logs. */
  logs?: string[];
  /** Where absolute paths of the backup host (link targets, log paths) are now. */
  relocate?: Relocation[];
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
  /** Entries of the tree that could not be read, or are FIFOs, sockets or devices. */
  unreadable: Unreadable[];
  /** Dumps the log names that were not found on disk. */
  missing: LogEntry[];
  /** The logs read. */
  logs: BackupLog[];
  /** What the walk met (links, loops, unreadable entries) and what the logs claim against the disk. */
  findings: Finding[];
  walk: WalkCounts;
  /** An archive was verified (a directory was walked, or logs were given), not only files named one by one. */
  archive: boolean;
  summary: {
    dumps: number;
    ok: number;
    damaged: number;
    byVerdict: Record<string, number>;
    skippedFiles: number;
    /** Entries that could not be read (the walk's, plus dumps whose verdict is unreadable). */
    unreadable: number;
    missing: number;
    aliases: number;
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
  const logs: BackupLog[] = [];
  for (const l of opts.logs ?? []) logs.push(...(await readBackupLogs(l, { relocate: opts.relocate })));
  const entries = logs.flatMap((l) => l.dumps);
  const walked = await discoverDumps(paths, { logged: new Set(entries.map((e) => e.resolved)), relocate: opts.relocate, fs: opts.fs });
  const { candidates, skipped } = walked;
  const unreadable: Unreadable[] = walked.findings
    .filter((f) => f.code === 'ARCHIVE_UNREADABLE' || f.code === 'SPECIAL_FILE')
    .map((f) => ({ path: f.file ?? '', code: f.code as Unreadable['code'], message: f.message }));
  if (candidates.length === 0 && entries.length === 0 && unreadable.length === 0) {
    const c = walked.counts;
    const why = c.dangling ? ` (${c.dangling} link${c.dangling > 1 ? 's' : ''} dangle: if the archive was moved off its host, say where with --relocate FROM=DIR)` : '';
    throw new DumpError('USAGE', `no dump files found${why}`, undefined, paths.join(', '));
  }
  const total = candidates.reduce((s, c) => s + (c.size ?? 0), 0);
  opts.onStart?.(candidates, total);
  const matches = matchCandidates(entries, candidates);
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
        // Dumps of a replicated volume (by file name or log) keep what a replica comparison needs.
        const replica = replicated(c, matches.get(c.path));
        r = await verifyFile(c.file, {
          deep: opts.deep,
          fileDigests: opts.fileDigests || (opts.deep && replica),
          vnodeKeys: replica,
          decompressWith: opts.decompressWith,
          bufferSize: opts.bufferSize,
          fs: opts.fs,
          onProgress: (pos) => {
            progress[i] = pos;
            report();
          },
        });
      } catch (e) {
        if (!(e instanceof DumpError)) throw e;
        // The file vanished, became a directory, failed a read (EIO)...: its verdict says so, the rest goes on.
        const problems = [{ code: e.code, severity: 'error' as const, offset: e.offset ?? 0, message: e.message }];
        r = {
          path: c.path, verdict: verdictOf(problems), size: c.size, streamLength: null, bytesChecked: 0,
          problems, suppressed: {}, header: null, groupId: null, counts: { directories: 0, files: 0, removed: 0 },
        };
      }
      r.path = c.path;
      if (c.file !== c.path) r.file = c.file;
      if (c.aliases.length) r.aliases = c.aliases;
      if (Object.keys(c.layout).length) r.layout = c.layout;
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
  const missing = missingFromLog(entries, matched, candidates.flatMap((c) => [c.path, ...c.aliases]), paths);
  const findings = [...walked.findings, ...logClaims(logs, results, matches, candidates, missing)];
  const byVerdict: Record<string, number> = {};
  for (const r of results) byVerdict[r.verdict] = (byVerdict[r.verdict] ?? 0) + 1;
  const ok = byVerdict.ok ?? 0;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    dumps: results,
    skipped,
    unreadable,
    missing,
    logs,
    findings,
    walk: walked.counts,
    archive: walked.roots.length > 0 || logs.length > 0,
    summary: {
      dumps: results.length, ok, damaged: results.length - ok, byVerdict, skippedFiles: skipped.length,
      unreadable: unreadable.length + (byVerdict.unreadable ?? 0),
      missing: missing.length, aliases: walked.counts.aliases, bytesChecked: results.reduce((s, r) => s + (r.size ?? r.bytesChecked), 0), seconds,
    },
  };
}

/** Log entries to candidates: by any of a dump's paths exactly, else by the longest unique common suffix of its own path. */
export function matchCandidates(entries: LogEntry[], candidates: Candidate[]): Map<string, LogEntry> {
  const byFile = new Map<string, Candidate>();
  const paths: string[] = [];
  for (const c of candidates) {
    if (c.path === '-') continue;
    for (const p of [c.path, c.file, ...c.aliases]) {
      if (byFile.has(p)) continue;
      byFile.set(p, c);
      paths.push(p);
    }
  }
  const out = new Map<string, LogEntry>();
  for (const [p, e] of matchLog(entries, paths)) {
    const c = byFile.get(p)!;
    if (!out.has(c.path)) out.set(c.path, e);
  }
  return out;
}

/**
 * What the logs' closing sections claim against the disk: every dump of a
 * volume a log calls backed up is present and sound; volumes listed as
 * partially backed up or failed are reported with their stage letters.
 */
export function logClaims(logs: BackupLog[], results: DumpReport[], matches: Map<string, LogEntry>, candidates: Candidate[], missing: LogEntry[]): Finding[] {
  const out: Finding[] = [];
  const byEntry = new Map<LogEntry, DumpReport>();
  candidates.forEach((c, i) => {
    const e = matches.get(c.path);
    if (e) byEntry.set(e, results[i]);
  });
  const missingSet = new Set(missing);
  for (const e of missing) out.push(finding('LOG_MISSING', 0, `${e.path}: named by ${e.log}:${e.line} (volume ${e.volume}), not found`, { file: e.log }));
  for (const log of logs) {
    for (const s of log.summary) {
      if (s.section === 'partial' || s.section === 'failed') {
        const what = s.section === 'partial' ? 'only partially backed up' : 'as FAILED';
        out.push(finding('LOG_PARTIAL', 0, `${log.file}:${s.line}: volume ${s.volumeId} (${s.comment}) is listed ${what}, stages per replica '${s.stages ?? ''}' (L locked, C cloned, D dumped, M marked)`, { file: log.file }));
      }
      if (s.section !== 'successful') continue;
      for (const e of s.dumps.map((k) => log.dumps[k])) {
        const r = byEntry.get(e);
        if (r && r.verdict !== 'ok') {
          out.push(finding('LOG_NOT_SOUND', 0, `${log.file}:${s.line} calls volume ${s.volumeId} (${s.comment}) backed up, but its dump ${r.path} (${e.log}:${e.line}) is ${r.verdict}`, { file: r.path }));
        } else if (!r && missingSet.has(e)) {
          out.push(finding('LOG_NOT_SOUND', 0, `${log.file}:${s.line} calls volume ${s.volumeId} (${s.comment}) backed up, but its dump ${e.path} (${e.log}:${e.line}) is not on disk`, { file: e.path }));
        }
      }
    }
  }
  return out;
}

/** A dump of a replicated volume, as its file name or the log says (`<vol>.<rep>` with rep != vol). */
export function replicated(c: Candidate, e?: LogEntry): boolean {
  const l = c.layout;
  if (l.replicaId && l.volumeId && l.replicaId !== l.volumeId) return true;
  return !!e && e.replicaId !== e.volumeId;
}
