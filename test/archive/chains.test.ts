/**
 * Restore chains on the real backup-run sample and on archives built like it:
 * a damaged full makes the following incrementals unrestorable; a full made
 * where an incremental was asked for starts a new chain; an incremental
 * whose full is not in the archive, or is another replica's, says so.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { restoreChains } from '../../src/archive/chains.js';
import { verifyArchive } from '../../src/check/archive.js';
import { SAMPLES, tempDir } from '../helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());
const RUN = join(SAMPLES, 'backup-run');

/** Overwrite dump header fields in place (FORMAT.md 3.1: tags from byte 9; p int32, I two int32). */
function patchHeader(buf: Buffer, set: { p?: number; i?: number; I?: [number, number] }): Buffer {
  const b = Buffer.from(buf);
  let o = 9;
  for (;;) {
    const tag = String.fromCharCode(b[o]);
    if (tag === 'n') {
      o += 5 + b.readUInt32BE(o + 1);
      continue;
    }
    if (tag === 'I') {
      if (set.I) {
        b.writeUInt32BE(set.I[0], o + 1);
        b.writeUInt32BE(set.I[1], o + 5);
      }
      o += 9;
      continue;
    }
    if (tag === 'v' || tag === 'p' || tag === 'b' || tag === 'i') {
      const v = set[tag as 'p' | 'i'];
      if (v !== undefined) b.writeUInt32BE(v, o + 1);
      o += 5;
      continue;
    }
    return b;
  }
}

