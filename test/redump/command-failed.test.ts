/**
 * COMMAND_FAILED: redump's dump command cannot be started. The kernel
 * refuses (E2BIG) a command longer than one argument may be (128 KiB on
 * Linux); spawn() then throws at once. (The command line cannot carry such
 * a command either, so this goes through the library.) OUT is untouched,
 * no temporary file is left, and the command line prints one line, exit 2.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { redump } from '../../src/redump/redump.js';
import { errorJson, reportError } from '../../src/cli/context.js';
import { rejection, tempDir } from '../helpers.js';

const t = tempDir('codadump-cmdfail-');
afterAll(() => t.cleanup());
afterEach(() => vi.restoreAllMocks());

describe('COMMAND_FAILED', () => {
  it('a command the kernel refuses to start: DumpError COMMAND_FAILED, nothing written, exit 2 with one line', async () => {
    const out = join(t.dir, 'out.dump');
    const e = await rejection(redump({ exec: `echo ${'x'.repeat(200_000)}` }, out));
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.message).toBe('cannot run the dump command: spawn E2BIG');
    expect(e.offset).toBeUndefined();
    expect(e.toFinding()).toMatchObject({ code: 'COMMAND_FAILED', severity: 'error' });
    expect(readdirSync(t.dir)).toEqual([]);
    const named = `echo ${'x'.repeat(52)}...`; // the command, cut to 60 characters
    expect(e.file).toBe(named);
    expect(errorJson(e)).toEqual({ error: { code: 'COMMAND_FAILED', message: 'cannot run the dump command: spawn E2BIG', file: named } });
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    expect(reportError(e)).toBe(2);
    expect(lines).toEqual([`codadump: error: ${named}: cannot run the dump command: spawn E2BIG\n`]);
  });
});
