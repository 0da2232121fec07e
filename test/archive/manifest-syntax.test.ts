/** MANIFEST_SYNTAX: a fixity manifest that cannot be read stops verify --against before any work (exit 2, one line). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/archive/manifest.js';
import { rejection, run, sample, tempDir } from '../helpers.js';

const t = tempDir('codadump-mansyntax-');
afterAll(() => t.cleanup());

describe('MANIFEST_SYNTAX', () => {
  it('a dump line whose digest is not 64 hex digits: file and line named, error, exit 2', async () => {
    const m = join(t.dir, 'bad.manifest');
    writeFileSync(m, 'codadump-manifest 1\n# a comment\ndump zz 2548 server-empty-full.dump\n');
    const e = await rejection(readManifest(m));
    expect(e.toFinding()).toEqual({ code: 'MANIFEST_SYNTAX', severity: 'error', offset: 0, message: 'line 3: cannot read "dump zz 2548 server-empty-full.dump"', file: m });
    const dump = sample('server-empty-full.dump');
    const r = run(['verify', '--against', m, dump]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`codadump: error: ${m}: line 3: cannot read "dump zz 2548 server-empty-full.dump"\n`);
    const j = run(['verify', '--json', '--against', m, dump]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toEqual({ error: { code: 'MANIFEST_SYNTAX', message: 'line 3: cannot read "dump zz 2548 server-empty-full.dump"', file: m } });
  });

  it('no magic line: not a manifest', async () => {
    const m = join(t.dir, 'other.txt');
    writeFileSync(m, 'hello\n');
    const r = run(['verify', '--json', '--against', m, sample('server-empty-full.dump')]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toEqual({ code: 'MANIFEST_SYNTAX', message: "line 1: not a codadump manifest (want 'codadump-manifest 1' first)", file: m });
  });
});
