/**
 * The archive grid: volumes (rows) by run date (columns), built from verify's
 * archive result. A pure function of the result, so the HTML page and the
 * tests see the same cells.
 *
 * A dump's volume is the backup log's volume (`Dumping <volid>.<replica>`),
 * else the volume id its file name starts with (`<volid>.<replica>`,
 * `<server>-<volid>.<replica>`, `<volid>.<name>`: FORMAT.md section 6), else
 * its header's parent id (for a replica that is the replica's read-write
 * volume, so it comes last). Its run date is the last dated directory in
 * its path (`DDMonYYYY` as the backup program names runs, or YYYY-MM-DD,
 * YYYYMMDD), else the header's backup date (UTC day), else `undated`.
 */
import { basename, dirname } from 'node:path';
import type { DumpReport } from '../check/archive.js';
import type { LogEntry } from '../check/backup-log.js';
import { displayString } from '../format/types.js';
import { VERDICT_RANK, isoDay, type CellVerdict } from './common.js';

/** A restore point of one replica (what verify reports per volume once restore chains are known). */
export interface ChainPoint {
  date: string;
  /** The full dump's path (null when the point has none in the archive). */
  full: string | null;
  /** The incremental's path, for a full plus incremental point. */
  incremental?: string;
  restorable: boolean;
  reason?: string;
}

/** Restore chains of one volume, by replica: an optional input (verify's `volumes`, when it has them). */
export interface VolumeChains {
  volume: string;
  name: string;
  replicas: { replica: string; server?: string; points: ChainPoint[] }[];
}

/** What the archive page needs from verify's result. */
export interface ArchiveView {
  dumps: DumpReport[];
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
  skipped?: string[];
  /** Restore chains per volume and replica, when verify knows them. */
  volumes?: VolumeChains[];
}

export interface GridCell {
  /** Indexes into the view's dumps. */
  dumps: number[];
  /** Indexes into the view's missing entries. */
  missing: number[];
  verdict: CellVerdict;
  /** F full, I incremental (with its level when above 1: I2...), ? header lost, - missing. */
  mark: string;
}

export interface GridRow {
  /** Volume id as 8 lowercase hex digits (or the file name when no id is known). */
  volume: string;
  name: string;
  /** By column index. */
  cells: Map<number, GridCell>;
  /** Cells whose verdict is not ok. */
  damaged: number;
  /** Some point of this volume would restore. */
  restorable: boolean;
  /** From verify's restore chains (true) or from the dumps' own verdicts (false). */
  chainsKnown: boolean;
  /** Without chains: the restore points from the dumps alone (see dumpChains). */
  points: { column: number; restorable: boolean }[];
}

