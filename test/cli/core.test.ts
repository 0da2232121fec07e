/** The CLI for inspect, ls, verify: output, --json shapes, exit codes, one-line errors. */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, run, sample, tempDir } from '../helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());
const full = sample('server-sample-full.dump');

describe('codadump CLI', () => {
  it('--version and --help', () => {
    const v = run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const h = run(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['inspect', 'ls', 'pack', 'verify']) expect(h.stdout).toContain(`codadump ${c}`);
  });

  it('usage errors exit 2 with one line and a hint', () => {
    const r = run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("codadump: name a command (see --help)\nTry 'codadump --help'.\n");
    const u = run(['frobnicate']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('Unknown argument: frobnicate');
  });

  it('inspect --json has the documented shape and values', () => {
    const r = run(['inspect', '--json', full]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.header).toEqual({ version: 2, volumeId: 0x01000200, parentId: 0x7f00001f, name: 'sample.s3', backupDate: 1795667291, incremental: 0, oldest: 1157499995, latest: 1157499995 });
    expect(j.volume).toMatchObject({ id: 0x01000200, name: 'sample.s3', partition: '/srv/coda-vice/vicepa', type: 2, nextUniquifier: 57, fileCount: 52, diskUsed: 827, weekUse: [0, 0, 0, 0, 0, 0, 0] });
    expect(j.large).toEqual({ declared: 4, lists: 8, records: 4, removed: 0 });
    expect(j.small).toEqual({ declared: 52, lists: 52, records: 52, removed: 0 });
    expect(j.streamLength).toBe(862101);
    expect(j.fileSize).toBe(862101);
  });

  it('inspect text and --vnodes, also from stdin', () => {
    const r = run(['inspect', '--vnodes', '-'], { input: readFileSync(full) });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  large index declared 4, lists 8, records 4\n');
    expect(r.stdout).toContain('  stream      862101 bytes\n');
    expect(r.stdout).toMatch(/^ {2}4\.6 {10}symlink lrwxrwxrwx {9}17 2006-09-05T23:46:30Z parent 1\.1$/m);
    expect(r.stdout.split('\n').filter((l) => /^ {2}\d+\.\d+ /.test(l))).toHaveLength(56);
  });

  it('ls: tar-like lines with the symbolic link target; --json entries', () => {
    const r = run(['ls', full]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(56);
    expect(lines[0]).toBe('drwxr-xr-x     0       2048 2006-09-05 23:45:00 .');
    expect(lines).toContain('lrwxrwxrwx     0         17 2006-09-05 23:46:30 latest -> docs/report-0.txt');
    const j = JSON.parse(run(['ls', '--json', full]).stdout);
    expect(j).toHaveLength(56);
    expect(j.find((e: { path: string }) => e.path === 'latest')).toEqual({ path: 'latest', vnode: 4, unique: 6, type: 'symlink', mode: 511, size: 17, mtime: 1157499990, owner: 0, target: 'docs/report-0.txt' });
    expect(j.find((e: { path: string }) => e.path === 'README')).toEqual({ path: 'README', vnode: 2, unique: 5, type: 'file', mode: 420, size: 11, mtime: 1157499990, owner: 0 });
  });

  it('bad input: not a dump, truncated, missing, unreadable — one line, file and offset, exit 2', () => {
    const text = join(t.dir, 'notes.txt');
    writeFileSync(text, 'hello world\n');
    let r = run(['inspect', text]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: ${text}: at byte 0: not a Coda dump: starts with 68656c6c6f (want 01b3a11322)\n`);
    const cut = join(t.dir, 'cut.dump');
    writeFileSync(cut, readFileSync(full).subarray(0, 9300));
    r = run(['ls', cut]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: ${cut}: at byte 9300: input ends at byte 9300 inside a VNODE (5) record that starts at byte 9198\n`);
    r = run(['inspect', join(t.dir, 'missing.dump')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^codadump: error: .*missing\.dump: cannot read: ENOENT \(no such file or directory, open '.*'\)\n$/);
    r = run(['ls', t.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: ${t.dir}: is a directory\n`);
  });

  it('verify: exit 0 for good dumps, 1 for damage, 2 when nothing can be read', () => {
    const ok = run(['verify', '--jobs', '1', sample('server-empty-full.dump'), sample('merge-incremental.dump')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok {12}.*server-empty-full\.dump {2}2548 bytes$/m);
    expect(ok.stdout).toContain('2 dumps: 2 ok, 0 damaged; 0 other files skipped;');
    const cut = join(t.dir, 'cut2.dump');
    writeFileSync(cut, readFileSync(full).subarray(0, 500_000));
    const bad = run(['verify', cut]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^truncated +.*cut2\.dump {2}500000 bytes {2}TRUNCATED at byte 500000: input ends inside the file data of vnode \d+\.\d+ \(\d+ of \d+ bytes missing\)$/m);
    const none = run(['verify', join(t.dir, 'nothing-here')]);
    expect(none.code).toBe(2);
  });

  it('verify of the bundled archive (npm start): verdicts, aliases, logs, missing dump, restore chains', () => {
    const r = run(['verify', '--json', '--relocate', '/backup=fixtures/archive', '--log', 'fixtures/archive/backuplogs', 'fixtures/archive']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    const rel = (p: string) => p.replace('fixtures/archive/', '');
    const v = Object.fromEntries(j.dumps.map((d: { path: string; verdict: string; aliases: string[] }) => [rel(d.path), [d.verdict, d.aliases.map(rel)]]));
    expect(v).toEqual({
      'part/24Nov2025/srv1-7f00001f': ['ok', ['24Nov2025/srv1/7f00001f']],
      'part/24Nov2025/srv1-7f000101.01000102': ['ok', ['24Nov2025/srv1/7f000101.01000102']],
      'part/24Nov2025/srv1-7f000201.01000202': ['corrupt', ['24Nov2025/srv1/7f000201.01000202']],
      'part/24Nov2025/srv2-7f000101.01000103': ['ok', ['24Nov2025/srv2/7f000101.01000103']],
      'part/25Nov2025/srv1-7f000101.01000102': ['ok', ['25Nov2025/srv1/7f000101.01000102']],
      'part/25Nov2025/srv1-7f000201.01000202': ['ok', ['25Nov2025/srv1/7f000201.01000202']],
      'part/25Nov2025/srv2-7f000101.01000103': ['truncated', ['25Nov2025/srv2/7f000101.01000103']],
      'part/26Nov2025/srv1-7f000101.01000102': ['corrupt', ['26Nov2025/srv1/7f000101.01000102']],
      'part/26Nov2025/srv1-7f000201.01000202': ['ok', ['26Nov2025/srv1/7f000201.01000202']],
      'part/26Nov2025/srv2-7f000101.01000103': ['trailing-data', ['26Nov2025/srv2/7f000101.01000103']],
    });
    const trunc = j.dumps.find((d: { path: string }) => d.path.endsWith('25Nov2025/srv2-7f000101.01000103'));
    expect(trunc.problems.map((p: { code: string; offset: number }) => [p.code, p.offset])).toEqual([['TRUNCATED', 14797], ['LOG_SIZE_MISMATCH', 14797]]);
    expect(trunc.log).toMatchObject({ file: 'fixtures/archive/backuplogs/backuplogs.25Nov2025', line: 8, printed: 61122, declaredModulo: 61122, date: '2025-11-25', kind: 'incremental' });
    expect(trunc.layout).toEqual({ run: '25Nov2025', day: '2025-11-25', server: 'srv2', volumeId: '7f000101', replicaId: '01000103' });
    expect(j.missing).toEqual([{ path: '/backup/part/26Nov2025/srv1-7f000301.01000302', volume: '7f000301.1000302', log: 'fixtures/archive/backuplogs/backuplogs.26Nov2025', line: 14, printed: 48213 }]);
    expect(j.summary).toMatchObject({ dumps: 10, ok: 6, damaged: 4, skippedFiles: 5, missing: 1, aliases: 10, volumes: 4, unrestorable: 3 });
    expect(j.findings.filter((f: { code: string }) => f.code !== 'ARCHIVE_ALIAS').map((f: { code: string }) => f.code)).toEqual(['LOG_MISSING', 'LOG_NOT_SOUND', 'LOG_NOT_SOUND', 'LOG_NOT_SOUND', 'LOG_NOT_SOUND', 'LOG_NOT_SOUND']);
    expect(j.findings.find((f: { code: string }) => f.code === 'LOG_MISSING').message).toBe('/backup/part/26Nov2025/srv1-7f000301.01000302: named by fixtures/archive/backuplogs/backuplogs.26Nov2025:14 (volume 7f000301.1000302), not found');
    expect(j.volumes.map((x: { volume: string; name: string; restorable: boolean }) => [x.volume, x.name, x.restorable])).toEqual([
      ['7f000101', 'u.alice', false], ['7f000201', 'p.venus', false], ['7f000301', 's.shared', false], ['7f00001f', 'sample.s3', true],
    ]);
    // The broken chain: a corrupt full makes both incrementals over it unrestorable.
    expect(j.volumes[1].replicas).toEqual([{ replica: '01000202', server: 'srv1', points: [
      { date: '2025-11-24', full: 'fixtures/archive/part/24Nov2025/srv1-7f000201.01000202', restorable: false, code: 'CHAIN_FULL_DAMAGED', reason: 'its full dump fixtures/archive/part/24Nov2025/srv1-7f000201.01000202 is corrupt' },
      { date: '2025-11-25', full: 'fixtures/archive/part/24Nov2025/srv1-7f000201.01000202', incremental: 'fixtures/archive/part/25Nov2025/srv1-7f000201.01000202', restorable: false, code: 'CHAIN_FULL_DAMAGED', reason: 'its full dump fixtures/archive/part/24Nov2025/srv1-7f000201.01000202 is corrupt' },
      { date: '2025-11-26', full: 'fixtures/archive/part/24Nov2025/srv1-7f000201.01000202', incremental: 'fixtures/archive/part/26Nov2025/srv1-7f000201.01000202', restorable: false, code: 'CHAIN_FULL_DAMAGED', reason: 'its full dump fixtures/archive/part/24Nov2025/srv1-7f000201.01000202 is corrupt' },
    ] }]);
    expect(j.volumes[2]).toEqual({ volume: '7f000301', name: 's.shared', restorable: false, missing: ['/backup/part/26Nov2025/srv1-7f000301.01000302'], replicas: [] });
    // Text: the volume table, volumes not restorable first.
    const text = run(['verify', '--relocate', '/backup=fixtures/archive', '--log', 'fixtures/archive/backuplogs', 'fixtures/archive']);
    expect(text.code).toBe(1);
    const table = text.stdout.slice(text.stdout.indexOf('volume    name'));
    expect(table.split('\n').map((l) => l.slice(0, 60))).toEqual([
      'volume    name       replicas  newest restorable point',
      '7f000101  u.alice           2  NOT RESTORABLE as of 2025-11-',
      '7f000201  p.venus           1  NOT RESTORABLE as of 2025-11-',
      '7f000301  s.shared          0  NO DUMP HERE: the log names /',
      '7f00001f  sample.s3         1  2025-11-24  fixtures/archive/',
      '',
      '4 volumes: 1 restorable as of their newest day, 3 not',
      '',
    ]);
    expect(table).toContain('newest restorable: 2025-11-25  fixtures/archive/part/24Nov2025/srv1-7f000101.01000102 + fixtures/archive/part/25Nov2025/srv1-7f000101.01000102\n');
    // Without --relocate the run directories' links dangle, and say how to fix it.
    const plain = run(['verify', 'fixtures/archive/24Nov2025']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toBe('codadump: error: fixtures/archive/24Nov2025: no dump files found (4 links dangle: if the archive was moved off its host, say where with --relocate FROM=DIR)\n');
  });

  it('never modifies its input', () => {
    const p = join(t.dir, 'ro.dump');
    writeFileSync(p, readFileSync(full));
    chmodSync(p, 0o444);
    const before = readFileSync(p);
    expect(run(['verify', '--deep', p]).code).toBe(0);
    expect(readFileSync(p).equals(before)).toBe(true);
  });
});
