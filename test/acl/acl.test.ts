import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { ACL_MAX_ENTRIES, DEFAULT_ACL, RIGHTS, formatAcl, parseAcl, rightsToLetters, type Acl } from '../../src/acl/acl.js';
import { DumpError } from '../../src/format/errors.js';
import { SAMPLES } from '../helpers.js';

const codes = (text: string): [string, number][] => parseAcl(text).problems.map((p) => [p.code, p.offset]);

/** The 'X' strings of a dump (without their NUL), found by a small scanner. */
function sampleAcls(file: string): string[] {
  const b = readFileSync(`${SAMPLES}/${file}`);
  const out: string[] = [];
  for (let i = 0; i + 5 < b.length; i++) {
    if (b[i] !== 0x58) continue;
    const n = b.readUInt32BE(i + 1);
    if (n < 5 || n > 4096 || i + 5 + n > b.length || b[i + 4 + n] !== 0) continue;
    const s = b.toString('latin1', i + 5, i + 4 + n);
    if (/^\d+\n\d+\n/.test(s)) out.push(s);
  }
  return out;
}

describe('rightsToLetters', () => {
  it('writes the set rights in Coda order r w i l d k a', () => {
    expect(rightsToLetters(127)).toBe('rwildka');
    expect(rightsToLetters(9)).toBe('rl');
    expect(rightsToLetters(RIGHTS.insert | RIGHTS.administer | RIGHTS.write)).toBe('wia');
    expect(rightsToLetters(RIGHTS.delete | RIGHTS.lock)).toBe('dk');
    expect(rightsToLetters(0)).toBe('');
  });
});

describe('DEFAULT_ACL', () => {
  it('is AnyUser rl then Administrators all, as the server writes it', () => {
    expect(formatAcl(DEFAULT_ACL)).toBe('2\n0\nSystem:AnyUser\t9\nSystem:Administrators\t127\n');
    expect(Object.isFrozen(DEFAULT_ACL.positive)).toBe(true);
  });

  it('is exactly what server-sample-full.dump holds for every directory', () => {
    const acls = sampleAcls('server-sample-full.dump');
    expect(acls.length).toBe(4);
    for (const a of acls) expect(a).toBe(formatAcl(DEFAULT_ACL));
  });
});

describe('parseAcl / formatAcl', () => {
  it('round-trip every access list of the samples byte for byte', () => {
    const files = ['server-empty-full.dump', 'server-sample-full.dump', 'codamergedump-merged.dump', 'merge-full.dump', 'merge-incremental.dump'];
    let n = 0;
    for (const f of files) {
      for (const text of sampleAcls(f)) {
        const { acl, problems } = parseAcl(text);
        expect(problems).toEqual([]);
        expect(formatAcl(acl as Acl)).toBe(text);
        n++;
      }
    }
    expect(n).toBe(1 + 4 + 4 + 4 + 3);
    // the fresh volume's root: administrators only
    expect(parseAcl(sampleAcls('server-empty-full.dump')[0]).acl).toEqual({
      positive: [{ name: 'System:Administrators', rights: 127 }],
      negative: [],
    });
  });

  it('parses the FORMAT.md example, with negative entries and numeric ids', () => {
    expect(parseAcl('2\n0\nSystem:Administrators\t127\nSystem:AnyUser\t9\n')).toEqual({
      acl: { positive: [{ name: 'System:Administrators', rights: 127 }, { name: 'System:AnyUser', rights: 9 }], negative: [] },
      problems: [],
    });
    const text = '1\n2\nSystem:AnyUser\t9\njan\t2\n-4711\t0\n';
    const { acl, problems } = parseAcl(text);
    expect(problems).toEqual([]);
    expect(acl).toEqual({ positive: [{ name: 'System:AnyUser', rights: 9 }], negative: [{ name: 'jan', rights: 2 }, { name: '-4711', rights: 0 }] });
    expect(formatAcl(acl as Acl)).toBe(text);
    expect(parseAcl('0\n0\n')).toEqual({ acl: { positive: [], negative: [] }, problems: [] });
  });

  it('round-trips generated access lists', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9:._@-]{1,100}$/);
    const entry = fc.record({ name, rights: fc.integer({ min: 0, max: 127 }) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 10 }), fc.array(entry, { maxLength: 10 }), (positive, negative) => {
        const text = formatAcl({ positive, negative });
        const { acl } = parseAcl(text);
        expect(acl).toEqual({ positive, negative });
      }),
    );
  });

  it('refuses to format what cannot be read back', () => {
    const bad: Acl[] = [
      { positive: [{ name: 'a b', rights: 1 }], negative: [] },
      { positive: [{ name: '', rights: 1 }], negative: [] },
      { positive: [], negative: [{ name: 'x', rights: 128 }] },
      { positive: [{ name: 'x', rights: 1.5 }], negative: [] },
    ];
    for (const a of bad) expect(() => formatAcl(a)).toThrowError(DumpError);
  });
});

