/**
 * One vocabulary (#11): the same damage gets the same code at the same
 * offset from verify and diagnose; diagnose adds only what it alone sees.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT, run } from '../helpers.js';

const problems = (args: string[]) => {
  const r = run(args);
  return { code: r.code, json: JSON.parse(r.stdout) };
};

describe('verify and diagnose speak one vocabulary', () => {
  // The frozen sample archive's dump whose FILEDATA count was raised from 40000 to 40256 (fixtures/make-archive.mjs).
  const venus = join(ROOT, 'fixtures', 'pages', 'archive', '2025-11-26', '7f000201.p.venus');
  const truncated = join(ROOT, 'fixtures', 'pages', 'archive', '2025-11-25', '7f000101.u.alice');

  it("diagnose's findings are verify's, same codes and offsets, plus what only diagnose sees (SUSPECT, OVERLAP)", () => {
    const v = problems(['verify', '--json', venus]);
    const d = problems(['diagnose', '--json', venus]);
    expect(v.code).toBe(1);
    expect(d.code).toBe(1);
    const vp = v.json.dumps[0].problems.map((p: { code: string; offset: number }) => [p.code, p.offset]);
    const dp = d.json.problems.map((p: { code: string; offset: number }) => [p.code, p.offset]);
    expect(vp).toEqual([['SIZE_MISMATCH', 5011], ['UNEXPECTED_TAG', 45272]]);
    expect(dp).toEqual([['SUSPECT', 4902], ['SIZE_MISMATCH', 5011], ['OVERLAP', 5016], ['UNEXPECTED_TAG', 45272]]);
    for (const p of vp) expect(dp).toContainEqual(p);
    expect(d.json.verdict).toBe(v.json.dumps[0].verdict);
  });

  it("a truncated dump: diagnose's TRUNCATED is verify's, at the end of the input", () => {
    const v = problems(['verify', '--json', truncated]);
    const d = problems(['diagnose', '--json', truncated]);
    const at = (ps: { code: string; offset: number }[]) => ps.filter((p) => p.code === 'TRUNCATED').map((p) => p.offset);
    expect(at(v.json.dumps[0].problems)).toEqual([14793]);
    expect(at(d.json.problems)).toEqual([14793]);
    expect(d.json.verdict).toBe('truncated');
  });
});
