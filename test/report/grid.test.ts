/**
 * The archive grid from verify's result: the page tests' archive
 * (fixtures/pages/archive, see its README: per day, which dump is sound,
 * truncated, has trailing data or a broken length/directory, and one dump
 * the log names that is not on disk), and small synthetic results.
 */
import { describe, expect, it } from 'vitest';
import { verifyArchive, type DumpReport } from '../../src/check/archive.js';
import { archiveGrid, dumpChains, runDateOfPath, volumeOf, type ArchiveView } from '../../src/report/grid.js';
import { ROOT } from '../helpers.js';
import { join } from 'node:path';

const ARCHIVE = join(ROOT, 'fixtures', 'pages', 'archive');

async function sampleView(): Promise<ArchiveView> {
  return verifyArchive([ARCHIVE], { logs: [join(ARCHIVE, 'backup.log')], jobs: 2 });
}

function dump(path: string, verdict: DumpReport['verdict'], incremental: number | null, parentId = 0x7f000101): DumpReport {
  return {
    path, verdict, size: 100, streamLength: null, bytesChecked: 100, problems: [], suppressed: {},
    header: incremental === null ? null : { volumeId: parentId + 1, parentId, name: 'u.alice.backup', incremental, backupDate: 1764000000, oldest: 0, latest: 0 },
    groupId: null,
    counts: { directories: 1, files: 0, removed: 0 },
  };
}

const view = (dumps: DumpReport[]): ArchiveView => ({
  dumps, missing: [],
  summary: { dumps: dumps.length, ok: 0, damaged: 0, byVerdict: {}, skippedFiles: 0, missing: 0, bytesChecked: 0, seconds: 0 },
});

describe('archiveGrid on the sample archive', () => {
  it('has one row per volume, one column per run date, cells coloured by verdict', async () => {
    const g = archiveGrid(await sampleView());
    expect(g.dates).toEqual(['2025-11-24', '2025-11-25', '2025-11-26']);
    // The volume with no restorable point (only a missing dump) first, then by name.
    expect(g.rows.map((r) => [r.volume, r.name, r.restorable])).toEqual([
      ['7f000301', 's.shared', false],
      ['7f000201', 'p.venus', true],
      ['7f000101', 'u.alice', true],
    ]);
    const cells = g.rows.map((r) => [0, 1, 2].map((c) => (r.cells.get(c) ? `${r.cells.get(c)!.verdict}:${r.cells.get(c)!.mark}` : '')));
    expect(cells).toEqual([
      ['', '', 'missing:-'],
      ['ok:F', 'trailing-data:F', 'corrupt:F'],
      ['ok:F', 'truncated:F', 'corrupt:F'],
    ]);
    expect(g.rows.map((r) => r.damaged)).toEqual([1, 2, 2]);
  });

  it('takes restorability from restore chains when verify has them', async () => {
    const v = await sampleView();
    v.volumes = [
      { volume: '7f000101', name: 'u.alice', replicas: [{ replica: '1000002', points: [{ date: '2025-11-24', full: 'f', restorable: false, reason: 'test' }] }] },
      { volume: '0x7F000301', name: 's.shared', replicas: [{ replica: '1000002', points: [{ date: '2025-11-26', full: 'f', restorable: true }] }] },
    ];
    const g = archiveGrid(v);
    const byVol = new Map(g.rows.map((r) => [r.volume, r]));
    expect(byVol.get('7f000101')!.restorable).toBe(false);
    expect(byVol.get('7f000101')!.chainsKnown).toBe(true);
    expect(byVol.get('7f000301')!.restorable).toBe(true);
    expect(byVol.get('7f000201')!.chainsKnown).toBe(false);
    expect(g.rows[0].volume).toBe('7f000101');
  });
});