describe('parseAcl problems (offsets within the text)', () => {
  // "1\n0\n" is 4 bytes, so a first entry's name starts at 4; "System:AnyUser" is 14 bytes:
  // its tab is at 18, its rights at 19, the newline after them at 20.
  it('fatal: unreadable counts, missing tab or newline, truncated', () => {
    expect(codes('')).toEqual([['ACL_COUNT', 0]]);
    expect(codes('x\n0\n')).toEqual([['ACL_COUNT', 0]]);
    expect(codes('1 \n0\n')).toEqual([['ACL_COUNT', 1]]);
    expect(codes('1\n-1\n')).toEqual([['ACL_COUNT', 2]]);
    expect(codes('1\n0')).toEqual([['ACL_COUNT', 3]]);
    expect(codes('2\n0\nSystem:AnyUser\t9\n')).toEqual([['ACL_TRUNCATED', 21]]);
    expect(codes('1\n0\nSystem:AnyUser 9\n')).toEqual([['ACL_ENTRY', 4]]);
    expect(codes('1\n0\nSystem:AnyUser\t9')).toEqual([['ACL_ENTRY', 20]]);
    expect(codes('1\n0\nSystem:AnyUser\t9 \n')).toEqual([['ACL_ENTRY', 20]]);
    expect(codes('1\n0\nSystem:AnyUser\t\n')).toEqual([['ACL_RIGHTS', 19]]);
    expect(codes('1\n0\nSystem:AnyUser\t-9\n')).toEqual([['ACL_RIGHTS', 19]]);
    for (const t of ['', '1\n0\nSystem:AnyUser\t9', '2\n0\nx\t1\n']) expect(parseAcl(t).acl).toBeNull();
  });

  it('non-fatal: rights out of range, bad names, duplicates, leading zeros, too many, trailing bytes', () => {
    const r = parseAcl('1\n0\nSystem:AnyUser\t128\n');
    expect(r.problems.map((p) => [p.code, p.offset])).toEqual([['ACL_RIGHTS', 19]]);
    expect(r.acl).toEqual({ positive: [{ name: 'System:AnyUser', rights: 128 }], negative: [] });
    expect(codes('1\n0\n\t9\n')).toEqual([['ACL_NAME', 4]]);
    expect(codes('1\n0\nSystem:Any User\t9\n')).toEqual([['ACL_NAME', 4]]);
    expect(codes(`1\n0\n${'n'.repeat(101)}\t9\n`)).toEqual([['ACL_NAME', 4]]);
    expect(codes('2\n1\nanne\t1\nanne\t8\nanne\t2\n')).toEqual([['ACL_DUPLICATE', 11]]); // same name in both lists is fine
    expect(codes('01\n0\nanne\t009\n')).toEqual([
      ['ACL_COUNT', 0],
      ['ACL_RIGHTS', 10],
    ]);
    const many = `${ACL_MAX_ENTRIES + 1}\n0\n` + Array.from({ length: ACL_MAX_ENTRIES + 1 }, (_, i) => `u${i}\t1\n`).join('');
    expect(codes(many)).toEqual([['ACL_TOO_MANY', 0]]);
    const trailing = parseAcl('1\n0\nSystem:AnyUser\t9\nSystem:Administrators\t127\n');
    expect(trailing.problems.map((p) => [p.code, p.offset])).toEqual([['ACL_TRAILING', 21]]);
    expect(trailing.acl?.positive.length).toBe(1);
    expect(codes('0\n0\n\0')).toEqual([['ACL_TRAILING', 4]]);
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const r = parseAcl(s);
        for (const p of r.problems) expect(p.offset >= 0 && p.offset <= s.length).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
