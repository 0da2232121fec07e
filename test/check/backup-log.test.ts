import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredModulo, matchLog, parseBackupLog, parseBackupLogFull, parseRelocation, relocatePath } from '../../src/check/backup-log.js';
import { SAMPLES } from '../helpers.js';
import { applyLog, missingFromLog, type DumpReport } from '../../src/check/archive.js';

const LOG = [
  'Backup started',
  '02:13:07 Dumping 7f000101.1000002 to /backup/26Nov2026/7f000101.u.alice ...',
  '\t\tTransferred 59985 bytes',
  '02:14:55 Dumping 7f000201.1000002 to /backup/26Nov2026/7f000201.p.big ...',
  'some other line',
  '\t\tTransferred -636288144 bytes',
  '02:20:01 Dumping 7f000301.1000002 to /backup/26Nov2026/7f000301.failed ...',
  '02:20:09 Dumping 7f000401.1000002 to /backup/25Nov2026/7f000401.old ...',
  'VolDump completed, 4000000000 bytes dumped',
].join('\n');

describe('backup log', () => {
  const entries = parseBackupLog(LOG, '/logs/backup.log');

  it('pairs each Dumping line with its Transferred count', () => {
    expect(entries.map((e) => [e.line, e.time, e.volume, e.path, e.printed])).toEqual([
      [2, '02:13:07', '7f000101.1000002', '/backup/26Nov2026/7f000101.u.alice', 59985],
      [4, '02:14:55', '7f000201.1000002', '/backup/26Nov2026/7f000201.p.big', -636288144],
      [7, '02:20:01', '7f000301.1000002', '/backup/26Nov2026/7f000301.failed', null],
      [8, '02:20:09', '7f000401.1000002', '/backup/25Nov2026/7f000401.old', 4000000000],
    ]);
  });

  it('reads a signed 32-bit count as the true size modulo 2^32', () => {
    expect(declaredModulo(-636288144)).toBe(4294967296 - 636288144); // 3658679152
    expect(declaredModulo(59985)).toBe(59985);
    expect(declaredModulo(4000000000)).toBe(4000000000);
  });

  it('matches by exact path, else by the unique longest common path suffix', () => {
    const m = matchLog(entries, ['/srv/archive/26Nov2026/7f000101.u.alice', '/srv/archive/26Nov2026/7f000201.p.big', '/elsewhere/unrelated']);
    expect(m.get('/srv/archive/26Nov2026/7f000101.u.alice')?.line).toBe(2);
    expect(m.get('/srv/archive/26Nov2026/7f000201.p.big')?.line).toBe(4);
    expect(m.has('/elsewhere/unrelated')).toBe(false);
  });

  it('reports as missing only entries in scope of what was verified', () => {
    const found = ['/srv/archive/26Nov2026/7f000101.u.alice'];
    const m = matchLog(entries, found);
    const missing = missingFromLog(entries, new Set(m.values()), found, ['/srv/archive/26Nov2026']);
    // Same backup directory as a found dump: in scope. 25Nov2026 was not verified: out of scope.
    expect(missing.map((e) => e.line)).toEqual([4, 7]);
  });
});

