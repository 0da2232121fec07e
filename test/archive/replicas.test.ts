/** Replicas compared: same-day dumps of replicas of one volume, vnodes in one only, file data that differs (--deep). */
import { describe, expect, it } from 'vitest';
import { compareReplicas } from '../../src/archive/replicas.js';
import type { DumpReport } from '../../src/check/archive.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from '../helpers.js';

function dump(path: string, replica: number, vnodes: string[], digests?: Record<string, string>, verdict: DumpReport['verdict'] = 'ok'): DumpReport {
  return {
    path, verdict, size: 100, streamLength: 100, bytesChecked: 100, problems: [], suppressed: {},
    header: { volumeId: replica + 0x10, parentId: replica, name: 'v.0.backup', incremental: 0, backupDate: 0, oldest: 5, latest: 5 },
    groupId: 0, counts: { directories: 1, files: vnodes.length - 1, removed: 0 },
    layout: { run: '03Sep2006', day: '2006-09-03', volumeId: '7f000005', replicaId: replica.toString(16).padStart(8, '0') },
    vnodes, ...(digests ? { fileDigests: new Map(Object.entries(digests)) } : {}),
  };
}

describe('replicas compared', () => {
  it('vnodes in one only, and file data that differs, per day (named by vnode when the dumps cannot be listed)', async () => {
    const { differences, findings } = await compareReplicas([
      dump('/a/s1-7f000005.01000001', 0x01000001, ['1.1', '2.2', '4.3'], { '2.2': 'aa', '4.3': 'bb' }),
      dump('/a/s2-7f000005.01000002', 0x01000002, ['1.1', '2.2', '6.4'], { '2.2': 'ab', '6.4': 'cc' }),
      dump('/a/s3-7f000005.01000003', 0x01000003, ['1.1', '2.2', '4.3'], { '2.2': 'aa', '4.3': 'bb' }),
      // A damaged dump is not compared.
      dump('/a/s4-7f000005.01000004', 0x01000004, ['1.1'], undefined, 'truncated'),
    ]);
    expect(differences).toEqual([{
      volume: '7f000005', day: '2006-09-03',
      a: { path: '/a/s1-7f000005.01000001', replica: '01000001' }, b: { path: '/a/s2-7f000005.01000002', replica: '01000002' },
      onlyA: [{ vnode: '4.3', path: null }], onlyB: [{ vnode: '6.4', path: null }], differ: [{ vnode: '2.2', path: null }],
    }]);
    expect(findings.map((f) => [f.code, f.severity, f.message])).toEqual([
      ['REPLICA_VNODES_DIFFER', 'warning', 'volume 7f000005, 2006-09-03: replica 01000001 (/a/s1-7f000005.01000001) and replica 01000002 (/a/s2-7f000005.01000002) hold different files: only in 01000001: vnode 4.3; only in 01000002: vnode 6.4'],
      ['REPLICA_CONTENT_DIFFERS', 'warning', 'volume 7f000005, 2006-09-03: replica 01000001 (/a/s1-7f000005.01000001) and replica 01000002 (/a/s2-7f000005.01000002): the data of 1 file(s) differ: vnode 2.2'],
    ]);
  });

  it('the bundled archive: u.alice\'s replicas disagree on one file under --deep', () => {
    const r = run(['verify', '--deep', '--json', '--relocate', '/backup=fixtures/archive', 'fixtures/archive/part/24Nov2025']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).replicas).toEqual([{
      volume: '7f000101', day: '2025-11-24',
      a: { path: 'fixtures/archive/part/24Nov2025/srv1-7f000101.01000102', replica: '01000102' },
      b: { path: 'fixtures/archive/part/24Nov2025/srv2-7f000101.01000103', replica: '01000103' },
      onlyA: [], onlyB: [], differ: [{ vnode: '2.6', path: 'README' }],
    }]);
  });
});