function copyRun(name: string): string {
  const dir = join(t.dir, name);
  cpSync(RUN, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

async function chains(dir: string, logs = [dir]) {
  const report = await verifyArchive([dir], { jobs: 2, logs, relocate: [{ from: '/backup', to: dir }] });
  const rel = (p: string | null | undefined) => (p ? p.slice(dir.length + 1) : p);
  const c = restoreChains(report.dumps, report.logs);
  return {
    report,
    volumes: c.volumes.map((v) => ({
      volume: v.volume, name: v.name, restorable: v.restorable,
      replicas: v.replicas.map((r) => ({ replica: r.replica, server: r.server, points: r.points.map((p) => ({ ...p, full: rel(p.full), incremental: rel(p.incremental) })) })),
    })),
    unplaced: c.unplaced.map((u) => ({ ...u, path: rel(u.path) })),
  };
}

const F20 = 'full/part/29Nov2026/vm-01000020';
const I20 = 'incr/part/29Nov2026/vm-01000020';
const F12 = 'full/part/29Nov2026/vm-7f000001.01000012';
const I12 = 'incr/part/29Nov2026/vm-7f000001.01000012';
const F30 = 'incr/part/29Nov2026/vm-01000030';

describe('restore chains', () => {
  it('the real backup run: three volumes, each restorable as of 29Nov2026', async () => {
    const dir = copyRun('real');
    const { report, volumes, unplaced } = await chains(dir);
    expect(report.summary).toMatchObject({ dumps: 5, ok: 5, aliases: 5, missing: 0 });
    expect(report.findings.filter((f) => f.code !== 'ARCHIVE_ALIAS')).toEqual([]);
    expect(unplaced).toEqual([]);
    expect(volumes).toEqual([
      { volume: '01000020', name: 'bknr', restorable: true, replicas: [{ replica: '01000020', server: 'vm', points: [
        { date: '2026-11-29', full: F20, incremental: undefined, restorable: true },
        { date: '2026-11-29', full: F20, incremental: I20, restorable: true },
      ] }] },
      // The server made a full dump where an incremental was asked for: a chain of its own.
      { volume: '01000030', name: 'bknr2', restorable: true, replicas: [{ replica: '01000030', server: 'vm', points: [
        { date: '2026-11-29', full: F30, incremental: undefined, restorable: true },
      ] }] },
      // A replicated volume no client changed: I = (0, 0) on the full and the incremental alike.
      { volume: '7f000001', name: 'bkrep', restorable: true, replicas: [{ replica: '01000012', server: 'vm', points: [
        { date: '2026-11-29', full: F12, incremental: undefined, restorable: true },
        { date: '2026-11-29', full: F12, incremental: I12, restorable: true },
      ] }] },
    ]);
  });

  it('a damaged full makes the incremental over it unrestorable', async () => {
    const dir = copyRun('damaged-full');
    truncateSync(join(dir, F20), 20000);
    const { report, volumes } = await chains(dir);
    const v = volumes.find((x) => x.volume === '01000020')!;
    expect(v.restorable).toBe(false);
    expect(v.replicas[0].points).toEqual([
      { date: '2026-11-29', full: F20, incremental: undefined, restorable: false, code: 'CHAIN_FULL_DAMAGED', reason: `its full dump ${join(dir, F20)} is truncated` },
      { date: '2026-11-29', full: F20, incremental: I20, restorable: false, code: 'CHAIN_FULL_DAMAGED', reason: `its full dump ${join(dir, F20)} is truncated` },
    ]);
    // Not restorable volumes come first; the others are untouched.
    expect(volumes.map((x) => [x.volume, x.restorable])).toEqual([['01000020', false], ['01000030', true], ['7f000001', true]]);
    // The log called it backed up, and said 32941 bytes.
    const f = report.dumps.find((d) => d.path.endsWith(F20))!;
    expect(f.problems.map((p) => [p.code, p.offset])).toEqual([['TRUNCATED', 20000], ['LOG_SIZE_MISMATCH', 20000]]);
    expect(report.findings.filter((x) => x.code === 'LOG_NOT_SOUND').map((x) => x.message)).toEqual([
      `${join(dir, 'backuplog.29Nov2026.full')}:20 calls volume 01000020 (bknr) backed up, but its dump ${join(dir, F20)} (${join(dir, 'backuplog.29Nov2026.full')}:10) is truncated`,
    ]);
  });

  it('a damaged incremental: its point only', async () => {
    const dir = copyRun('damaged-incr');
    writeFileSync(join(dir, I20), Buffer.concat([readFileSync(join(dir, I20)), Buffer.alloc(100)]));
    const { volumes } = await chains(dir, []);
    const v = volumes.find((x) => x.volume === '01000020')!;
    expect(v.restorable).toBe(false);
    expect(v.replicas[0].points.map((p) => [p.restorable, p.code, p.reason])).toEqual([
      [true, undefined, undefined],
      [false, 'CHAIN_INCREMENTAL_DAMAGED', `its incremental ${join(dir, I20)} is trailing-data`],
    ]);
  });

  it('the server turned an incremental into a full: the next incremental applies to that full, not the older one', async () => {
    const dir = join(t.dir, 'turned');
    const full = readFileSync(join(RUN, F20));
    const incr = readFileSync(join(RUN, I20));
    const put = (rel: string, b: Buffer) => {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), b);
    };
    put('part/01Dec2026/vm-01000020', full); // stamp 6b0c3fa3
    put('part/02Dec2026/vm-01000020', patchHeader(full, { I: [0x6b0c4000, 0x6b0c4000] })); // asked incremental, made full
    put('part/03Dec2026/vm-01000020', patchHeader(incr, { I: [0x6b0c4000, 0x6b0c4100] }));
    writeFileSync(join(dir, 'backuplog.02Dec2026'), [
      'Date: Wed 12/02/2026',
      '15:07:41 Dumping 1000020.1000020 to /backup/part/02Dec2026/vm-01000020 ...',
      `15:07:41 \t\tTransferred ${full.length} bytes`,
      '15:07:41 Successfully backed-up Volumes:',
      '15:07:41 0x 1000020 (incremental)\tlevel 1 bknr',
      '',
    ].join('\n'));
    const { report, volumes } = await chains(dir);
    expect(volumes).toEqual([{ volume: '01000020', name: 'bknr', restorable: true, replicas: [{ replica: '01000020', server: 'vm', points: [
      { date: '2026-12-01', full: 'part/01Dec2026/vm-01000020', incremental: undefined, restorable: true },
      { date: '2026-12-02', full: 'part/02Dec2026/vm-01000020', incremental: undefined, restorable: true },
      { date: '2026-12-03', full: 'part/02Dec2026/vm-01000020', incremental: 'part/03Dec2026/vm-01000020', restorable: true },
    ] }] }]);
    const turned = report.dumps.find((d) => d.path.endsWith('02Dec2026/vm-01000020'))!;
    expect(turned.verdict).toBe('ok');
    expect(turned.problems.map((p) => [p.code, p.severity, p.message])).toEqual([
      ['LOG_KIND_MISMATCH', 'warning', `backup log ${join(dir, 'backuplog.02Dec2026')} lists this dump as incremental, but its header says full (i = 0): the server made a full dump instead`],
    ]);
  });

  it('an incremental whose full is not in the archive, or is of another replica', async () => {
    const dir = copyRun('missing-full');
    rmSync(join(dir, 'full'), { recursive: true });
    // A second replica of 7f000001 with an incremental and no full of its own.
    writeFileSync(join(dir, 'incr/part/29Nov2026/vm2-7f000001.01000013'), patchHeader(readFileSync(join(RUN, I12)), { p: 0x01000013 }));
    writeFileSync(join(dir, 'incr/part/29Nov2026/vm-7f000001.01000012'), readFileSync(join(RUN, F12)));
    const { volumes } = await chains(dir, []);
    // One replica's newest point is restorable: so is the volume (replicas hold the same files).
    expect(volumes.map((v) => [v.volume, v.restorable, v.replicas.map((r) => [r.replica, r.server, r.points.map((p) => [p.full, p.incremental, p.restorable, p.code, p.reason])])])).toEqual([
      ['01000020', false, [['01000020', 'vm', [[null, I20, false, 'CHAIN_FULL_MISSING', 'the full dump it was taken against (latest stamp 0x6b0c3fa3, replica 01000020) is not in the archive']]]]],
      ['01000030', true, [['01000030', 'vm', [[F30, undefined, true, undefined, undefined]]]]],
      ['7f000001', true, [
        ['01000012', 'vm', [[I12, undefined, true, undefined, undefined]]],
        ['01000013', 'vm2', [[null, 'incr/part/29Nov2026/vm2-7f000001.01000013', false, 'CHAIN_FULL_OTHER_REPLICA',
          `the full dump it was taken against (stamp 0x00000000) is not in the archive for replica 01000013; ${join(dir, I12)} has that stamp but is of replica 01000012`]]],
      ]],
    ]);
  });

  it('a failed dump (no Transferred line), a partial volume, and a dump with no header', async () => {
    const dir = copyRun('failed');
    rmSync(join(dir, 'incr'), { recursive: true });
    for (const f of ['backuplog.29Nov2026.full', 'backuplog.29Nov2026.incr']) rmSync(join(dir, f));
    writeFileSync(join(dir, 'backuplog.failed'), [
      'Date: Sun 11/29/2026',
      '15:07:15 Dumping 1000020.1000020 to /backup/full/part/29Nov2026/vm-01000020 ...',
      "15:07:16 VolDump (0x1000020) failed on vm with 'RPC2_DEAD'",
      '15:07:20 Successfully backed-up Volumes:',
      '15:07:20 Only partially successfully backed-up Volumes:',
      '15:07:20 0x 1000020 \t(C )\tbknr',
      '',
    ].join('\n'));
    // The last 3000 bytes of a dump: it ends with an end marker but has no header.
    const tail = readFileSync(join(RUN, F20)).subarray(-3000);
    writeFileSync(join(dir, 'full/part/29Nov2026/vm-01000040'), tail);
    const { report, volumes, unplaced } = await chains(dir);
    const f = report.dumps.find((d) => d.path.endsWith(F20))!;
    expect(f.verdict).toBe('ok');
    expect(f.problems.map((p) => [p.code, p.severity, p.message])).toEqual([
      ['LOG_NO_TRANSFER', 'warning', `backup log ${join(dir, 'backuplog.failed')}:2 has no Transferred line for this dump: the backup program saw it fail`],
    ]);
    expect(report.findings.filter((x) => x.code !== 'ARCHIVE_ALIAS').map((x) => [x.code, x.message])).toEqual([
      ['LOG_PARTIAL', `${join(dir, 'backuplog.failed')}:6: volume 01000020 (bknr) is listed only partially backed up, stages per replica 'C ' (L locked, C cloned, D dumped, M marked)`],
    ]);
    expect(unplaced).toEqual([{ path: 'full/part/29Nov2026/vm-01000040', code: 'CHAIN_UNKNOWN', volume: '01000040', replica: '01000040', reason: 'not a dump: its header cannot be read, so it fits no chain (volume 01000040 by its name)' }]);
    expect(volumes.map((v) => [v.volume, v.restorable])).toEqual([['01000020', true], ['7f000001', true]]);
  });
});
