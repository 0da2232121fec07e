/**
 * Restore chains (FORMAT.md section 6): which volumes an archive can restore,
 * as of which day, from which files.
 *
 * Dumps are grouped by volume (the volume disk data's group id for a
 * replicated volume, else the parent id; the file name or the log when the
 * header cannot be read) and by replica (the header's parent id). A restore
 * point is a full dump alone, or a full dump plus one incremental: the
 * incremental applies to the full dump of the same replica whose *latest*
 * stamp is the incremental's *oldest* (the last such full before it). A point
 * is restorable when each of its dumps verified ok; otherwise the reason is
 * given in words, with a code. An incremental whose full is not in the
 * archive is reported as such, never matched by guess.
 */
import type { DumpReport } from '../check/archive.js';
import type { BackupLog, LogEntry } from '../check/backup-log.js';
import type { Code } from '../diagnostics/codes.js';

export interface RestorePoint {
  /** The day of the newest dump in it (YYYY-MM-DD): the run directory's, else the log's, else the header's backup date (UTC). */
  date: string;
  /** The full dump's path (null when it is not in the archive). */
  full: string | null;
  incremental?: string;
  restorable: boolean;
  reason?: string;
  code?: Code;
}

export interface ReplicaChains {
  /** The replica's read-write volume id (header parent id), 8 lower-case hex digits. */
  replica: string;
  server?: string;
  points: RestorePoint[];
}

export interface VolumeChains {
  /** The volume id (the replicated volume's for a replicated one), 8 lower-case hex digits. */
  volume: string;
  name: string;
  replicas: ReplicaChains[];
  /** The newest point of any replica. */
  newest: RestorePoint | null;
  /** The newest restorable point of any replica. */
  newestRestorable: RestorePoint | null;
  /** True when some replica's newest point is of the volume's newest day and restorable. */
  restorable: boolean;
  /** Dumps a log names for a volume of which no dump is here at all. */
  missing?: string[];
}

export interface Unplaced {
  path: string;
  /** Volume and replica ids as its path names them, if it does. */
  volume?: string;
  replica?: string;
  reason: string;
  code: Code;
}

export interface ChainReport {
  volumes: VolumeChains[];
  /** Dumps that cannot be placed in any chain (no readable header). */
  unplaced: Unplaced[];
}

export const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

export interface Placed {
  r: DumpReport;
  volume: string;
  replica: string;
  server?: string;
  day: string;
  /** Sort key within a replica: day, time of day if the log gives it, full before incremental, then the stamp. */
  key: string;
  incremental: boolean;
  oldest: number;
  latest: number;
}

function dayOf(r: DumpReport): string {
  if (r.layout?.day) return r.layout.day;
  if (r.log?.date) return r.log.date;
  if (r.header) return new Date(r.header.backupDate * 1000).toISOString().slice(0, 10);
  return '0000-00-00';
}

/** Where a verified dump belongs: volume, replica, day, full or incremental (null without a readable header). */
export function place(r: DumpReport): Placed | null {
  const h = r.header;
  if (!h) return null;
  const replica = hex8(h.parentId);
  // The replicated volume's id: the file name's or the log's (a backup clone's
  // volume data has group id 0 in real dumps), else the group id; a volume
  // that is not replicated is its own.
  const l = r.layout;
  const named = l?.volumeId && (l.replicaId ?? l.volumeId) === replica ? l.volumeId : undefined;
  const logged = r.log && r.log.replicaId === replica ? r.log.volumeId : undefined;
  const volume = named ?? logged ?? (r.groupId ? hex8(r.groupId) : replica);
  const day = dayOf(r);
  const incremental = h.incremental !== 0;
  const key = `${day} ${r.log?.time?.padStart(8, '0') ?? '        '} ${incremental ? 1 : 0} ${String(h.latest).padStart(10, '0')} ${r.path}`;
  return { r, volume, replica, server: r.layout?.server, day, key, incremental, oldest: h.oldest, latest: h.latest };
}

/** A volume's name: the log's comment, else the header's name without `.backup` (and a replica's `.N`). */
function nameOf(ds: Placed[], comments: Map<string, string>): string {
  const c = comments.get(ds[0].volume);
  if (c) return c;
  const h = ds[ds.length - 1].r.header!;
  let n = h.name.replace(/\0+$/, '').replace(/\.backup$/, '');
  if (ds[0].volume !== ds[0].replica) n = n.replace(/\.\d+$/, '');
  return n;
}

const what = (r: DumpReport) => (r.verdict === 'not-a-dump' ? 'not a dump' : r.verdict);

function pointFor(full: Placed | null, inc: Placed | null, missingReason?: { code: Code; reason: string }): RestorePoint {
  const newest = inc ?? full!;
  const p: RestorePoint = { date: newest.day, full: full ? full.r.path : null, restorable: false };
  if (inc) p.incremental = inc.r.path;
  if (missingReason) {
    p.code = missingReason.code;
    p.reason = missingReason.reason;
    return p;
  }
  const bad: string[] = [];
  let code: Code | undefined;
  if (full && full.r.verdict !== 'ok') {
    bad.push(`its full dump ${full.r.path} is ${what(full.r)}`);
    code = 'CHAIN_FULL_DAMAGED';
  }
  if (inc && inc.r.verdict !== 'ok') {
    bad.push(`its incremental ${inc.r.path} is ${what(inc.r)}`);
    code ??= 'CHAIN_INCREMENTAL_DAMAGED';
  }
  if (bad.length === 0) p.restorable = true;
  else {
    p.code = code;
    p.reason = bad.join('; ');
  }
  return p;
}