describe('replica differences are named by path', () => {
  /**
   * Three replicas of volume 7f000501 dumped the same day by `pack` (which
   * numbers vnodes in walk order, so the trees share vnode numbers, as
   * replicas share fids): replica 2 holds one file more than replica 1
   * (a create replica 1 missed) and a different notes/todo; replica 3 lacks
   * notes/todo (its notes/ is empty).
   */
  function threeReplicas(): string {
    const { dir } = tempDir();
    const day = join(dir, 'part', '27Nov2025');
    mkdirSync(day, { recursive: true });
    const trees: [string, string, string, Record<string, string | null>][] = [
      ['srv1', '01000502', '01000512', { 'docs/a.txt': 'same\n', 'notes/todo': 'first\n' }],
      ['srv2', '01000503', '01000513', { 'docs/a.txt': 'same\n', 'notes/todo': 'second\n', 'notes/zz-new': 'new\n' }],
      ['srv3', '01000504', '01000514', { 'docs/a.txt': 'same\n', notes: null }],
    ];
    const when = String(Date.UTC(2025, 10, 27, 5) / 1000);
    for (const [server, rep, clone, files] of trees) {
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(join(dir, server, rel, text === null ? '' : '..'), { recursive: true }); // null: an empty directory
        if (text !== null) writeFileSync(join(dir, server, rel), text);
      }
      const r = run(['pack', join(dir, server), '-o', join(day, `${server}-7f000501.${rep}`), '--parent-id', rep, '--volume-id', clone, '--name', 'u.bob.0.backup', '--backup-date', when]);
      expect(r.code, r.stderr).toBe(0);
    }
    return day;
  }

  it('files in one replica only, by path in the dump that holds them; --deep adds files whose data differ', () => {
    const day = threeReplicas();
    const plain = run(['verify', '--json', day]);
    expect(plain.code).toBe(0); // warnings, not damage: every dump is sound and restorable
    const d = JSON.parse(plain.stdout).replicas;
    expect(d.map((x: { a: { replica: string }; b: { replica: string }; onlyA: unknown; onlyB: unknown; differ: unknown }) => [x.a.replica, x.b.replica, x.onlyA, x.onlyB, x.differ])).toEqual([
      ['01000502', '01000503', [], [{ vnode: '6.6', path: 'notes/zz-new' }], []],
      ['01000502', '01000504', [{ vnode: '4.5', path: 'notes/todo' }], [], []],
    ]);

    const deep = run(['verify', '--deep', day]);
    expect(deep.code).toBe(0);
    const lines = deep.stdout.split('\n').filter((l) => l.includes('REPLICA_')).map((l) => l.replace(/\(\S*\/part\/27Nov2025\//g, '('));
    expect(lines).toEqual([
      'warning       REPLICA_VNODES_DIFFER: volume 7f000501, 2025-11-27: replica 01000502 (srv1-7f000501.01000502) and replica 01000503 (srv2-7f000501.01000503) hold different files: only in 01000503: notes/zz-new (6.6)',
      'warning       REPLICA_CONTENT_DIFFERS: volume 7f000501, 2025-11-27: replica 01000502 (srv1-7f000501.01000502) and replica 01000503 (srv2-7f000501.01000503): the data of 1 file(s) differ: notes/todo (4.5)',
      'warning       REPLICA_VNODES_DIFFER: volume 7f000501, 2025-11-27: replica 01000502 (srv1-7f000501.01000502) and replica 01000504 (srv3-7f000501.01000504) hold different files: only in 01000502: notes/todo (4.5)',
    ]);
  });

  it('through the backup program\'s links (--relocate): the dumps are listed again where they really are', () => {
    const r = run(['verify', '--deep', '--json', '--relocate', '/backup=fixtures/archive', 'fixtures/archive/24Nov2025']);
    const d = JSON.parse(r.stdout).replicas;
    expect(d).toHaveLength(1);
    expect(d[0].differ).toEqual([{ vnode: '2.6', path: 'README' }]);
  });

  it('a damaged dump reached through a relocated link is analysed where it is (was: ENOENT, exit 2, the report cut short)', () => {
    const r = run(['verify', '--relocate', '/backup=fixtures/archive', 'fixtures/archive/24Nov2025']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("corrupt       fixtures/archive/24Nov2025/srv1/7f000201.01000202  79253 bytes  SIZE_MISMATCH at byte 5015: declared length 'L' 40000 but FILEDATA holds 40256 bytes");
    expect(r.stdout).toContain('3 volumes: 2 restorable as of their newest day, 1 not');
  });
});
