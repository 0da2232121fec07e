/**
 * The backup program's log (FORMAT.md section 6). Every line the program logs
 * starts with the time of day, `HH:MM:SS `; a dump is
 *
 *     16:03:33 Dumping 7f00001f.1000029 to /backup/03Sep2006/host1-7f00001f.1000029 ...
 *     16:20:39 \t\tTransferred -636288144 bytes
 *
 * (N the true size printed as a signed 32-bit number). A `Dumping` line that
 * does not end with `...` may continue on the next line (a mailer or a
 * terminal wrapped it); a dump with no `Transferred` line failed. Date lines
 * (`Date: Sun 09/03/2006`, older `date: Mon 01/05/98`) give the day of the
 * messages that follow. The closing sections list the volumes backed up
 * (with `(incremental)` and `level N` markers), partially backed up or failed
 * (stage letters per replica), and not backed up. The volume utility's
 * `VolDump completed, <N> bytes dumped` (N unsigned 32-bit) is read too when
 * it follows a Dumping line. Every other line is ignored.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { TWO_32 } from '../format/constants.js';
import { ioError } from '../format/errors.js';

export interface LogEntry {
  log: string;
  /** 1-based line of the Dumping line. */
  line: number;
  time: string;
  /** `<volid>.<replica>` as printed (unpadded hex). */
  volume: string;
  /** The volume id, 8 lower-case hex digits (as in file names). */
  volumeId: string;
  /** The replica's read-write volume id, 8 lower-case hex digits (the volume id again for a volume that is not replicated). */
  replicaId: string;
  /** The day of the run from the last date line before it (YYYY-MM-DD), if the log has one. */
  date: string | null;
  /** Path as written in the log. */
  path: string;
  /** Path resolved against the log's directory when relative (after --relocate). */
  resolved: string;
  /** The byte count as printed (may be negative), or null if the dump has no Transferred line. */
  printed: number | null;
  /** What the log's closing section says of the volume: incremental (with its level) or full; null when it does not list it as backed up. */
  kind: 'full' | 'incremental' | null;
  level: number | null;
}

export type SummarySection = 'successful' | 'partial' | 'failed' | 'not-backed-up';

export interface SummaryLine {
  log: string;
  line: number;
  section: SummarySection;
  /** Volume id, 8 lower-case hex digits. */
  volumeId: string;
  incremental: boolean;
  level: number | null;
  /** Stage letters per replica (partial and failed sections): L locked, C cloned, D dumped, M marked. */
  stages: string | null;
  /** The dump list's comment (usually the volume's name). */
  comment: string;
  /** Indexes in `BackupLog.dumps` of this run's dumps of the volume. */
  dumps: number[];
}

export interface BackupLog {
  file: string;
  dumps: LogEntry[];
  summary: SummaryLine[];
  /** Days named by date lines, in order (YYYY-MM-DD). */
  dates: string[];
}

const TIME = /^\s*(\d{1,2}:\d{2}:\d{2})(?:\s+|$)/;
const DUMPING = /^Dumping\s+([0-9a-fA-F]+)(?:\.([0-9a-fA-F]+))?(?:\s+to(?:\s+(.*))?)?$/;
const TRANSFERRED = /^\s*Transferred\s+(-?\d+)\s+bytes\b/;
const VOLDUMP = /VolDump completed,\s+(-?\d+)\s+bytes dumped/;
const DATE = /^\s*[Dd]ate:\s+\w+\s+(\d{1,2})\/(\d{1,2})\/(\d{2}|\d{4})\s*$/;
const HEADINGS: [RegExp, SummarySection][] = [
  [/^Successfully backed-up Volumes:/, 'successful'],
  [/^Only partially successfully backed-up Volumes:/, 'partial'],
  [/^Volumes that FAILED backup:/, 'failed'],
  [/^Volumes that were NOT backed-up:/, 'not-backed-up'],
];
const SUMMARY_LINE = /^0x\s*([0-9a-fA-F]{1,8})\s*(\(incremental\))?\s*(?:\(([LCDM ]*)\))?\s*(?:level\s+(\d+)\s+)?(.*?)\s*$/;

