/**
 * Errors as data: with --json, every command prints exactly one JSON
 * document on standard output even when it fails, `{ "error": { code,
 * message, file?, offset? } }`; the one line on standard error and the exit
 * code stay what they were.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ROOT, run, sample, tempDir } from '../helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());
const missing = join(t.dir, 'missing.dump');
const enoent = (syscall: string) => ({ code: 'IO', message: `cannot read: ENOENT (no such file or directory, ${syscall} '${missing}')`, file: missing });

/**
 * The CLI's main() in this process (a spawned CLI costs a second each on a
 * loaded machine; the spawned bin is checked below once), standard output
 * and error captured.
 */
async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((b: string | Uint8Array) => ((stdout += String(b)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((b: string | Uint8Array) => ((stderr += String(b)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** Run, parse standard output as one JSON document, and check the exit code and the stderr line. */
async function failing(args: string[], code: number, stderr: string | RegExp) {
  const r = await runMain(args);
  expect(r.code).toBe(code);
  if (typeof stderr === 'string') expect(r.stderr).toBe(stderr);
  else expect(r.stderr).toMatch(stderr);
  return JSON.parse(r.stdout) as unknown;
}

describe('--json on failure: one JSON document on stdout, exit codes unchanged', () => {
  it('verify: a missing file, through the built CLI (exit 2); without --json nothing on stdout', () => {
    const r = run(['verify', '--json', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: ${missing}: cannot read: ENOENT (no such file or directory, stat '${missing}')\n`);
    expect(JSON.parse(r.stdout)).toEqual({ error: enoent('stat') });
    const text = run(['verify', missing]);
    expect([text.code, text.stdout, text.stderr]).toEqual([2, '', r.stderr]);
  });

  it('inspect: not a dump, with the byte offset (exit 2)', async () => {
    const readme = join(ROOT, 'fixtures', 'samples', 'README.md');
    const j = await failing(['inspect', '--json', readme], 2, /^codadump: error: .*README\.md: at byte 0: not a Coda dump: starts with [0-9a-f]{10} \(want 01b3a11322\)\n$/);
    expect(j).toEqual({ error: { code: 'NOT_A_DUMP', message: expect.stringMatching(/^not a Coda dump: starts with [0-9a-f]{10} \(want 01b3a11322\)$/), file: readme, offset: 0 } });
  });

  it('ls: a missing file (exit 2)', async () => {
    expect(await failing(['ls', '--json', missing], 2, `codadump: error: ${missing}: cannot read: ENOENT (no such file or directory, open '${missing}')\n`)).toEqual({ error: enoent('open') });
  });

  it('diagnose: a missing file (exit 2)', async () => {
    expect(await failing(['diagnose', '--json', missing], 2, `codadump: error: ${missing}: cannot read: ENOENT (no such file or directory, open '${missing}')\n`)).toEqual({ error: enoent('open') });
  });

  it('repair: a missing file (exit 2), nothing written', async () => {
    const out = join(t.dir, 'repaired.dump');
    expect(await failing(['repair', '--json', missing, '-o', out], 2, `codadump: error: ${missing}: cannot read: ENOENT (no such file or directory, open '${missing}')\n`)).toEqual({ error: enoent('open') });
    expect(readdirSync(t.dir)).toEqual([]);
  });

  it('extract: a usage error raised by the command (exit 2)', async () => {
    const j = await failing(['extract', '--json', sample('server-sample-full.dump')], 2, "codadump: extract needs exactly one of -C DIR or --tar FILE\nTry 'codadump --help'.\n");
    expect(j).toEqual({ error: { code: 'USAGE', message: 'extract needs exactly one of -C DIR or --tar FILE' } });
  });

  it('merge: the output is an input (exit 2)', async () => {
    const full = sample('merge-full.dump');
    const j = await failing(['merge', '--json', full, sample('merge-incremental.dump'), '-o', full], 2, `codadump: error: ${full}: the output is one of the inputs; inputs are never modified\n`);
    expect(j).toEqual({ error: { code: 'USAGE', message: 'the output is one of the inputs; inputs are never modified', file: full } });
  });

  it('pack: an existing output (exit 2); pack --json on success', async () => {
    const tree = join(t.dir, 'tree');
    mkdirSync(join(tree, 'd'), { recursive: true });
    writeFileSync(join(tree, 'd', 'f'), 'hi\n');
    const out = join(t.dir, 'tree.dump');
    const ok = await runMain(['pack', '--json', '--backup-date', '0', tree, '-o', out]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ output: out, bytes: expect.any(Number), directories: 2, files: 1, skipped: [] });
    const j = await failing(['pack', '--json', tree, '-o', out], 2, `codadump: error: ${out}: ${out} already exists (use --force to replace it)\n`);
    expect(j).toEqual({ error: { code: 'EXISTS', message: `${out} already exists (use --force to replace it)`, file: out } });
  });

  it('redump: its own result document carries the error (exit 2)', async () => {
    const out = sample('merge-full.dump');
    const j = await failing(['redump', '--json', '-o', out, '--tree', t.dir], 2, `codadump: error: ${out} already exists (use --force to replace it)\n`);
    expect(j).toEqual({ ok: false, path: out, committed: false, error: { code: 'EXISTS', message: `${out} already exists (use --force to replace it)`, file: out } });
  });

  it('simulate: a bad option value from the library (exit 2)', async () => {
    const j = await failing(['simulate', '--json', sample('server-sample-full.dump'), '--receiver', 'A', '-o', join(t.dir, 's.dump'), '--wrap-bits', '60'], 2,
      'codadump: error: <input>: --wrap-bits must be a whole number from 1 to 48, got 60\n');
    expect(j).toEqual({ error: { code: 'USAGE', message: '--wrap-bits must be a whole number from 1 to 48, got 60' } });
  });

  it('arguments that do not parse: --json is read from the raw arguments (exit 2)', async () => {
    const j = await failing(['verify', '--json'], 2, "codadump: Not enough non-option arguments: got 0, need at least 1\nTry 'codadump --help'.\n");
    expect(j).toEqual({ error: { code: 'USAGE', message: 'Not enough non-option arguments: got 0, need at least 1' } });
    expect(await failing(['redump', '--json', '-'], 2, "codadump: Missing required argument: output\nTry 'codadump --help'.\n")).toEqual({
      error: { code: 'USAGE', message: 'Missing required argument: output' },
    });
    // --no-json after --json: no document.
    const r = await runMain(['verify', '--json', '--no-json']);
    expect([r.code, r.stdout]).toEqual([2, '']);
  });
});