describe('grid pieces', () => {
  it('reads the run date from the last dated directory', () => {
    expect(runDateOfPath('/backup/2025-11-24/7f000101.u.alice')).toBe('2025-11-24');
    expect(runDateOfPath('/b/20240102/x/7f000101.u.alice')).toBe('2024-01-02');
    expect(runDateOfPath('/b/2024-01-02/2024-03-04_full/x')).toBe('2024-03-04');
    expect(runDateOfPath('/backup/7f000101.2025-11-24')).toBe(null); // the file name is not a directory
    // The backup program's run directories (FORMAT.md section 6), with or without a partition.
    expect(runDateOfPath('/backup/03Sep2006/host1/7f00001f.01000029')).toBe('2006-09-03');
    expect(runDateOfPath('/vicepb/24Nov2025/srv1-7f000101.01000102')).toBe('2025-11-24');
  });

  it('names the volume by the log, else the file name, else the parent id', () => {
    expect(volumeOf(dump('/b/2025-11-24/whatever', 'ok', 0, 0x7f00001f))).toEqual({ volume: '7f00001f', name: 'u.alice' });
    // A replica's parent id is its own read-write volume: the file name names the replicated volume.
    expect(volumeOf(dump('/b/24Nov2025/srv1/7f000101.01000102', 'ok', 0, 0x01000102))).toEqual({ volume: '7f000101', name: 'u.alice' });
    expect(volumeOf(dump('/p/24Nov2025/srv2-7f000101.01000103', 'ok', 0, 0x01000103))).toEqual({ volume: '7f000101', name: 'u.alice' });
    expect(volumeOf(dump('/p/24Nov2025/srv2-01000020', 'ok', 0, 0x01000020))).toEqual({ volume: '01000020', name: 'u.alice' });
    const headless = dump('/b/2025-11-24/7f0000aa.s.data', 'not-a-dump', null);
    expect(volumeOf(headless)).toEqual({ volume: '7f0000aa', name: 's.data' });
    headless.log = { file: 'l', line: 1, volume: '7F0000BB.1000002', printed: 1, declaredModulo: 1, volumeId: '7f0000bb', replicaId: '01000002', date: null, time: '01:00:00', kind: null };
    expect(volumeOf(headless)).toEqual({ volume: '7f0000bb', name: 's.data' });
    headless.log!.volume = '1000020.1000020'; // log lines do not pad ids
    expect(volumeOf(headless).volume).toBe('01000020');
  });

  it('dates without a dated directory come from the header, and one cell holds every dump of a day', () => {
    const g = archiveGrid(view([dump('/x/a', 'ok', 0), dump('/y/a', 'truncated', 0), dump('/z/b', 'not-a-dump', null)]));
    expect(g.dates).toEqual(['2025-11-24', 'undated']);
    const alice = g.rows.find((r) => r.volume === '7f000101')!;
    expect(alice.cells.get(0)).toEqual({ dumps: [0, 1], missing: [], verdict: 'truncated', mark: 'F' });
  });

  it('restore points from the dumps alone: a full that verifies, then every later run verifying', () => {
    const d = (day: string, v: DumpReport['verdict'], inc: number) => dump(`/b/${day}/7f000101.u.alice`, v, inc);
    const v = view([
      d('2025-11-01', 'corrupt', 0), d('2025-11-02', 'ok', 1), d('2025-11-03', 'ok', 0), d('2025-11-04', 'ok', 1),
      d('2025-11-05', 'truncated', 1), d('2025-11-06', 'ok', 2), d('2025-11-07', 'ok', 0),
    ]);
    const g = archiveGrid(v);
    expect(g.rows[0].cells.get(5)!.mark).toBe('I2');
    expect(dumpChains(v, g.rows[0], g.dates.length).map((p) => p.restorable)).toEqual([false, false, true, true, false, false, true]);
    expect(g.rows[0].restorable).toBe(true);
    const none = view([d('2025-11-01', 'corrupt', 0), d('2025-11-02', 'ok', 1)]);
    expect(archiveGrid(none).rows[0].restorable).toBe(false);
  });
});