describe('backup logs as Coda writes them (FORMAT.md section 6)', () => {
  // Exactly the section's lines: a time prefix on every line, then a space and two tabs before Transferred.
  const SECTION6 = [
    '',
    'Date: Sun 09/03/2006',
    '',
    '16:03:33 Dumping 7f00001f.1000029 to /backup/03Sep2006/host1-7f00001f.1000029 ...',
    '16:20:39 \t\tTransferred -636288144 bytes',
    '16:21:00 Dumping 7f000400.1000031 to /backup/03Sep2006/host1-7f00040',
    '0.01000031 ...',
    "16:21:02 VolDump (0x1000031) failed on host1 with 'Connection timed out'",
    '16:21:05 Dumping 7f0003f4.1000040 to',
    '    /backup/03Sep2006/host1-7f0003f4.01000040 ...',
    '16:21:09 \t\tTransferred 5073 bytes',
    '16:21:10 Dumping 7f0003ef.1000041 to /backup/03Sep2006/host1-7f0003ef.01000041 ...',
    '16:21:11 \t\tTransferred 2544 bytes',
    '03:58:19 Attempting to retry any failed operations.',
    '03:58:19 Successfully backed-up Volumes:',
    '03:58:19 0x7f0003f4 (incremental)       f:u.satya2',
    '03:58:19 0x7f0003ef                     f:u.mre',
    '03:58:19 Only partially successfully backed-up Volumes:',
    '03:58:19 0x7f000400 \t(MD )\tf:u.other',
    '03:58:19 Volumes that FAILED backup:',
    '03:58:19 Volumes that were NOT backed-up:',
    '03:58:19 0x7f000394                     t.test',
    'date: Mon 01/05/98',
    '04:00:00 Dumping 1000020.1000020 to /backup/05Jan1998/vm-01000020 ...',
    '04:00:01   Transferred 32941 bytes',
    '04:00:02 Successfully backed-up Volumes:',
    '04:00:02 0x 1000020 (incremental)\tlevel 1 bknr',
  ].join('\n');
  const log = parseBackupLogFull(SECTION6, '/logs/backuplogs.03Sep06');

  it('reads time-prefixed lines, wrapped Dumping lines, failed dumps and date lines', () => {
    expect(log.dumps.map((e) => [e.line, e.date, e.time, e.volumeId, e.replicaId, e.path, e.printed, e.kind, e.level])).toEqual([
      [4, '2006-09-03', '16:03:33', '7f00001f', '01000029', '/backup/03Sep2006/host1-7f00001f.1000029', -636288144, null, null],
      [6, '2006-09-03', '16:21:00', '7f000400', '01000031', '/backup/03Sep2006/host1-7f000400.01000031', null, null, null],
      [9, '2006-09-03', '16:21:05', '7f0003f4', '01000040', '/backup/03Sep2006/host1-7f0003f4.01000040', 5073, 'incremental', null],
      [12, '2006-09-03', '16:21:10', '7f0003ef', '01000041', '/backup/03Sep2006/host1-7f0003ef.01000041', 2544, 'full', 0],
      [24, '1998-01-05', '04:00:00', '01000020', '01000020', '/backup/05Jan1998/vm-01000020', 32941, 'incremental', 1],
    ]);
    expect(log.dates).toEqual(['2006-09-03', '1998-01-05']);
    // The negative count is the true size modulo 2^32: 3,658,679,152 and 7,953,646,448 both print it.
    expect(declaredModulo(log.dumps[0].printed!)).toBe(3658679152);
    expect(declaredModulo(log.dumps[0].printed!)).toBe(7953646448 % 2 ** 32);
  });

  it('reads the closing sections: markers, levels, stage letters, comments', () => {
    expect(log.summary.map((s) => [s.line, s.section, s.volumeId, s.incremental, s.level, s.stages, s.comment, s.dumps])).toEqual([
      [16, 'successful', '7f0003f4', true, null, null, 'f:u.satya2', [2]],
      [17, 'successful', '7f0003ef', false, null, null, 'f:u.mre', [3]],
      [19, 'partial', '7f000400', false, null, 'MD ', 'f:u.other', [1]],
      [22, 'not-backed-up', '7f000394', false, null, null, 't.test', []],
      [27, 'successful', '01000020', true, 1, null, 'bknr', [4]],
    ]);
  });

  it('ignores unknown lines and survives a log cut anywhere', () => {
    for (let cut = 0; cut <= SECTION6.length; cut += 7) expect(() => parseBackupLogFull(SECTION6.slice(0, cut))).not.toThrow();
    expect(parseBackupLogFull('garbage\n\u0000\u00ff\n12:00:00 Dumping\n').dumps).toEqual([]);
  });

  it('the real logs of the backup-run sample', () => {
    const dir = join(SAMPLES, 'backup-run');
    const full = parseBackupLogFull(readFileSync(join(dir, 'backuplog.29Nov2026.full'), 'latin1'), 'full.log');
    const incr = parseBackupLogFull(readFileSync(join(dir, 'backuplog.29Nov2026.incr'), 'latin1'), 'incr.log');
    expect(full.dumps.map((e) => [e.line, e.date, e.time, e.volume, e.volumeId, e.replicaId, e.path, e.printed, e.kind])).toEqual([
      [10, '2026-11-29', '15:07:15', '1000020.1000020', '01000020', '01000020', '/backup/full/part/29Nov2026/vm-01000020', 32941, 'full'],
      [13, '2026-11-29', '15:07:15', '7f000001.1000012', '7f000001', '01000012', '/backup/full/part/29Nov2026/vm-7f000001.01000012', 2544, 'full'],
    ]);
    expect(incr.dumps.map((e) => [e.line, e.volumeId, e.printed, e.kind, e.level])).toEqual([
      [12, '01000030', 8101, 'full', 0],
      [15, '01000020', 5073, 'incremental', 1],
      [18, '7f000001', 345, 'incremental', 1],
    ]);
    expect(full.summary.map((s) => [s.section, s.volumeId, s.comment])).toEqual([
      ['successful', '01000020', 'bknr'],
      ['successful', '7f000001', 'bkrep'],
      ['not-backed-up', '7f000000', 'testvol'],
    ]);
  });

  it('--relocate: a log path under FROM is read under DIR', () => {
    const e = parseBackupLog('15:07:15 Dumping 1000020.1000020 to /backup/full/part/29Nov2026/vm-01000020 ...\n', '/x/log', { relocate: [parseRelocation('/backup=/srv/copy')!] });
    expect(e[0].resolved).toBe('/srv/copy/full/part/29Nov2026/vm-01000020');
    expect(relocatePath('/backupX/a', [{ from: '/backup', to: '/srv' }])).toBe('/backupX/a');
    expect(parseRelocation('backup=/x')).toBeNull();
    expect(parseRelocation('/backup=')).toBeNull();
  });
});

