/**
 * Write faults through the file-system seam: ENOSPC and EDQUOT in the middle
 * of an output, for AtomicOutput itself and for the operations that write
 * through it. The output is removed, nothing appears under the final name,
 * the input is untouched. And the temporary files a killed run leaves are
 * removed by the next run into the same directory.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicOutput, removeStaleTemps, tempName } from '../../src/io/atomic-output.js';
import { nodeFileSystem } from '../../src/io/fs.js';
import { repairFile } from '../../src/repair/repair.js';
import { mergeDumps } from '../../src/merge/merge.js';
import { faultyFs } from './faults.js';
import { rejection, sample, sha256File, tempDir } from '../helpers.js';

const t = tempDir('codadump-wfaults-');
afterAll(() => t.cleanup());
let n = 0;
const fresh = () => {
  const d = join(t.dir, `d${n++}`);
  mkdirSync(d);
  return d;
};

describe('ENOSPC and EDQUOT on write', () => {
  for (const code of ['ENOSPC', 'EDQUOT'] as const) {
    it(`AtomicOutput: ${code} after 3 MiB: DumpError IO naming it, no temporary file, no output`, () => {
      const d = fresh();
      const p = join(d, 'out.bin');
      const out = new AtomicOutput(p, { bufferSize: 0, fs: faultyFs({ write: (stored, len) => (stored + len > 3 << 20 ? code : undefined) }) });
      out.write(Buffer.alloc(2 << 20, 1));
      out.write(Buffer.alloc(1 << 20, 2));
      const err = (() => {
        try {
          out.write(Buffer.alloc(1 << 20, 3));
        } catch (e) {
          return e as { code: string; describe(): string };
        }
        throw new Error('expected a failure');
      })();
      const text = code === 'ENOSPC' ? 'no space left on device' : 'disk quota exceeded';
      expect(err.code).toBe('IO');
      expect(err.describe()).toBe(`${p}: cannot write output: ${code} (${text}, write)`);
      expect(readdirSync(d)).toEqual([]);
    });
  }

  it('repair: EDQUOT while writing the repaired dump: rejected, no output, input unchanged', async () => {
    const d = fresh();
    const out = join(d, 'repaired.dump');
    const input = sample('server-sample-full.dump');
    const before = sha256File(input);
    const err = await rejection(repairFile(input, out, { fs: faultyFs({ write: (stored, len) => (stored + len > 100_000 ? 'EDQUOT' : undefined) }) }));
    expect(err.describe()).toBe(`${out}: cannot write output: EDQUOT (disk quota exceeded, write)`);
    expect(readdirSync(d)).toEqual([]);
    expect(sha256File(input)).toBe(before);
  });

  it('merge: ENOSPC while writing the merged dump: rejected, no output', async () => {
    const d = fresh();
    const out = join(d, 'merged.dump');
    const err = await rejection(mergeDumps(sample('merge-full.dump'), [sample('merge-incremental.dump')], out, { fs: faultyFs({ write: (stored, len) => (stored + len > 50_000 ? 'ENOSPC' : undefined) }) }));
    expect(err.describe()).toBe(`${out}: cannot write output: ENOSPC (no space left on device, write)`);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('--force replaces regular files only', () => {
  it('a FIFO, a directory or a link to a device under the final name: EXISTS, left as it was', () => {
    const d = fresh();
    spawnSync('mkfifo', [join(d, 'fifo')]);
    mkdirSync(join(d, 'dir'));
    symlinkSync('/dev/zero', join(d, 'dev'));
    for (const n of ['fifo', 'dir', 'dev']) {
      const p = join(d, n);
      expect(() => new AtomicOutput(p, { force: true })).toThrow(`${p} exists and is not a regular file; not replaced, even with --force`);
    }
    expect(readdirSync(d).sort()).toEqual(['dev', 'dir', 'fifo']);
    expect(lstatSync(join(d, 'fifo')).isFIFO()).toBe(true);
    expect(lstatSync(join(d, 'dev')).isSymbolicLink()).toBe(true);
  });
});

describe('temporary files left by a killed run', () => {
  /** A process id that existed and is gone (a child that has exited). */
  const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid as number;

  it('are named .<output>.<pid>.<12 hex>.partial, next to the output', () => {
    expect(tempName('x.dump', 1234, 'a1b2c3d4e5f6')).toBe('.x.dump.1234.a1b2c3d4e5f6.partial');
  });

  it("the next run into the same directory removes those of dead writers for the same output, and nothing else", () => {
    const d = fresh();
    const dead = deadPid();
    const stale = tempName('out.dump', dead, '0123456789ab');
    const live = tempName('out.dump', process.ppid, 'aaaaaaaaaaaa'); // our parent runs
    const other = tempName('other.dump', dead, 'bbbbbbbbbbbb'); // another output's
    const lookalike = '.out.dump.12.notours.partial';
    for (const f of [stale, live, other, lookalike]) writeFileSync(join(d, f), 'x');
    const out = new AtomicOutput(join(d, 'out.dump'));
    out.write(Buffer.from('hello'));
    out.commit();
    expect(readdirSync(d).sort()).toEqual([live, other, lookalike, 'out.dump'].sort());
    expect(readFileSync(join(d, 'out.dump'), 'utf8')).toBe('hello');
  });

  it('removeStaleTemps is best effort: an unlistable directory removes nothing and throws nothing', () => {
    const fs = faultyFs({});
    expect(removeStaleTemps({ ...fs, readdirSync: () => { throw new Error('EACCES'); } }, '/nowhere', 'x')).toEqual([]);
    expect(removeStaleTemps(nodeFileSystem, join(t.dir, 'missing-dir'), 'x')).toEqual([]);
    expect(existsSync(join(t.dir, 'missing-dir'))).toBe(false);
  });
});
