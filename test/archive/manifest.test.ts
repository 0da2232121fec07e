/** Fixity manifests: the documented line format, syntax errors with file and line, changed/added/gone, and the CLI. */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendManifest, checkAgainst, formatManifest, parseManifest, readManifest } from '../../src/archive/manifest.js';
import { DumpError } from '../../src/diagnostics/errors.js';
import { SAMPLES, run, sha256File, tempDir } from '../helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());
const H = (c: string) => c.repeat(64);

describe('manifest format', () => {
  it('formats and parses the documented lines', () => {
    const text = formatManifest([{ path: 'a b/x.dump', sha256: H('a'), size: 12, files: new Map([['10.7', H('c')], ['2.3', H('b')]]) }]);
    expect(text).toBe(`codadump-manifest 1\ndump ${H('a')} 12 a b/x.dump\nfile 2.3 ${H('b')}\nfile 10.7 ${H('c')}\n`);
    const m = parseManifest(`# made by hand\n\n${text}`, '/m/manifest');
    expect(m.entries).toEqual([{ path: 'a b/x.dump', sha256: H('a'), size: 12, files: new Map([['2.3', H('b')], ['10.7', H('c')]]) }]);
  });

  it('a line that cannot be read is fatal, naming file and line', () => {
    const err = (text: string) => {
      try {
        parseManifest(text, 'm.txt');
      } catch (e) {
        expect(e).toBeInstanceOf(DumpError);
        return (e as DumpError).describe();
      }
      throw new Error('no error');
    };
    expect(err('hello\n')).toBe("m.txt: line 1: not a codadump manifest (want 'codadump-manifest 1' first)");
    expect(err(`codadump-manifest 1\nfile 2.3 ${H('b')}\n`)).toBe("m.txt: line 2: a 'file' line before any 'dump' line");
    expect(err(`codadump-manifest 1\ndump ${H('a')} 12 x\nfile 2.3 zz\n`)).toBe('m.txt: line 3: cannot read "file 2.3 zz"');
    expect(err('')).toBe('m.txt: empty manifest');
  });

  it('changed (with its files), added, gone; gone only within what was verified', () => {
    const m = parseManifest(
      `codadump-manifest 1\ndump ${H('a')} 10 d/one\nfile 2.3 ${H('1')}\nfile 4.4 ${H('2')}\ndump ${H('b')} 20 d/two\ndump ${H('c')} 30 e/three\n`,
      '/arch/manifest',
    );
    const r = checkAgainst(m, [
      { path: '/arch/d/one', size: 10, sha256: H('f'), fileDigests: new Map([['2.3', H('1')], ['4.4', H('9')], ['6.5', H('3')]]) },
      { path: '/arch/d/new', size: 5, sha256: H('e') },
    ], ['/arch/d']);
    expect(r.changed).toEqual([{ path: '/arch/d/one', files: { changed: ['4.4'], added: ['6.5'], removed: [] } }]);
    expect(r.added).toEqual(['/arch/d/new']);
    expect(r.gone).toHaveLength(1);
    expect(r.gone[0]).toMatch(/d\/two$/); // e/three is outside what was verified
    expect(r.findings.map((f) => f.code)).toEqual(['MANIFEST_CHANGED', 'MANIFEST_ADDED', 'MANIFEST_GONE']);
  });

  it('appendManifest adds or replaces entries by path, creating the file', async () => {
    const f = join(t.dir, 'append.manifest');
    await appendManifest(f, [{ path: 'x', sha256: H('a'), size: 1, files: new Map() }]);
    await appendManifest(f, [{ path: 'y', sha256: H('b'), size: 2, files: new Map() }, { path: 'x', sha256: H('c'), size: 3, files: new Map() }]);
    expect((await readManifest(f)).entries.map((e) => [e.path, e.sha256, e.size])).toEqual([['y', H('b'), 2], ['x', H('c'), 3]]);
  });
});