describe('a negative Transferred count compared modulo 2^32', () => {
  const e = parseBackupLog('16:03:33 Dumping 7f00001f.1000029 to /backup/03Sep2006/host1-7f00001f.1000029 ...\n16:20:39 \t\tTransferred -636288144 bytes\n', '/l/backuplogs.03Sep06')[0];
  const report = (size: number): DumpReport => ({
    path: '/a/host1-7f00001f.1000029', verdict: 'ok', size, streamLength: size, bytesChecked: size, problems: [], suppressed: {},
    header: { volumeId: 1, parentId: 0x01000029, name: 'x.backup', incremental: 0, backupDate: 0, oldest: 1, latest: 1 }, groupId: 0,
    counts: { directories: 1, files: 0, removed: 0 },
  });
  it('3,658,679,152 bytes: the count is the size', () => {
    const r = report(3658679152);
    applyLog(r, e);
    expect(r.problems).toEqual([]);
    expect(r.log).toMatchObject({ printed: -636288144, declaredModulo: 3658679152, date: null, time: '16:03:33', volumeId: '7f00001f', replicaId: '01000029' });
  });
  it('7,953,646,448 bytes: it matches only modulo 2^32', () => {
    const r = report(7953646448);
    applyLog(r, e);
    expect(r.problems.map((p) => [p.code, p.severity, p.offset])).toEqual([['LOG_SIZE_MODULO', 'info', 7953646448]]);
    expect(r.verdict).toBe('ok');
  });
  it('one byte short: a mismatch', () => {
    const r = report(3658679151);
    applyLog(r, e);
    expect(r.problems.map((p) => [p.code, p.offset, p.message])).toEqual([
      ['LOG_SIZE_MISMATCH', 3658679151, 'backup log /l/backuplogs.03Sep06:1 says Transferred -636288144 bytes (3658679152 mod 2^32), the file has 3658679151 (3658679151 mod 2^32) (1 bytes missing if the dump was under 4 GiB)'],
    ]);
  });
});
