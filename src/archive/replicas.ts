/**
 * Replicas compared (FORMAT.md section 6): a day's run holds one dump per
 * replica of a replicated volume. Replicas normally hold the same files, but
 * need not: for each day, dumps of the same kind (full, or incremental of the
 * same level) of different replicas of one volume are compared, and where
 * they disagree is reported as warnings: vnodes present in one only, and,
 * when per-file digests were taken (--deep), files whose content differs.
 *
 * Verify keeps only each vnode's `vnode.uniquifier` (and digest): paths
 * would cost a string per vnode of every replicated dump of the archive.
 * When two replicas disagree, the two dumps concerned are listed again
 * (`ls`'s walk of the directory tree) to name the files by path.
 */
import type { DumpReport } from '../check/archive.js';
import { finding, type Finding } from '../diagnostics/finding.js';
import { forEachListed } from '../format/listing.js';
import { openDump } from '../format/open.js';
import { displayString } from '../format/types.js';
import { place, type Placed } from './chains.js';

/** At most this many files are named in one finding; the rest are counted. */
const SHOW = 12;

/** One file a replica comparison names: its `vnode.uniquifier`, and its path in that dump (null: not known). */
export interface ReplicaFile {
  vnode: string;
  path: string | null;
}

export interface ReplicaDifference {
  volume: string;
  day: string;
  a: { path: string; replica: string };
  b: { path: string; replica: string };
  /** Vnodes in a's dump only (paths in a's dump). */
  onlyA: ReplicaFile[];
  /** Vnodes in b's dump only (paths in b's dump). */
  onlyB: ReplicaFile[];
  /** Files in both whose data differ (only with digests of both; paths in a's dump). */
  differ: ReplicaFile[];
}

export interface CompareOptions {
  /** Name the files by path, listing again the dumps that disagree (default true). */
  paths?: boolean;
  /** How to read those dumps (the same options verify used). */
  decompressWith?: string;
}

function name(f: ReplicaFile): string {
  return f.path === null ? `vnode ${f.vnode}` : `${f.path} (${f.vnode})`;
}

function list(files: ReplicaFile[]): string {
  const shown = files.slice(0, SHOW).map(name).join(', ');
  return files.length <= SHOW ? shown : `${shown} and ${files.length - SHOW} more`;
}

/** Which dumps to compare, and how they differ, by `vnode.uniquifier`. */
function differences(dumps: DumpReport[]): { d: ReplicaDifference; fa: string; fb: string }[] {
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
  const out: { d: ReplicaDifference; fa: string; fb: string }[] = [];
  const file = (vnode: string): ReplicaFile => ({ vnode, path: null });
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
      out.push({
        d: {
          volume: a.volume, day: a.day, a: { path: a.r.path, replica: a.replica }, b: { path: b.r.path, replica: b.replica },
          onlyA: onlyA.map(file), onlyB: onlyB.map(file), differ: differ.map(file),
        },
        fa: a.r.file ?? a.r.path,
        fb: b.r.file ?? b.r.path,
      });
    }
  }
  return out;
}

/**
 * Paths by `vnode.uniquifier` for the given keys, from one listing of the
 * dump (its directory tree); null when the dump cannot be read again (it
 * changed or went away since it was verified): the files stay named by vnode.
 */
async function pathsIn(file: string, keys: Set<string>, opts: CompareOptions): Promise<Map<string, string> | null> {
  let reader;
  try {
    reader = await openDump(file, { decompressWith: opts.decompressWith });
    // The listing streams (a directory at a time): only the wanted paths are kept.
    const out = new Map<string, string>();
    await forEachListed(reader, (e) => {
      const k = `${e.vnode}.${e.unique}`;
      if (keys.has(k)) out.set(k, displayString(e.path));
    });
    return out;
  } catch {
    return null;
  } finally {
    await reader?.close();
  }
}

/** Compare same-day dumps of the replicas of each volume; name what differs by path. */
export async function compareReplicas(dumps: DumpReport[], opts: CompareOptions = {}): Promise<{ differences: ReplicaDifference[]; findings: Finding[] }> {
  const found = differences(dumps);
  if (opts.paths !== false) {
    // Each dump is listed once, for all the comparisons it is in.
    const wanted = new Map<string, Set<string>>();
    const want = (file: string, fs: ReplicaFile[]) => {
      const s = wanted.get(file) ?? new Set<string>();
      for (const f of fs) s.add(f.vnode);
      wanted.set(file, s);
    };
    for (const { d, fa, fb } of found) {
      want(fa, [...d.onlyA, ...d.differ]);
      want(fb, d.onlyB);
    }
    const paths = new Map<string, Map<string, string> | null>();
    for (const [file, keys] of wanted) paths.set(file, keys.size ? await pathsIn(file, keys, opts) : null);
    const fill = (file: string, fs: ReplicaFile[]) => {
      const m = paths.get(file);
      if (m) for (const f of fs) f.path = m.get(f.vnode) ?? null;
    };
    for (const { d, fa, fb } of found) {
      fill(fa, d.onlyA);
      fill(fa, d.differ);
      fill(fb, d.onlyB);
    }
  }
  const findings: Finding[] = [];
  for (const { d } of found) {
    const pair = `volume ${d.volume}, ${d.day}: replica ${d.a.replica} (${d.a.path}) and replica ${d.b.replica} (${d.b.path})`;
    if (d.onlyA.length || d.onlyB.length) {
      const parts = [d.onlyA.length ? `only in ${d.a.replica}: ${list(d.onlyA)}` : '', d.onlyB.length ? `only in ${d.b.replica}: ${list(d.onlyB)}` : ''].filter(Boolean);
      findings.push(finding('REPLICA_VNODES_DIFFER', 0, `${pair} hold different files: ${parts.join('; ')}`, { file: d.b.path }));
    }
    if (d.differ.length) findings.push(finding('REPLICA_CONTENT_DIFFERS', 0, `${pair}: the data of ${d.differ.length} file(s) differ: ${list(d.differ)}`, { file: d.b.path }));
  }
  return { differences: found.map((f) => f.d), findings };
}
