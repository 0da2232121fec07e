/**
 * The verdict contract: every finding code in src/diagnostics/codes.ts and
 * every verdict is pinned by at least one test (scan.ts says what counts:
 * the name quoted, or printed as the CLI prints it, in a test source), and
 * the exit codes are the documented ones. The table is docs/reliability.md.
 * There is no list of exceptions: a new code comes with a test that
 * produces it and asserts it, or this fails, naming the codes concerned.
 * The table in docs/reliability.md lists every code with the files that pin
 * it (`npm run docs` regenerates it); this fails when a code has no row
 * there, or one that still says it has no test. (The files listed may lag
 * behind after a merge without failing this.)
 */
import { describe, expect, it } from 'vitest';
import { CODES } from '../../src/diagnostics/codes.js';
import { VERDICTS } from '../../src/diagnostics/verdict.js';
import { EXIT_DAMAGED, EXIT_OK, EXIT_USAGE } from '../../src/cli/context.js';
import { contractRowStart, pinnedBy } from './scan.mjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

describe('verdict contract', () => {
  const pins = pinnedBy(Object.keys(CODES));

  it('every code in src/diagnostics/codes.ts is produced and asserted by at least one test', () => {
    const missing = [...pins].filter(([, files]) => files.length === 0).map(([c]) => c);
    expect(missing, `codes no test pins (add a test that produces each and asserts its code): ${missing.join(', ')}`).toEqual([]);
  });

  it.each([['docs/reliability.md'], ['README.md']])('the table in %s has a row for every code, none of them without a test', (name) => {
    const doc = readFileSync(join(ROOT, name), 'utf8');
    const rows = new Map(doc.split('\n').filter((l) => l.startsWith('| `')).map((l) => [l.slice(0, l.lastIndexOf('| ', l.length - 3) + 2), l]));
    const stale = Object.entries(CODES).filter(([c, info]) => {
      const row = rows.get(contractRowStart(c, info));
      return row === undefined || row.includes('**none**');
    }).map(([c]) => c);
    expect(stale, `codes whose row in ${name} is missing or out of date (run \`npm run docs\`): ${stale.join(', ')}`).toEqual([]);
  });

  it('every verdict is asserted by at least one test', () => {
    const missing = [...pinnedBy(VERDICTS)].filter(([, files]) => files.length === 0).map(([v]) => v);
    expect(missing, `verdicts no test pins: ${missing.join(', ')}`).toEqual([]);
  });

  it('the exit codes are 0 ok, 1 damage found or work incomplete, 2 usage or unusable input', () => {
    expect([EXIT_OK, EXIT_DAMAGED, EXIT_USAGE]).toEqual([0, 1, 2]);
  });
});
