/**
 * The verdict contract: every finding code in src/diagnostics/codes.ts and
 * every verdict is pinned by at least one test (scan.ts says what counts:
 * the name quoted, or printed as the CLI prints it, in a test source), and
 * the exit codes are the documented ones. The table is docs/reliability.md.
 *
 * UNPINNED is a ratchet: the codes that had no test when this contract was
 * written. The test fails when a code outside it has no test (a new code
 * came without one), and when a code in it has gained one (take it out).
 * The failure message lists exactly the codes concerned.
 */
import { describe, expect, it } from 'vitest';
import { CODES } from '../../src/diagnostics/codes.js';
import { VERDICTS } from '../../src/diagnostics/verdict.js';
import { EXIT_DAMAGED, EXIT_OK, EXIT_USAGE } from '../../src/cli/context.js';
import { pinnedBy } from './scan.js';

/**
 * Codes without a test (issue 15: 31 of 97; after merging main, whose
 * branches added codes and tests for most: 31 of 129). Only ever remove from
 * this list.
 */
export const UNPINNED = new Set([
  'CORRUPT', 'CUT', 'NOT_SOUND', 'FALSE_END',
  'COUNT_MISMATCH', 'LATE_DIRECTORY', 'UNREPRESENTABLE', 'COMMAND_FAILED',
  'MANIFEST_SYNTAX', 'GZIP_CORRUPT', 'INTERNAL',
]);

describe('verdict contract', () => {
  const pins = pinnedBy(Object.keys(CODES));

  it('every code in src/diagnostics/codes.ts is produced and asserted by at least one test', () => {
    const missing = [...pins].filter(([c, files]) => files.length === 0 && !UNPINNED.has(c)).map(([c]) => c);
    expect(missing, `codes no test pins (add a test that produces each and asserts its code): ${missing.join(', ')}`).toEqual([]);
  });

  it('the list of codes still without a test only shrinks', () => {
    const gained = [...UNPINNED].filter((c) => (pins.get(c)?.length ?? 0) > 0);
    const gone = [...UNPINNED].filter((c) => !pins.has(c));
    expect(gained, `these codes have a test now: remove them from UNPINNED: ${gained.join(', ')}`).toEqual([]);
    expect(gone, `these codes are no longer in codes.ts: remove them from UNPINNED: ${gone.join(', ')}`).toEqual([]);
  });

  it('every verdict is asserted by at least one test', () => {
    const missing = [...pinnedBy(VERDICTS)].filter(([, files]) => files.length === 0).map(([v]) => v);
    expect(missing, `verdicts no test pins: ${missing.join(', ')}`).toEqual([]);
  });

  it('the exit codes are 0 ok, 1 damage found or work incomplete, 2 usage or unusable input', () => {
    expect([EXIT_OK, EXIT_DAMAGED, EXIT_USAGE]).toEqual([0, 1, 2]);
  });
});
