/**
 * One vocabulary: every code listed in src/diagnostics/codes.ts is emitted
 * somewhere in src/, every code emitted is listed, and docs/codes.md shows
 * exactly the table the code holds.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CODES, isCode } from '../../src/diagnostics/codes.js';
import { finding } from '../../src/diagnostics/finding.js';
import { DumpError } from '../../src/diagnostics/errors.js';
import { codesMarkdown, withCodesTable } from '../../src/diagnostics/table.js';
import { ROOT } from '../helpers.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const SRC = join(ROOT, 'src');
const TABLE = join(SRC, 'diagnostics', 'codes.ts');
const files = sources(SRC).filter((f) => f !== TABLE).map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') }));

/** The places a code is handed to: a `code:` field, finding(), DumpError(), the checker's add(), and the emitters that take a code first. */
const EMIT = /(?:\bcode:\s*|\bfinding\(\s*|new DumpError\(\s*|\.add\(\s*|damageReport\(\s*|mergeWarning\(\s*|breakAt\(\s*|\bresync\([^,()]+,\s*)'([A-Z][A-Z0-9_]*)'/g;

describe('the code table', () => {
  it('lists every code that src/ hands to a finding, an error or a report', () => {
    const unlisted: string[] = [];
    for (const { file, text } of files) {
      for (const m of text.matchAll(EMIT)) if (!isCode(m[1])) unlisted.push(`${m[1]} (${file})`);
    }
    expect(unlisted).toEqual([]);
  });

  it('lists no code that nothing in src/ names', () => {
    const all = files.map((f) => f.text).join('\n');
    const unused = Object.keys(CODES).filter((c) => !all.includes(`'${c}'`));
    expect(unused).toEqual([]);
  });

  it('has one line of meaning per code, and a known severity', () => {
    for (const [code, info] of Object.entries(CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(['error', 'warning', 'info']).toContain(info.severity);
      expect(info.summary.length).toBeGreaterThan(5);
      expect(info.summary).not.toContain('\n');
    }
  });

  it('docs/codes.md holds exactly the generated table (npm run docs)', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'codes.md'), 'utf8');
    expect(withCodesTable(doc)).toBe(doc);
    for (const code of Object.keys(CODES)) expect(codesMarkdown()).toContain(`| \`${code}\` |`);
  });
});

describe('finding()', () => {
  it("takes the code's own severity unless told otherwise, and spells a vnode number.uniquifier", () => {
    expect(finding('BADINODE', 77, 'm')).toEqual({ code: 'BADINODE', severity: 'warning', offset: 77, message: 'm' });
    expect(finding('BADINODE', 77, 'm', { severity: 'error', vnode: { vnode: 6, unique: 8 }, path: 'a/b' }))
      .toEqual({ code: 'BADINODE', severity: 'error', offset: 77, message: 'm', vnode: '6.8', path: 'a/b' });
    expect(finding('IO', undefined, 'cannot write', { file: 'out' })).toEqual({ code: 'IO', severity: 'error', message: 'cannot write', file: 'out' });
  });

  it('a DumpError is the same finding, fatal', () => {
    const e = new DumpError('TRUNCATED', 'input ends', 2 ** 32 + 5, 'x.dump');
    expect(e.toFinding()).toEqual({ code: 'TRUNCATED', severity: 'error', offset: 4294967301, message: 'input ends', file: 'x.dump' });
    expect(e.describe()).toBe('x.dump: at byte 4294967301: input ends');
  });
});
