/**
 * Which test files pin which codes and verdicts: a scan of the test sources.
 * A code counts as pinned by a file when the file names it the way an
 * assertion does: quoted ('CODE', "CODE", `CODE`), or as the CLI prints it
 * ("CODE at byte", " CODE: "). Mentions in comments of other forms do not
 * count. Files that only list codes (this one, the contract test, a test of
 * the code table itself) are left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers.js';

const LEFT_OUT = [/^test\/contract\//, /codes\.test\.ts$/];

function testFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) testFiles(p, out);
    else if (/\.(ts|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** For each name, the test files (relative to the repo) that pin it. */
export function pinnedBy(names: readonly string[]): Map<string, string[]> {
  const files = testFiles(join(ROOT, 'test'))
    .map((f) => ({ rel: relative(ROOT, f).split('\\').join('/'), text: readFileSync(f, 'utf8') }))
    .filter((f) => !LEFT_OUT.some((re) => re.test(f.rel)));
  const map = new Map<string, string[]>();
  for (const name of names) {
    const esc = name.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&');
    const re = new RegExp(`['"\`]${esc}['"\`]|(?<![A-Za-z_-])${esc} at byte|\\s${esc}: `);
    map.set(name, files.filter((f) => re.test(f.text)).map((f) => f.rel).sort());
  }
  return map;
}