export interface ArchiveGrid {
  dates: string[];
  /** Volumes with no restorable point first, then by name and id. */
  rows: GridRow[];
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

const DATED = /^(\d{4})-?(\d{2})-?(\d{2})(?:$|[^0-9])/;
const RUN = /^(\d{2})(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(\d{4})$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The run date of a path: its last dated directory, normalised to YYYY-MM-DD. */
export function runDateOfPath(path: string): string | null {
  return runDateOfDir(dirname(path));
}

const dirDates = new Map<string, string | null>();

/** Dumps share directories: each is read once (the cache is dropped when it grows large). */
function runDateOfDir(dir: string): string | null {
  let d = dirDates.get(dir);
  if (d === undefined) {
    if (dirDates.size > 100_000) dirDates.clear();
    d = parseRunDate(dir);
    dirDates.set(dir, d);
  }
  return d;
}

function parseRunDate(dir: string): string | null {
  const parts = dir.split(/[\\/]/).filter(Boolean);
  for (let i = parts.length - 1; i >= 0; i--) {
    const run = RUN.exec(parts[i]);
    if (run) return `${run[3]}-${String(MONTHS.indexOf(run[2]) + 1).padStart(2, '0')}-${run[1]}`;
    const m = DATED.exec(parts[i]);
    if (m) return `${m[1]}-${m[2]}-${m[3]}`;
  }
  return null;
}

/** `<volid>.<name>` (a name with a letter), or `[<server>-]<volid>[.<replica>]`. */
const NAMED = /^([0-9a-f]{8})\.(.*[g-z].*)$/i;
const REPLICA = /^(?:[^-]+-)?([0-9a-f]{8})(?:\.([0-9a-f]{8}))?$/i;

/** A volume id as 8 lowercase hex digits. */
const pad8 = (s: string) => s.toLowerCase().padStart(8, '0');

/** Volume id and name of a dump (see the module comment). */
export function volumeOf(r: DumpReport): { volume: string; name: string } {
  const base = basename(r.path);
  const named = NAMED.exec(base);
  const replica = named ? null : REPLICA.exec(base);
  const name = r.header ? displayString(r.header.name).replace(/\.backup$/, '') : named ? named[2] : '';
  if (r.log && /^[0-9a-f]{1,8}(\.|$)/i.test(r.log.volume)) return { volume: pad8(r.log.volume.split('.')[0]), name };
  if (named) return { volume: pad8(named[1]), name };
  if (replica) return { volume: pad8(replica[1]), name };
  if (r.header) return { volume: hex8(r.header.parentId || r.header.volumeId), name };
  return { volume: base, name: '' };
}

export function runDateOf(r: DumpReport): string {
  return runDateOfPath(r.path) ?? (r.header ? isoDay(r.header.backupDate) : 'undated');
}

export function markOf(r: DumpReport): string {
  if (!r.header) return '?';
  const l = r.header.incremental;
  return l === 0 ? 'F' : l === 1 ? 'I' : `I${l}`;
}

/** Normalise a volume as #12's chains may name it ("0x7F000101", "7f000101.1000002"). */
export function volumeKey(v: string): string {
  const id = v.trim().replace(/^0x\s*/i, '').split('.')[0].toLowerCase();
  return /^[0-9a-f]{1,8}$/.test(id) ? id.padStart(8, '0') : id;
}

export function archiveGrid(view: ArchiveView): ArchiveGrid {
  const dateSet = new Set<string>();
  const placed: { row: string; name: string; date: string; dump?: number; missing?: number }[] = [];
  view.dumps.forEach((r, i) => {
    const { volume, name } = volumeOf(r);
    const date = runDateOf(r);
    dateSet.add(date);
    placed.push({ row: volume, name, date, dump: i });
  });
  view.missing.forEach((m, i) => {
    const named = NAMED.exec(basename(m.path));
    const date = runDateOfPath(m.path) ?? 'undated';
    dateSet.add(date);
    placed.push({ row: volumeKey(m.volume), name: named ? named[2] : '', date, missing: i });
  });
  const dates = [...dateSet].sort((a, b) => (a === 'undated' ? 1 : b === 'undated' ? -1 : a < b ? -1 : a > b ? 1 : 0));
  const col = new Map(dates.map((d, i) => [d, i]));
  const rows = new Map<string, GridRow>();
  for (const p of placed) {
    let row = rows.get(p.row);
    if (!row) {
      row = { volume: p.row, name: p.name, cells: new Map(), damaged: 0, restorable: false, chainsKnown: false, points: [] };
      rows.set(p.row, row);
    }
    if (!row.name && p.name) row.name = p.name;
    const c = col.get(p.date)!;
    let cell = row.cells.get(c);
    if (!cell) {
      cell = { dumps: [], missing: [], verdict: 'ok', mark: '' };
      row.cells.set(c, cell);
    }
    if (p.dump !== undefined) cell.dumps.push(p.dump);
    else cell.missing.push(p.missing!);
  }
  const chains = new Map((view.volumes ?? []).map((v) => [volumeKey(v.volume), v]));
  for (const row of rows.values()) {
    for (const cell of row.cells.values()) {
      let worst: CellVerdict = cell.dumps.length ? 'ok' : 'missing';
      for (const i of cell.dumps) if (VERDICT_RANK[view.dumps[i].verdict] > VERDICT_RANK[worst]) worst = view.dumps[i].verdict;
      if (cell.missing.length && cell.dumps.length === 0) worst = 'missing';
      cell.verdict = worst;
      const marks = [...new Set(cell.dumps.map((i) => markOf(view.dumps[i])))];
      cell.mark = marks.length ? marks.join('') : '-';
      if (worst !== 'ok') row.damaged++;
    }
    const ch = chains.get(row.volume);
    if (ch) {
      row.chainsKnown = true;
      row.restorable = ch.replicas.some((r) => r.points.some((pt) => pt.restorable));
      if (!row.name && ch.name) row.name = ch.name;
    } else {
      row.points = dumpChains(view, row, dates.length);
      row.restorable = row.points.some((p) => p.restorable);
    }
  }
  const sorted = [...rows.values()].sort(
    (a, b) => Number(a.restorable) - Number(b.restorable) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.volume < b.volume ? -1 : a.volume > b.volume ? 1 : 0),
  );
  return { dates, rows: sorted };
}

/**
 * Restore points of a row from the dumps alone (until verify reports chains):
 * a run date is restorable when some full dump at or before it is ok and
 * every later run up to it has an ok dump (an incremental applies on top).
 */
export function dumpChains(view: ArchiveView, row: GridRow, columns: number): { column: number; restorable: boolean }[] {
  const out: { column: number; restorable: boolean }[] = [];
  let chainOk = false;
  for (let c = 0; c < columns; c++) {
    const cell = row.cells.get(c);
    if (!cell) continue;
    const ds = cell.dumps.map((i) => view.dumps[i]);
    const fullOk = ds.some((d) => d.verdict === 'ok' && d.header !== null && d.header.incremental === 0);
    const incOk = ds.some((d) => d.verdict === 'ok' && d.header !== null && d.header.incremental > 0);
    if (fullOk) chainOk = true;
    else if (ds.some((d) => d.header?.incremental === 0) || ds.length === 0) chainOk = false;
    else if (!incOk) chainOk = false;
    out.push({ column: c, restorable: chainOk });
  }
  return out;
}
