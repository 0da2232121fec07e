import { describe, expect, it } from 'vitest';
import { RunPairMap } from '../../src/diagnose/survivors.js';

/** A RunPairMap over pairs given by value, as SurvivorList's columns give them. */
function mapOf(pairs: [number, number][]): RunPairMap {
  const m = new RunPairMap((j) => pairs[j][0], (j) => pairs[j][1]);
  pairs.forEach(([v], j) => m.add(v, j));
  return m;
}

describe('RunPairMap', () => {
  it('finds every pair of two runs (a full dump) and nothing else', () => {
    const pairs: [number, number][] = [];
    for (let v = 1; v < 200; v += 2) pairs.push([v, v * 3]);
    for (let v = 2; v < 300; v += 2) pairs.push([v, v * 3 + 1]);
    const m = mapOf(pairs);
    pairs.forEach(([v, u], j) => expect(m.get(v, u)).toBe(j));
    expect(m.get(3, 10)).toBe(-1); // the vnode is there, not with this uniquifier
    expect(m.get(201, 603)).toBe(-1); // past the first run's last vnode
    expect(m.get(0, 0)).toBe(-1);
    expect(m.get(2 ** 32 + 1, 1)).toBe(-1);
  });

  it('a vnode number again (another uniquifier) starts a run; past eight runs a table takes over', () => {
    // 20 runs: each number v in 10..29 once with uniquifier 1, then 20 descending numbers (a run each).
    const pairs: [number, number][] = [];
    for (let v = 10; v < 30; v++) pairs.push([v, 1]);
    for (let v = 29; v >= 10; v--) pairs.push([v, 2]);
    const m = mapOf(pairs);
    pairs.forEach(([v, u], j) => expect(m.get(v, u)).toBe(j));
    expect(m.get(10, 3)).toBe(-1);
    expect(m.get(30, 1)).toBe(-1);
    // Added after the switch.
    const more: [number, number][] = [...pairs, [5, 9]];
    const m2 = mapOf(more);
    expect(m2.get(5, 9)).toBe(pairs.length);
    expect(m2.get(29, 2)).toBe(20);
  });

  it('values must be added in turn', () => {
    const m = new RunPairMap(() => 1, () => 1);
    expect(() => m.add(1, 1)).toThrow(RangeError);
  });
});
