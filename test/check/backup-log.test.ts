import { describe, expect, it } from 'vitest';
import { declaredModulo, matchLog, parseBackupLog } from '../../src/check/backup-log.js';
import { missingFromLog } from '../../src/check/archive.js';

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
