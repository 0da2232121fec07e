/**
 * Expected losses, computed from the original dump's record offsets and the
 * WRAPAROUND.md arithmetic only (never by calling diagnose).
 */
import { expect } from 'vitest';
import { pathsOf, type RecInfo } from './fixtures.js';

export interface Lost {
  vnode: number;
  unique: number;
  path: string | null;
  partial: boolean;
}

export const byId = (a: { vnode: number; unique: number }, b: { vnode: number; unique: number }) => a.vnode - b.vnode || a.unique - b.unique;
export const strip = (l: Lost[]): Lost[] => l.map(({ vnode, unique, path, partial }) => ({ vnode, unique, path, partial })).sort(byId);

/** A1: every record that intersects the lost stream range [s, e); partial when its 9-byte head (tag, vnode, uniquifier) lies before s. */
export function expectedA1Lost(records: RecInfo[], s: number, e: number): Lost[] {
  const paths = pathsOf(records);
  return records
    .filter((r) => r.kind === 'vnode' && r.offset < e && r.end > s)
    .map((r) => ({ vnode: r.vnode!, unique: r.unique!, path: paths.get(`${r.vnode}.${r.unique}`) ?? null, partial: r.offset + 9 <= s }))
    .sort(byId);
}

/**
 * A file holding only stream [o, L): survivors are the records wholly inside
 * it; the lost vnodes that can be named are the survivors' parents that are
 * not survivors (no directory survives in these fixtures: asserted).
 */
export function expectedTailLost(records: RecInfo[], o: number): { survivors: RecInfo[]; lost: Lost[] } {
  const survivors = records.filter((r) => r.kind === 'vnode' && r.offset >= o);
  expect(survivors.some((r) => r.type === 2)).toBe(false);
  const have = new Set(survivors.map((r) => `${r.vnode}.${r.unique}`));
  const lost = new Map<string, Lost>();
  for (const r of survivors) {
    const k = `${r.parent}.${r.parentUnique}`;
    if (!have.has(k)) lost.set(k, { vnode: r.parent!, unique: r.parentUnique!, path: r.parent === 1 ? '.' : null, partial: false });
  }
  return { survivors, lost: [...lost.values()].sort(byId) };
}
