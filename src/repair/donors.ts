/**
 * Donors for `repair --donor`: sound dumps of the same volume (this replica
 * or another one) that may still hold what the damaged dump lost. This
 * module only decides; the donors are read (a full dump, or a full dump
 * with its incrementals merged on the fly) by merge/donors.ts, which hands
 * them over in this shape.
 *
 * How sure a restoration is:
 * - exact: the donor provably holds the version that was lost. Either the
 *   damaged dump's own surviving fields for the vnode (a cut record's data
 *   version 'v' and version vector 'V', and its length and time) equal the
 *   donor's, or the donor is another replica's dump of the same run (backup
 *   dates within a day) and every vnode that survives in both agrees in
 *   version vector;
 * - older: the donor's version as of its own date; whether the file changed
 *   after that is unknown;
 * - lost: no donor has it.
 */
import type { Analysis } from '../diagnose/diagnose.js';
import { DumpError } from '../format/errors.js';
import type { Vnode } from '../format/types.js';
import type { FileSource } from '../io/source.js';

export type Outcome = 'exact' | 'older' | 'lost';

export interface DonorVnode {
  /** The donor's record; for file data, `data.start` is a position in `source`. */
  rec: Vnode;
  source: FileSource;
}

export interface Donor {
  /** As given: `FULL`, or `FULL + INC1 + INC2` for a chain merged on the fly. */
  name: string;
  files: string[];
  /** Backup date of the state it holds (the last incremental's, for a chain). */
  date: number;
  volumeId: number;
  parentId: number;
  groupId: number;
  /** Every vnode of the (merged) donor, by `vnode.uniquifier`. */
  vnodes: Map<string, DonorVnode>;
}

export type Relation = 'same-replica' | 'other-replica';

export interface DonorUse {
  donor: Donor;
  relation: Relation;
  /** Another replica's dump of the same run whose common vnodes all agree: everything it gives is exact. */
  sameRun: boolean;
}

function sameVV(x: Vnode | { vv: Vnode['vv'] }, y: { vv: Vnode['vv'] }): boolean {
  const a = x.vv;
  const b = y.vv;
  return a.storeHost === b.storeHost && a.storeUniq === b.storeUniq && a.versions.length === b.versions.length && a.versions.every((v, i) => v === b.versions[i]);
}

/**
 * How each donor relates to the damaged dump. A donor of another volume
 * (neither this volume, its read-write parent, nor a replica in its volume
 * group) is refused: its vnode numbers mean other files.
 */
export function relateDonors(a: Analysis, donors: readonly Donor[]): DonorUse[] {
  const id = a.header?.volumeId ?? a.volume?.id ?? null;
  const parent = a.header?.parentId ?? a.volume?.parentId ?? null;
  const group = a.volume?.groupId ?? 0;
  const date = a.header?.backupDate ?? a.volume?.backupDate ?? null;
  const survivors = new Map(a.survivors.map((s) => [`${s.vnode.vnode}.${s.vnode.unique}`, s.vnode]));
  return donors.map((d) => {
    let relation: Relation;
    if ((id === null && parent === null) || d.volumeId === id || d.parentId === parent) relation = 'same-replica';
    else if (group !== 0 && d.groupId === group) relation = 'other-replica';
    else {
      throw new DumpError(
        'DONOR_MISMATCH',
        `volume 0x${hex(d.volumeId)} (parent 0x${hex(d.parentId)}, group 0x${hex(d.groupId)}) is not a dump of the damaged volume 0x${hex(id ?? 0)} (parent 0x${hex(parent ?? 0)}${group ? `, group 0x${hex(group)}` : ''}) or of a replica of it`,
        undefined,
        d.name,
      );
    }
    let sameRun = false;
    if (relation === 'other-replica' && date !== null && Math.abs(d.date - date) < 86_400) {
      let common = 0;
      let agree = true;
      for (const [k, v] of survivors) {
        const dv = d.vnodes.get(k);
        if (!dv) continue;
        common++;
        if (!sameVV(v, dv.rec)) {
          agree = false;
          break;
        }
      }
      sameRun = agree && common > 0;
    }
    return { donor: d, relation, sameRun };
  });
}

/** The outcome one donor gives for a lost vnode, given the damaged dump's own surviving fields for it (a cut record), if any. */
export function outcomeOf(use: DonorUse, dv: DonorVnode, own: Vnode | null): 'exact' | 'older' {
  if (use.sameRun) return 'exact';
  if (own !== null) {
    const r = dv.rec;
    const versionsAgree = sameVV(own, r) && (use.relation === 'other-replica' || own.dataVersion === r.dataVersion);
    if (versionsAgree && own.length === r.length && own.mtime === r.mtime && own.type === r.type) return 'exact';
  }
  return 'older';
}

/** The best donor for `key`: an exact one first, else the newest. */
export function pickDonor(uses: readonly DonorUse[], key: string, own: Vnode | null): { use: DonorUse; dv: DonorVnode; outcome: 'exact' | 'older' } | null {
  let best: { use: DonorUse; dv: DonorVnode; outcome: 'exact' | 'older' } | null = null;
  for (const use of uses) {
    const dv = use.donor.vnodes.get(key);
    if (!dv) continue;
    const outcome = outcomeOf(use, dv, own);
    if (!best || (outcome === 'exact' && best.outcome !== 'exact') || (outcome === best.outcome && use.donor.date > best.use.donor.date)) {
      best = { use, dv, outcome };
    }
  }
  return best;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
