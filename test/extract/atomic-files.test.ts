/**
 * DirSink writes each file under a temporary name and renames it into place
 * when complete: what a concurrent writer or a killed run leaves is handled.
 * (The kills themselves: test/fuzz/kills.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirSink, type SinkContext } from '../../src/extract/sinks.js';
import type { ProblemReport } from '../../src/extract/plan.js';
import { tempDir } from '../helpers.js';

const t = tempDir('codadump-atomicfiles-');
afterAll(() => t.cleanup());

const META = { vnode: 2, unique: 7, mode: 0o644, mtime: 1_700_000_000, owner: 0 };

function context(): SinkContext & { problems: ProblemReport[] } {
  const problems: ProblemReport[] = [];
  return { problems, report: (p) => problems.push(p), stats: { dirs: 0, files: 0, symlinks: 0, links: 0, bytes: 0 } };
}

/** A pid no process has now (a child that has exited and been reaped). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('extract -C: one file at a time under a temporary name', () => {
  it('in a directory it did not create: removes dead runs\' leftovers (also 25-byte names), keeps a live one\'s and other files', async () => {
    const dir = join(t.dir, 'existing');
    mkdirSync(dir);
    const dead = deadPid();
    const names = [`.a.${dead}.0123456789ab.partial`, `.longer-name.${dead}.ffffffffffff.partial`, `.a.${process.pid}.0123456789ab.partial`, `.a.${dead}.0123.partial`, 'a'];
    for (const n of names) writeFileSync(join(dir, n), 'x');
    const ctx = context();
    const sink = await DirSink.open(dir, { force: false, sameOwner: false }, ctx);
    await sink.finish();
    expect(readdirSync(dir).sort()).toEqual([`.a.${dead}.0123.partial`, `.a.${process.pid}.0123456789ab.partial`, 'a'].sort());
    expect(ctx.problems).toEqual([]);
  });

  it('a name taken while the file was written (no --force): EXISTS, the other file kept, no temporary file left', async () => {
    const dir = join(t.dir, 'race');
    mkdirSync(dir);
    const ctx = context();
    const sink = await DirSink.open(dir, { force: false, sameOwner: false }, ctx);
    async function* data() {
      yield Buffer.from('ours, ');
      // Another writer takes the name while ours is still being written.
      writeFileSync(join(dir, 'f'), 'theirs');
      expect(readdirSync(dir).filter((n) => n.endsWith('.partial'))).toHaveLength(1);
      yield Buffer.from('complete');
    }
    await sink.file(['f'], META, data(), 14);
    await sink.finish();
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('theirs');
    expect(readdirSync(dir)).toEqual(['f']);
    expect(ctx.problems).toEqual([{ code: 'EXISTS', path: 'f', vnode: 2, unique: 7, message: 'exists; not overwritten (--force replaces it)' }]);
    expect(ctx.stats.files).toBe(0);
  });

  it('with --force the complete file replaces the other one in one step', async () => {
    const dir = join(t.dir, 'force');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'old');
    const ctx = context();
    const sink = await DirSink.open(dir, { force: true, sameOwner: false }, ctx);
    async function* data() {
      // Until the end, the old file is still whole under the name.
      expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('old');
      yield Buffer.from('new bytes');
    }
    await sink.file(['f'], META, data(), 9);
    await sink.finish();
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('new bytes');
    expect(readdirSync(dir)).toEqual(['f']);
    expect(ctx.problems).toEqual([]);
  });
});
