/**
 * INTERNAL: an exception that is neither bad input nor a system error is a
 * bug in codadump. Made real through the file-system seam (a read that
 * throws a TypeError): the library lets it through (it is not disguised as
 * an I/O error or an unreadable dump), and the command line's error path
 * turns it into one line, exit 2, and with --json the error document.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeFileSystem, type FileSystem, type ReadHandle } from '../../src/source/fs.js';
import { verifyFile } from '../../src/check/verify.js';
import { verifyArchive } from '../../src/check/archive.js';
import { errorJson, reportError } from '../../src/cli/context.js';
import { EXIT_USAGE } from '../../src/cli/context.js';
import { sample } from '../helpers.js';

/** node:fs, except that every read throws what `thrown()` makes. */
function throwingReads(thrown: () => unknown): Partial<FileSystem> {
  return {
    async open(path: string): Promise<ReadHandle> {
      const fh = await nodeFileSystem.open(path);
      return {
        read: async () => {
          throw thrown();
        },
        stat: () => fh.stat(),
        close: () => fh.close(),
      };
    },
  };
}

async function thrownBy(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

afterEach(() => vi.restoreAllMocks());

describe('INTERNAL', () => {
  const dump = sample('server-empty-full.dump');

  it('a TypeError from a read reaches the command line as INTERNAL: one line naming it and where, exit 2', async () => {
    const e = await thrownBy(verifyFile(dump, { fs: throwingReads(() => new TypeError('boom')) }));
    expect(e).toBeInstanceOf(TypeError);
    // The tree walk (what `verify DIR` runs) does not swallow it as an unreadable dump either.
    const e2 = await thrownBy(verifyArchive([dump], { fs: throwingReads(() => new TypeError('boom')) }));
    expect(e2).toBeInstanceOf(TypeError);

    expect(errorJson(e)).toEqual({ error: { code: 'INTERNAL', message: 'internal error: boom' } });
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    expect(reportError(e)).toBe(EXIT_USAGE);
    expect(EXIT_USAGE).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^codadump: error: internal error: TypeError: boom \(at \S+:\d+:\d+\); a bug in codadump, not in its input: please report it\n$/);
    expect(lines[0].split('\n')).toHaveLength(2); // one line: no stack
  });

  it('a system error from the same read stays what it is: IO at the byte the read started', async () => {
    const eio = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5, syscall: 'read' });
    const r = await verifyFile(dump, { fs: throwingReads(() => eio) }).catch((e: unknown) => e);
    expect(errorJson(r)).toEqual({ error: { code: 'IO', message: 'cannot read: EIO (i/o error, read)', file: dump, offset: 0 } });
  });

  it('a node error code that is no errno (ERR_*) is a bug too', () => {
    const e = Object.assign(new TypeError('The "fd" argument must be of type number'), { code: 'ERR_INVALID_ARG_TYPE' });
    expect(errorJson(e).error.code).toBe('INTERNAL');
  });
});
