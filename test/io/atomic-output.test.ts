import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AtomicOutput, isZeroRange } from '../../src/io/atomic-output.js';
import { DumpError } from '../../src/format/errors.js';
import { pattern, tempDir } from '../helpers.js';

let t: { dir: string; cleanup: () => void };
let dir: string;
beforeEach(() => {
  t = tempDir('codadump-atomic-');
  dir = t.dir;
});
afterEach(() => t.cleanup());

const entries = () => fs.readdirSync(dir).sort();

function catchErr(f: () => unknown): DumpError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DumpError);
    return e as DumpError;
  }
  throw new Error('expected a DumpError');
}


describe('AtomicOutput', () => {
  it('writes to a hidden temp file and renames on commit', () => {
    const p = path.join(dir, 'out.dump');
    const out = new AtomicOutput(p);
    expect(path.dirname(out.tempPath)).toBe(dir);
    expect(path.basename(out.tempPath)).toMatch(new RegExp(`^\\.out\\.dump\\.${process.pid}\\.[0-9a-f]+\\.partial$`));
    const a = pattern(100);
    const b = pattern(3 * 1024 * 1024, 7); // larger than the coalescing buffer
    out.write(a);
    out.write(b);
    out.write(Buffer.alloc(0));
    expect(out.bytesWritten).toBe(a.length + b.length);
    expect(fs.existsSync(p)).toBe(false);
    out.commit();
    expect(out.committed).toBe(true);
    expect(entries()).toEqual(['out.dump']);
    expect(fs.readFileSync(p).equals(Buffer.concat([a, b]))).toBe(true);
    // Commit and abort after commit.
    out.abort();
    expect(fs.existsSync(p)).toBe(true);
    expect(catchErr(() => out.write(a)).code).toBe('IO');
  });

  it('refuses an existing final path without force, naming it', () => {
    const p = path.join(dir, 'exists.dump');
    fs.writeFileSync(p, 'old');
    const err = catchErr(() => new AtomicOutput(p));
    expect(err.code).toBe('EXISTS');
    expect(err.message).toContain(p);
    expect(err.file).toBe(p);
    expect(entries()).toEqual(['exists.dump']);
    expect(fs.readFileSync(p, 'utf8')).toBe('old');
  });

  it('treats a dangling symlink as existing', () => {
    const p = path.join(dir, 'link.dump');
    fs.symlinkSync(path.join(dir, 'nowhere'), p);
    expect(catchErr(() => new AtomicOutput(p)).code).toBe('EXISTS');
  });

  it('replaces an existing file with force', () => {
    const p = path.join(dir, 'exists.dump');
    fs.writeFileSync(p, 'old contents');
    const out = new AtomicOutput(p, { force: true });
    out.write(Buffer.from('new'));
    out.commit();
    expect(fs.readFileSync(p, 'utf8')).toBe('new');
    expect(entries()).toEqual(['exists.dump']);
  });

  it('re-checks at commit: a file that appeared meanwhile is not clobbered', () => {
    const p = path.join(dir, 'race.dump');
    const out = new AtomicOutput(p);
    out.write(Buffer.from('mine'));
    fs.writeFileSync(p, 'theirs');
    const err = catchErr(() => out.commit());
    expect(err.code).toBe('EXISTS');
    expect(fs.readFileSync(p, 'utf8')).toBe('theirs');
    expect(entries()).toEqual(['race.dump']); // temp removed
  });

  it('re-checks at commit, falling back to check-and-rename without hard links', () => {
    const p = path.join(dir, 'race.dump');
    const nolink = () => {
      const e = new Error('EPERM: operation not permitted, link') as NodeJS.ErrnoException;
      e.code = 'EPERM';
      throw e;
    };
    const out = new AtomicOutput(p, { fsImpl: { linkSync: nolink } });
    out.write(Buffer.from('mine'));
    fs.writeFileSync(p, 'theirs');
    expect(catchErr(() => out.commit()).code).toBe('EXISTS');
    expect(entries()).toEqual(['race.dump']);
    fs.unlinkSync(p);
    const out2 = new AtomicOutput(p, { fsImpl: { linkSync: nolink } });
    out2.write(Buffer.from('mine'));
    out2.commit();
    expect(fs.readFileSync(p, 'utf8')).toBe('mine');
    expect(entries()).toEqual(['race.dump']);
  });

  it('with force, commit replaces a file that appeared meanwhile', () => {
    const p = path.join(dir, 'race.dump');
    const out = new AtomicOutput(p, { force: true });
    out.write(Buffer.from('mine'));
    fs.writeFileSync(p, 'theirs');
    out.commit();
    expect(fs.readFileSync(p, 'utf8')).toBe('mine');
  });

  it('abort removes the temp file and leaves nothing under the final name', () => {
    const p = path.join(dir, 'aborted.dump');
    const out = new AtomicOutput(p);
    out.write(pattern(5000));
    expect(entries()).toHaveLength(1);
    out.abort();
    out.abort(); // idempotent
    expect(entries()).toEqual([]);
    expect(catchErr(() => out.write(Buffer.from('x'))).code).toBe('IO');
    expect(catchErr(() => out.commit()).code).toBe('IO');
    expect(fs.existsSync(p)).toBe(false);
  });

  it('injected ENOSPC (failAfterBytes) gives DumpError IO and removes the output', () => {
    const p = path.join(dir, 'full.dump');
    const out = new AtomicOutput(p, { failAfterBytes: 1_500_000, bufferSize: 0 });
    out.write(pattern(1_000_000));
    const err = catchErr(() => out.write(pattern(1_000_000, 3)));
    expect(err.code).toBe('IO');
    expect(err.message).toContain('ENOSPC');
    expect(err.file).toBe(p);
    expect(entries()).toEqual([]);
    expect(catchErr(() => out.commit()).code).toBe('IO');
    expect(fs.existsSync(p)).toBe(false);
  });

  it('ENOSPC from a buffered write surfaces at commit and removes the output', () => {
    const p = path.join(dir, 'full2.dump');
    const out = new AtomicOutput(p, { failAfterBytes: 10 });
    out.write(Buffer.from('0123456789abcdef')); // buffered, not yet stored
    const err = catchErr(() => out.commit());
    expect(err.code).toBe('IO');
    expect(err.message).toContain('ENOSPC');
    expect(entries()).toEqual([]);
  });

  it('injected fs errors and partial writes through fsImpl', () => {
    const p = path.join(dir, 'partial.dump');
    // A writeSync that writes at most 1000 bytes per call: content must still be right.
    const out = new AtomicOutput(p, {
      bufferSize: 0,
      fsImpl: { writeSync: (fd, buf, off, len, pos) => fs.writeSync(fd, buf, off, Math.min(len, 1000), pos) },
    });
    const data = pattern(123_457);
    out.write(data);
    out.commit();
    expect(fs.readFileSync(p).equals(data)).toBe(true);

    const p2 = path.join(dir, 'eio.dump');
    const out2 = new AtomicOutput(p2, {
      bufferSize: 0,
      fsImpl: {
        writeSync: () => {
          const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
          e.code = 'ENOSPC';
          throw e;
        },
      },
    });
    const err = catchErr(() => out2.write(data));
    expect(err.code).toBe('IO');
    expect(err.message).toMatch(/^cannot write output: ENOSPC/);
    expect(fs.existsSync(p2)).toBe(false);
    expect(entries()).toEqual(['partial.dump']);
  });

  it('fsync failure at commit removes the output', () => {
    const p = path.join(dir, 'fsync.dump');
    const out = new AtomicOutput(p, {
      fsImpl: {
        fsyncSync: () => {
          const e = new Error('EIO: i/o error, fsync') as NodeJS.ErrnoException;
          e.code = 'EIO';
          throw e;
        },
      },
    });
    out.write(Buffer.from('data'));
    const err = catchErr(() => out.commit());
    expect(err.code).toBe('IO');
    expect(err.message).toContain('EIO');
    expect(entries()).toEqual([]);
  });

  it('cannot create in a missing directory: DumpError IO', () => {
    const err = catchErr(() => new AtomicOutput(path.join(dir, 'no', 'such', 'x.dump')));
    expect(err.code).toBe('IO');
  });

  it('sparse mode skips zero blocks but reads back identical', () => {
    const p = path.join(dir, 'sparse.dump');
    const out = new AtomicOutput(p, { sparse: true });
    const head = pattern(1000);
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    const mid = pattern(70_000, 5);
    out.write(head);
    out.write(zeros);
    out.write(mid);
    out.write(zeros);
    out.write(Buffer.alloc(10)); // small trailing zeros, buffered
    out.commit();
    const expected = Buffer.concat([head, zeros, mid, zeros, Buffer.alloc(10)]);
    const got = fs.readFileSync(p);
    expect(got.length).toBe(expected.length);
    expect(got.equals(expected)).toBe(true);
    const st = fs.statSync(p);
    // Far fewer blocks allocated than the 16 MiB logical size (where the fs supports holes).
    expect(st.blocks * 512).toBeLessThan(4 * 1024 * 1024);
  });

  it('isZeroRange', () => {
    const b = Buffer.alloc(200_000);
    expect(isZeroRange(b)).toBe(true);
    b[150_000] = 1;
    expect(isZeroRange(b)).toBe(false);
    expect(isZeroRange(b, 0, 150_000)).toBe(true);
    expect(isZeroRange(b, 150_001)).toBe(true);
  });
});