/**
 * Restore chains of verified dumps; `logs` give volume names (the dump list's
 * comments); `missing` (logged dumps not on disk) adds the volumes of which
 * the archive holds nothing, with no point.
 */
export function restoreChains(dumps: DumpReport[], logs: BackupLog[] = [], missing: LogEntry[] = []): ChainReport {
  const comments = new Map<string, string>();
  for (const l of logs) for (const s of l.summary) if (s.comment) comments.set(s.volumeId, s.comment);
  const unplaced: Unplaced[] = [];
  const placed: Placed[] = [];
  for (const r of dumps) {
    if (r.path === '-' && !r.header) continue;
    const p = place(r);
    if (p) placed.push(p);
    else {
      const ids = r.layout?.volumeId ? ` (volume ${r.layout.volumeId}${r.layout.replicaId ? `, replica ${r.layout.replicaId}` : ''} by its name)` : '';
      const replica = r.layout?.replicaId ?? r.layout?.volumeId;
      unplaced.push({
        path: r.path, code: 'CHAIN_UNKNOWN', reason: `${what(r)}: its header cannot be read, so it fits no chain${ids}`,
        ...(r.layout?.volumeId ? { volume: r.layout.volumeId } : {}), ...(replica ? { replica } : {}),
      });
    }
  }
  const byVolume = new Map<string, Placed[]>();
  for (const p of placed) {
    const list = byVolume.get(p.volume) ?? [];
    list.push(p);
    byVolume.set(p.volume, list);
  }
  const volumes: VolumeChains[] = [];
  for (const [volume, ds] of byVolume) {
    ds.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const byReplica = new Map<string, Placed[]>();
    for (const d of ds) {
      const list = byReplica.get(d.replica) ?? [];
      list.push(d);
      byReplica.set(d.replica, list);
    }
    const replicas: ReplicaChains[] = [];
    const allPoints: { p: RestorePoint; key: string }[] = [];
    for (const [replica, rs] of [...byReplica].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const points: { p: RestorePoint; key: string }[] = [];
      const fulls = rs.filter((d) => !d.incremental);
      for (const d of rs) {
        if (!d.incremental) {
          points.push({ p: pointFor(d, null), key: d.key });
          continue;
        }
        const bases = fulls.filter((f) => f.latest === d.oldest);
        const before = bases.filter((f) => f.key < d.key);
        const base = before[before.length - 1] ?? bases[bases.length - 1];
        if (base) {
          points.push({ p: pointFor(base, d), key: d.key });
          continue;
        }
        const other = ds.find((f) => f.replica !== replica && !f.incremental && f.latest === d.oldest);
        const stamp = `0x${hex8(d.oldest)}`;
        const lost = unplaced.filter((u) => u.replica === replica);
        const also = lost.length ? `; ${lost.length} dump(s) of this replica have no readable header (${lost.map((u) => u.path).join(', ')})` : '';
        const why = other
          ? { code: 'CHAIN_FULL_OTHER_REPLICA' as Code, reason: `the full dump it was taken against (stamp ${stamp}) is not in the archive for replica ${replica}; ${other.r.path} has that stamp but is of replica ${other.replica}${also}` }
          : { code: 'CHAIN_FULL_MISSING' as Code, reason: `the full dump it was taken against (latest stamp ${stamp}, replica ${replica}) is not in the archive${also}` };
        points.push({ p: pointFor(null, d, why), key: d.key });
      }
      const server = rs.find((d) => d.server)?.server;
      replicas.push({ replica, ...(server ? { server } : {}), points: points.map((x) => x.p) });
      allPoints.push(...points);
    }
    allPoints.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const newest = allPoints.length ? allPoints[allPoints.length - 1].p : null;
    const good = allPoints.filter((x) => x.p.restorable);
    const newestRestorable = good.length ? good[good.length - 1].p : null;
    // Restorable as of the newest day: some replica's own newest point is of that day and restorable.
    const restorable = !!newest && replicas.some((r) => {
      const last = r.points[r.points.length - 1];
      return last && last.restorable && last.date === newest.date;
    });
    volumes.push({ volume, name: nameOf(ds, comments), replicas, newest, newestRestorable, restorable });
  }
  for (const m of missing) {
    if (byVolume.has(m.volumeId)) continue;
    let v = volumes.find((x) => x.volume === m.volumeId);
    if (!v) {
      v = { volume: m.volumeId, name: comments.get(m.volumeId) ?? '', replicas: [], newest: null, newestRestorable: null, restorable: false, missing: [] };
      volumes.push(v);
    }
    v.missing!.push(m.path);
  }
  // Volumes that cannot be restored as of their newest day first, then by id.
  volumes.sort((a, b) => (a.restorable !== b.restorable ? (a.restorable ? 1 : -1) : a.volume < b.volume ? -1 : a.volume > b.volume ? 1 : 0));
  return { volumes, unplaced };
}
