/** Replicas compared: same-day dumps of replicas of one volume, vnodes in one only, file data that differs (--deep). */
import { describe, expect, it } from 'vitest';
import { compareReplicas } from '../../src/archive/replicas.js';
import type { DumpReport } from '../../src/check/archive.js';
import { run } from '../helpers.js';

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
  it('vnodes in one only, and file data that differs, per day', () => {
    const { differences, findings } = compareReplicas([
      dump('/a/s1-7f000005.01000001', 0x01000001, ['1.1', '2.2', '4.3'], { '2.2': 'aa', '4.3': 'bb' }),
      dump('/a/s2-7f000005.01000002', 0x01000002, ['1.1', '2.2', '6.4'], { '2.2': 'ab', '6.4': 'cc' }),
      dump('/a/s3-7f000005.01000003', 0x01000003, ['1.1', '2.2', '4.3'], { '2.2': 'aa', '4.3': 'bb' }),
      // A damaged dump is not compared.
      dump('/a/s4-7f000005.01000004', 0x01000004, ['1.1'], undefined, 'truncated'),
    ]);
    expect(differences).toEqual([{
      volume: '7f000005', day: '2006-09-03',
      a: { path: '/a/s1-7f000005.01000001', replica: '01000001' }, b: { path: '/a/s2-7f000005.01000002', replica: '01000002' },
      onlyA: ['4.3'], onlyB: ['6.4'], differ: ['2.2'],
    }]);
    expect(findings.map((f) => [f.code, f.severity, f.message])).toEqual([
      ['REPLICA_VNODES_DIFFER', 'warning', 'volume 7f000005, 2006-09-03: replica 01000001 (/a/s1-7f000005.01000001) and replica 01000002 (/a/s2-7f000005.01000002) hold different vnodes: only in 01000001: 4.3; only in 01000002: 6.4'],
      ['REPLICA_CONTENT_DIFFERS', 'warning', 'volume 7f000005, 2006-09-03: replica 01000001 (/a/s1-7f000005.01000001) and replica 01000002 (/a/s2-7f000005.01000002): the data of 1 file(s) differ: 2.2'],
    ]);
  });

  it('the bundled archive: u.alice\'s replicas disagree on one file under --deep', () => {
    const r = run(['verify', '--deep', '--json', '--relocate', '/backup=fixtures/archive', 'fixtures/archive/part/24Nov2025']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).replicas).toEqual([{
      volume: '7f000101', day: '2025-11-24',
      a: { path: 'fixtures/archive/part/24Nov2025/srv1-7f000101.01000102', replica: '01000102' },
      b: { path: 'fixtures/archive/part/24Nov2025/srv2-7f000101.01000103', replica: '01000103' },
      onlyA: [], onlyB: [], differ: ['2.6'],
    }]);
  });
});