/** A hex id as file names write it: 8 lower-case digits. */
export function hexId(s: string): string {
  return s.toLowerCase().replace(/^0+(?=.)/, '').padStart(8, '0');
}

/** `MM/DD/YY(YY)` (US order) as YYYY-MM-DD; two-digit years 70..99 are 19xx. */
function isoDay(m: string, d: string, y: string): string {
  let year = Number(y);
  if (y.length === 2) year += year >= 70 ? 1900 : 2000;
  return `${year}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
}

export interface ParseOptions {
  /** Rewrite path prefixes (the backup host's `/backup` to where the archive is now). */
  relocate?: Relocation[];
}

/** The whole log: dumps, closing sections, date lines. Unknown lines are ignored, never fatal. */
export function parseBackupLogFull(text: string, logPath = '<log>', opts: ParseOptions = {}): BackupLog {
  const dumps: LogEntry[] = [];
  const summary: SummaryLine[] = [];
  const dates: string[] = [];
  let open: LogEntry | null = null;
  /** A Dumping line whose path may continue on the next line. */
  let wrapped: LogEntry | null = null;
  let section: SummarySection | null = null;
  let date: string | null = null;
  /** Dumps since the last closing section: the section's markers apply to them. */
  let runStart = 0;
  let summarySeen = false;
  const lines = text.split(/\r?\n/);
  const finishPath = (e: LogEntry, path: string) => {
    e.path = path;
    e.resolved = resolve(dirname(logPath), relocatePath(path, opts.relocate));
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const t = TIME.exec(raw);
    const time = t ? t[1] : null;
    const msg = t ? raw.slice(t[0].length) : raw;
    if (wrapped) {
      const e: LogEntry = wrapped;
      wrapped = null;
      // A continuation has no time of its own and is not a Transferred line.
      if (!time && msg.trim() !== '' && !TRANSFERRED.test(msg)) {
        let more = msg.trim();
        const closes = /(?:^|\s)\.\.\.$/.test(more);
        if (closes) more = more.replace(/\s*\.\.\.$/, '');
        if (e.path === '') finishPath(e, more);
        else if (more !== '') finishPath(e, e.path + more);
        if (!closes && e.path !== '' && !/\s/.test(more)) wrapped = e; // it may go on once more
        continue;
      }
    }
    const dm = DATE.exec(raw);
    if (dm) {
      date = isoDay(dm[1], dm[2], dm[3]);
      if (dates[dates.length - 1] !== date) dates.push(date);
      continue;
    }
    const body = msg.trim();
    const d = time ? DUMPING.exec(body) : null;
    if (d && time) {
      if (summarySeen) {
        runStart = dumps.length; // a new run in the same log
        summarySeen = false;
      }
      const rep = d[2] ?? d[1];
      let path = (d[3] ?? '').trim();
      const closes = /(?:^|\s)\.\.\.$/.test(path);
      path = path.replace(/\s*\.\.\.$/, '');
      open = {
        log: logPath, line: i + 1, time, volume: d[2] ? `${d[1]}.${d[2]}` : d[1], volumeId: hexId(d[1]), replicaId: hexId(rep),
        date, path: '', resolved: '', printed: null, kind: null, level: null,
      };
      finishPath(open, path);
      dumps.push(open);
      if (!closes) wrapped = open;
      section = null;
      continue;
    }
    const tr = TRANSFERRED.exec(msg) ?? VOLDUMP.exec(msg);
    if (tr) {
      if (open && open.printed === null) open.printed = Number(tr[1]);
      open = null;
      continue;
    }
    const heading = HEADINGS.find(([re]) => re.test(body));
    if (heading) {
      section = heading[1];
      summarySeen = true;
      open = null;
      continue;
    }
    if (section) {
      const s = SUMMARY_LINE.exec(body);
      if (!s) {
        section = null;
        continue;
      }
      const words = s[5].split(/\s+/).filter(Boolean);
      const line: SummaryLine = {
        log: logPath, line: i + 1, section, volumeId: hexId(s[1]), incremental: !!s[2],
        level: s[4] ? Number(s[4]) : null, stages: s[3] ?? null, comment: words[words.length - 1] ?? '', dumps: [],
      };
      summary.push(line);
      for (let k = runStart; k < dumps.length; k++) {
        const e = dumps[k];
        if (e.volumeId !== line.volumeId) continue;
        line.dumps.push(k);
        if (section === 'successful') {
          e.kind = line.incremental ? 'incremental' : 'full';
          e.level = line.level ?? (line.incremental ? null : 0);
        }
      }
      continue;
    }
  }
  return { file: logPath, dumps, summary, dates };
}

/** The dumps a log names (each Dumping line with its Transferred count). */
export function parseBackupLog(text: string, logPath = '<log>', opts: ParseOptions = {}): LogEntry[] {
  return parseBackupLogFull(text, logPath, opts).dumps;
}

/** Names taken for logs in a directory given to --log. */
export const LOG_NAME = /log/i;

/**
 * Read a log file, or every log in a directory (regular files whose name
 * contains `log`, e.g. `backuplogs.03Sep06`, in name order).
 */
export async function readBackupLogs(path: string, opts: ParseOptions = {}): Promise<BackupLog[]> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw ioError(e, path);
  }
  const files: string[] = [];
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = (await readdir(path)).sort();
    } catch (e) {
      throw ioError(e, path);
    }
    for (const n of names) {
      if (!LOG_NAME.test(n)) continue;
      const p = join(path, n);
      const s = await stat(p).catch(() => null);
      if (s?.isFile()) files.push(p);
    }
  } else files.push(path);
  const logs: BackupLog[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'latin1');
    } catch (e) {
      throw ioError(e, f);
    }
    logs.push(parseBackupLogFull(text, f, opts));
  }
  return logs;
}

export async function readBackupLog(path: string, opts: ParseOptions = {}): Promise<LogEntry[]> {
  return (await readBackupLogs(path, opts)).flatMap((l) => l.dumps);
}

/** A printed count as the unsigned value modulo 2^32 it stands for. */
export function declaredModulo(printed: number): number {
  return ((printed % TWO_32) + TWO_32) % TWO_32;
}

/** `--relocate FROM=TO`: an absolute path under FROM (the backup host's) is taken to be under TO here. */
export interface Relocation {
  from: string;
  to: string;
}

export function parseRelocation(spec: string): Relocation | null {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) return null;
  const from = spec.slice(0, eq).replace(/\/+$/, '') || '/';
  if (!from.startsWith('/')) return null;
  return { from, to: resolve(spec.slice(eq + 1)) };
}

/** Apply the first relocation whose prefix (a whole path component) an absolute path starts with. */
export function relocatePath(path: string, relocate: Relocation[] = []): string {
  for (const r of relocate) {
    if (path === r.from) return r.to;
    const pre = r.from === '/' ? '/' : r.from + '/';
    if (path.startsWith(pre)) return join(r.to, path.slice(pre.length));
  }
  return path;
}

/** Match log entries to dump files: exact resolved path first, else the unique longest common path suffix. */
export function matchLog(entries: LogEntry[], files: string[]): Map<string, LogEntry> {
  const out = new Map<string, LogEntry>();
  const abs = files.map((f) => resolve(f));
  const used = new Set<LogEntry>();
  const byPath = new Map<string, LogEntry>();
  // The last Dumping line for a path wins (a later run overwrote the file).
  for (const e of entries) byPath.set(e.resolved, e);
  abs.forEach((a, i) => {
    const e = byPath.get(a);
    if (e && !used.has(e)) {
      out.set(files[i], e);
      used.add(e);
    }
  });
  const parts = (p: string) => p.split(sep).filter(Boolean);
  const common = (a: string[], b: string[]) => {
    let n = 0;
    while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
    return n;
  };
  const rest = [...byPath.values()].filter((e) => !used.has(e)).map((e) => ({ e, p: parts(e.resolved) }));
  abs.forEach((a, i) => {
    if (out.has(files[i])) return;
    const pa = parts(a);
    let best: LogEntry | null = null;
    let bestN = 0;
    let tie = false;
    for (const { e, p } of rest) {
      if (used.has(e)) continue;
      const n = common(pa, p);
      if (n > bestN) {
        best = e;
        bestN = n;
        tie = false;
      } else if (n === bestN && n > 0) tie = true;
    }
    if (best && !tie) {
      out.set(files[i], best);
      used.add(best);
    }
  });
  return out;
}
