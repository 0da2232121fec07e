/** The archive walk: one verify per file however many paths reach it; links, loops and dangling links counted exactly; it ends. */
import { copyFileSync, cpSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverDumps, layoutOf, runDay } from '../../src/check/walk.js';
import { SAMPLES, sample, tempDir } from '../helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());

describe('archive walk', () => {
  it('links, loops, aliases, links leaving the tree, dangling links: exact counts, nothing walked twice', async () => {
    const a = join(t.dir, 'links', 'a');
    mkdirSync(join(a, 'sub'), { recursive: true });
    mkdirSync(join(t.dir, 'links', 'outside'));
    copyFileSync(sample('server-empty-full.dump'), join(a, 'd1.dump'));
    copyFileSync(sample('merge-incremental.dump'), join(a, 'sub', 'd2.dump'));
    copyFileSync(sample('merge-full.dump'), join(t.dir, 'links', 'outside', 'x.dump'));
    linkSync(join(a, 'sub', 'd2.dump'), join(a, 'hard'));
    writeFileSync(join(a, 'notes.txt'), 'not a dump\n');
    symlinkSync('..', join(a, 'loop'));
    symlinkSync('..', join(a, 'sub', 'up'));
    symlinkSync('d1.dump', join(a, 'alias'));
    symlinkSync('../outside', join(a, 'out'));
    symlinkSync('../outside/x.dump', join(a, 'outfile'));
    symlinkSync('/backup-nowhere/x', join(a, 'gone'));
    symlinkSync('self', join(a, 'self'));
    const d = await discoverDumps([a]);
    expect(d.candidates.map((c) => [c.path.slice(a.length + 1), c.aliases.map((x) => x.slice(a.length + 1)), c.reason])).toEqual([
      ['d1.dump', ['alias'], 'header'],
      ['hard', ['sub/d2.dump'], 'header'],
      ['outfile', [], 'header'],
    ]);
    expect(d.counts).toEqual({ links: 7, aliases: 2, loops: 3, outside: 2, dangling: 1, unreadable: 0 });
    expect(d.skipped).toEqual([join(a, 'notes.txt')]);
    expect(d.findings.map((f) => [f.code, f.file!.slice(a.length + 1)])).toEqual([
      ['ARCHIVE_DANGLING', 'gone'],
      ['ARCHIVE_LOOP', 'loop'],
      ['ARCHIVE_OUTSIDE', 'out'],
      ['ARCHIVE_OUTSIDE', 'outfile'],
      ['ARCHIVE_LOOP', 'self'],
      ['ARCHIVE_LOOP', 'sub/up'],
      ['ARCHIVE_ALIAS', 'alias'],
      ['ARCHIVE_ALIAS', 'sub/d2.dump'],
    ]);
    expect(d.findings[0].message).toBe(`${join(a, 'gone')} -> /backup-nowhere/x: the target does not exist here; if the archive was moved off its host, say where /backup-nowhere is now with --relocate /backup-nowhere=DIR`);
  });

  it('the backup-run sample: dangling absolute links, or aliases with --relocate', async () => {
    const copy = join(t.dir, 'run');
    cpSync(join(SAMPLES, 'backup-run'), copy, { recursive: true, verbatimSymlinks: true });
    const plain = await discoverDumps([copy]);
    expect(plain.candidates).toHaveLength(5);
    expect(plain.counts).toEqual({ links: 5, aliases: 0, loops: 0, outside: 0, dangling: 5, unreadable: 0 });
    const moved = await discoverDumps([copy], { relocate: [{ from: '/backup', to: copy }] });
    expect(moved.counts).toEqual({ links: 5, aliases: 5, loops: 0, outside: 0, dangling: 0, unreadable: 0 });
    expect(moved.candidates.map((c) => [c.path.slice(copy.length + 1), c.aliases.map((x) => x.slice(copy.length + 1)), c.layout])).toEqual([
      ['full/part/29Nov2026/vm-01000020', ['full/29Nov2026/vm/01000020'], { run: '29Nov2026', day: '2026-11-29', server: 'vm', volumeId: '01000020' }],
      ['full/part/29Nov2026/vm-7f000001.01000012', ['full/29Nov2026/vm/7f000001.01000012'], { run: '29Nov2026', day: '2026-11-29', server: 'vm', volumeId: '7f000001', replicaId: '01000012' }],
      ['incr/part/29Nov2026/vm-01000020', ['incr/29Nov2026/vm/01000020'], { run: '29Nov2026', day: '2026-11-29', server: 'vm', volumeId: '01000020' }],
      ['incr/part/29Nov2026/vm-01000030', ['incr/29Nov2026/vm/01000030'], { run: '29Nov2026', day: '2026-11-29', server: 'vm', volumeId: '01000030' }],
      ['incr/part/29Nov2026/vm-7f000001.01000012', ['incr/29Nov2026/vm/7f000001.01000012'], { run: '29Nov2026', day: '2026-11-29', server: 'vm', volumeId: '7f000001', replicaId: '01000012' }],
    ]);
    // Only a link reaches the dump: it is read through the relocated target.
    const runDir = join(copy, 'full', '29Nov2026');
    const only = await discoverDumps([runDir], { relocate: [{ from: '/backup', to: copy }] });
    expect(only.candidates.map((c) => [c.path.slice(runDir.length + 1), c.file.slice(copy.length + 1)])).toEqual([
      ['vm/01000020', 'full/part/29Nov2026/vm-01000020'],
      ['vm/7f000001.01000012', 'full/part/29Nov2026/vm-7f000001.01000012'],
    ]);
    expect(only.counts.outside).toBe(2);
  });

  it('names: run directories and the backup program file names', () => {
    expect(runDay('29Nov2026')).toBe('2026-11-29');
    expect(runDay('03Sep06')).toBe('2006-09-03');
    expect(runDay('2025-11-24')).toBe('2025-11-24');
    expect(runDay('29Foo2026')).toBeNull();
    expect(layoutOf('/b/03Sep2006/host1/7f00001f.01000029')).toEqual({ run: '03Sep2006', day: '2006-09-03', server: 'host1', volumeId: '7f00001f', replicaId: '01000029' });
    expect(layoutOf('/p/03Sep2006/host-1-7f00001f.01000029')).toEqual({ run: '03Sep2006', day: '2006-09-03', server: 'host-1', volumeId: '7f00001f', replicaId: '01000029' });
    expect(layoutOf('/x/notes.txt')).toEqual({});
  });
});