describe('verify --deep --manifest / --against', () => {
  it('a flipped bit inside file data: structure says ok, the manifest says which file changed', () => {
    const dir = join(t.dir, 'run');
    cpSync(join(SAMPLES, 'backup-run'), dir, { recursive: true, verbatimSymlinks: true });
    const m = join(t.dir, 'run.manifest');
    const w = run(['verify', '--deep', '--manifest', m, dir]);
    expect(w.code).toBe(0);
    expect(w.stdout).toContain(`manifest written: ${m}\n`);
    const lines = readFileSync(m, 'utf8').split('\n');
    expect(lines[0]).toBe('codadump-manifest 1');
    const full = join(dir, 'full/part/29Nov2026/vm-01000020');
    expect(lines[1]).toBe(`dump ${sha256File(full)} 32941 run/full/part/29Nov2026/vm-01000020`);
    expect(lines.filter((l) => l.startsWith('dump '))).toHaveLength(5);
    // Refuses to replace it without --force.
    const again = run(['verify', '--deep', '--manifest', m, dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`codadump: error: ${m}: ${m} already exists (use --force to replace it)\n`);
    // Unchanged: exit 0.
    expect(run(['verify', '--against', m, dir]).code).toBe(0);
    // Flip one bit 200 bytes before the end (inside the last file's data), remove one dump, add one.
    const b = readFileSync(full);
    b[b.length - 200] ^= 1;
    writeFileSync(full, b);
    rmSync(join(dir, 'incr/part/29Nov2026/vm-01000030'));
    cpSync(join(SAMPLES, 'server-empty-full.dump'), join(dir, 'new.dump'));
    const r = run(['verify', '--json', '--against', m, dir]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.dumps.find((d: { path: string }) => d.path === full).verdict).toBe('ok');
    expect(j.fixity).toEqual({
      manifest: m, same: 3,
      changed: [{ path: full, files: { changed: ['10.7'], added: [], removed: [] } }],
      added: [join(dir, 'new.dump')],
      gone: [join(dir, 'incr/part/29Nov2026/vm-01000030')],
    });
    const text = run(['verify', '--against', m, dir]);
    expect(text.stdout).toContain(`manifest ${m}: 3 unchanged, 1 changed, 1 added, 1 gone\n`);
    expect(text.stdout).toMatch(/^error {9}MANIFEST_CHANGED: .*vm-01000020: its bytes changed since the manifest \(32941 bytes; .*\); files changed: 10\.7$/m);
  });

  it('--manifest without --deep is a usage error', () => {
    const r = run(['verify', '--manifest', join(t.dir, 'x'), join(SAMPLES, 'server-empty-full.dump')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("codadump: --manifest needs --deep (it records SHA-256 digests)\nTry 'codadump --help'.\n");
  });
});

describe('--manifest on the writers', () => {
  it('merge and pack add the entry of what they wrote; verify --against then finds it unchanged', () => {
    const dir = join(t.dir, 'writers');
    const m = join(dir, 'out.manifest');
    const merged = join(dir, 'merged.dump');
    cpSync(join(SAMPLES, 'merge-full.dump'), join(dir, 'full.dump'));
    let r = run(['merge', '--manifest', m, '-o', merged, join(dir, 'full.dump'), join(SAMPLES, 'merge-incremental.dump')]);
    expect(r.code).toBe(0);
    const tree = join(dir, 'tree');
    cpSync(join(SAMPLES, 'backup-run'), tree, { recursive: true, verbatimSymlinks: true });
    rmSync(join(tree, 'full'), { recursive: true });
    rmSync(join(tree, 'incr'), { recursive: true });
    r = run(['pack', '--manifest', m, '-o', join(dir, 'packed.dump'), tree]);
    expect(r.code).toBe(0);
    const lines = readFileSync(m, 'utf8').split('\n').filter((l) => l.startsWith('dump '));
    expect(lines).toEqual([
      `dump ${sha256File(merged)} ${readFileSync(merged).length} merged.dump`,
      `dump ${sha256File(join(dir, 'packed.dump'))} ${readFileSync(join(dir, 'packed.dump')).length} packed.dump`,
    ]);
    const v = run(['verify', '--against', m, merged, join(dir, 'packed.dump')]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`manifest ${m}: 2 unchanged, 0 changed, 0 added, 0 gone\n`);
  });
});
