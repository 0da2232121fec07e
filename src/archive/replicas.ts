/**
 * Replicas compared (FORMAT.md section 6): a day's run holds one dump per
 * replica of a replicated volume. Replicas normally hold the same files, but
 * need not: for each day, dumps of the same kind (full, or incremental of the
 * same level) of different replicas of one volume are compared, and where
 * they disagree is reported as warnings: vnodes present in one only, and,
 * when per-file digests were taken (--deep), files whose content differs.
 */
import type { DumpReport } from '../check/archive.js';
import { finding, type Finding } from '../diagnostics/finding.js';
import { place, type Placed } from './chains.js';

/** At most this many vnodes are named in one finding; the rest are counted. */
const SHOW = 12;

function list(keys: string[]): string {
  return keys.length <= SHOW ? keys.join(' ') : `${keys.slice(0, SHOW).join(' ')} and ${keys.length - SHOW} more`;
}

export interface ReplicaDifference {
  volume: string;
  day: string;
  a: { path: string; replica: string };
  b: { path: string; replica: string };
  onlyA: string[];
  onlyB: string[];
  /** Files in both whose data differ (only with digests of both). */
  differ: string[];
}

export function compareReplicas(dumps: DumpReport[]): { differences: ReplicaDifference[]; findings: Finding[] } {
  const groups = new Map<string, Placed[]>();
  for (const r of dumps) {
    if (r.verdict !== 'ok' || !r.vnodes) continue; // a damaged dump's vnodes say nothing of its replica
    const p = place(r);
    if (!p) continue;
    const k = `${p.volume} ${p.day} ${r.header!.incremental}`;
    const g = groups.get(k) ?? [];
    g.push(p);
    groups.set(k, g);
  }
  const differences: ReplicaDifference[] = [];
  const findings: Finding[] = [];
  for (const g of groups.values()) {
    // One dump per replica: the newest of the day.
    const byReplica = new Map<string, Placed>();
    for (const p of g.sort((x, y) => (x.key < y.key ? -1 : 1))) byReplica.set(p.replica, p);
    const reps = [...byReplica.values()].sort((x, y) => (x.replica < y.replica ? -1 : 1));
    if (reps.length < 2) continue;
    // Each replica against the first (lowest id).
    const a = reps[0];
    const setA = new Set(a.r.vnodes);
    for (const b of reps.slice(1)) {
      const setB = new Set(b.r.vnodes);
      const onlyA = [...setA].filter((k) => !setB.has(k));
      const onlyB = [...setB].filter((k) => !setA.has(k));
      const differ: string[] = [];
      const da = a.r.fileDigests;
      const db = b.r.fileDigests;
      if (da && db) for (const [k, h] of da) if (db.has(k) && db.get(k) !== h) differ.push(k);
      if (!onlyA.length && !onlyB.length && !differ.length) continue;
      const d: ReplicaDifference = {
        volume: a.volume, day: a.day, a: { path: a.r.path, replica: a.replica }, b: { path: b.r.path, replica: b.replica }, onlyA, onlyB, differ,
      };
      differences.push(d);
      const pair = `volume ${a.volume}, ${a.day}: replica ${a.replica} (${a.r.path}) and replica ${b.replica} (${b.r.path})`;
      if (onlyA.length || onlyB.length) {
        const parts = [onlyA.length ? `only in ${a.replica}: ${list(onlyA)}` : '', onlyB.length ? `only in ${b.replica}: ${list(onlyB)}` : ''].filter(Boolean);
        findings.push(finding('REPLICA_VNODES_DIFFER', 0, `${pair} hold different vnodes: ${parts.join('; ')}`, { file: b.r.path }));
      }
      if (differ.length) findings.push(finding('REPLICA_CONTENT_DIFFERS', 0, `${pair}: the data of ${differ.length} file(s) differ: ${list(differ)}`, { file: b.r.path }));
    }
  }
  return { differences, findings };
}
