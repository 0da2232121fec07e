/**
 * The backup program's log (FORMAT.md section 5): a line
 * `HH:MM:SS Dumping <volid>.<replica> to <path> ...` and later
 * `\t\tTransferred <N> bytes`, N the true size printed as a signed 32-bit
 * number. The volume utility's `VolDump completed, <N> bytes dumped` (N
 * unsigned 32-bit) is read too when it follows a Dumping line.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { TWO_32 } from '../format/constants.js';
import { ioError } from '../format/errors.js';

export interface LogEntry {
  log: string;
  /** 1-based line of the Dumping line. */
  line: number;
  time: string;
  volume: string;
  /** Path as written in the log. */
  path: string;
  /** Path resolved against the log's directory when relative. */
  resolved: string;
  /** The byte count as printed (may be negative), or null if the dump has no Transferred line. */
  printed: number | null;
}

const DUMPING = /^\s*(\d{1,2}:\d{2}:\d{2})\s+Dumping\s+(\S+)\s+to\s+(.+?)\s*(?:\.\.\.)?\s*$/;
const TRANSFERRED = /^\s*Transferred\s+(-?\d+)\s+bytes\b/;
const VOLDUMP = /VolDump completed,\s+(-?\d+)\s+bytes dumped/;

export function parseBackupLog(text: string, logPath = '<log>'): LogEntry[] {
  const entries: LogEntry[] = [];
  let open: LogEntry | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const d = DUMPING.exec(l);
    if (d) {
      open = {
        log: logPath, line: i + 1, time: d[1], volume: d[2], path: d[3],
        resolved: resolve(dirname(logPath), d[3]), printed: null,
      };
      entries.push(open);
      continue;
    }
    const t = TRANSFERRED.exec(l) ?? VOLDUMP.exec(l);
    if (t && open && open.printed === null) {
      open.printed = Number(t[1]);
      open = null;
    }
  }
  return entries;
}

export async function readBackupLog(path: string): Promise<LogEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (e) {
    throw ioError(e, path);
  }
  return parseBackupLog(text, path);
}

/** A printed count as the unsigned value modulo 2^32 it stands for. */
export function declaredModulo(printed: number): number {
  return ((printed % TWO_32) + TWO_32) % TWO_32;
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
    if (e) {
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
  const rest = [...byPath.values()].filter((e) => !used.has(e));
  abs.forEach((a, i) => {
    if (out.has(files[i])) return;
    const pa = parts(a);
    let best: LogEntry | null = null;
    let bestN = 0;
    let tie = false;
    for (const e of rest) {
      if (used.has(e)) continue;
      const n = common(pa, parts(e.resolved));
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
