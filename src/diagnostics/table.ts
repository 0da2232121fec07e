/** The code table of docs/codes.md, rendered from CODES (so the two cannot drift). */
import { CODES, type Area, type Code } from './codes.js';

const AREA_TITLES: Record<Area, string> = {
  dump: 'Dump structure',
  directory: 'Directory pages (the offset is the byte in the dump)',
  acl: "Access lists (inside ACL_BAD's message when found in a dump)",
  tree: 'The volume tree',
  wraparound: 'Damage as diagnose sees it',
  log: 'The backup log',
  archive: 'Archives: layout, chains, replicas, fixity',
  container: 'Compressed and wrapped containers',
  merge: 'merge',
  extract: 'extract',
  repair: 'repair',
  run: 'The run itself (fatal errors: one line, exit 2)',
};

/** Markdown: one table per area, in the order of CODES. */
export function codesMarkdown(): string {
  const byArea = new Map<Area, Code[]>();
  for (const code of Object.keys(CODES) as Code[]) {
    const a = CODES[code].area;
    if (!byArea.has(a)) byArea.set(a, []);
    byArea.get(a)!.push(code);
  }
  const out: string[] = [];
  for (const [area, codes] of byArea) {
    out.push(`### ${AREA_TITLES[area]}`, '', '| code | severity | meaning |', '|------|----------|---------|');
    for (const c of codes) out.push(`| \`${c}\` | ${CODES[c].severity} | ${CODES[c].summary.replace(/\|/g, '\\|')} |`);
    out.push('');
  }
  return out.join('\n');
}

export const TABLE_BEGIN = '<!-- codes:begin (generated from src/diagnostics/codes.ts by `npm run docs`; do not edit) -->';
export const TABLE_END = '<!-- codes:end -->';

/** `doc` with the text between the markers replaced by the current table. */
export function withCodesTable(doc: string): string {
  const a = doc.indexOf(TABLE_BEGIN);
  const b = doc.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error('the code table markers are missing');
  return `${doc.slice(0, a + TABLE_BEGIN.length)}\n\n${codesMarkdown()}\n${doc.slice(b)}`;
}
