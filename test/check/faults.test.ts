/**
 * Faults while verifying a tree of dumps, injected through the file-system
 * seam (test/io/faults.ts) or made for real (FIFO, socket, device, a file
 * replaced by a directory). Each fault is named, counted in the summary,
 * and the rest of the work goes on; exit 1, or 2 when nothing could be read.
 */
import { copyFileSync, existsSync, statSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { verifyArchive } from '../../src/check/archive.js';
import { verifyExitCode } from '../../src/cli/commands/verify.js';
import { faultyFs } from '../io/faults.js';
import { run, sample, tempDir } from '../helpers.js';

const t = tempDir('codadump-faults-');
afterAll(() => t.cleanup());
let n = 0;

/** A tree: a/ (one dump), b/ (one dump), c.dump at the top. */
function tree(): { root: string; a: string; b: string; c: string } {
  const root = join(t.dir, `tree-${n++}`);
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'b'));
  const a = join(root, 'a', 'full.dump');
  const b = join(root, 'b', 'incr.dump');
  const c = join(root, 'c.dump');
  copyFileSync(sample('server-sample-full.dump'), a);
  copyFileSync(sample('merge-incremental.dump'), b);
  copyFileSync(sample('server-empty-full.dump'), c);
  return { root, a, b, c };
}

const verdicts = (r: Awaited<ReturnType<typeof verifyArchive>>) => Object.fromEntries(r.dumps.map((d) => [d.path, d.verdict]));

describe('faults through the file-system seam', () => {
  it('EIO in the middle of a dump: that dump is unreadable (the byte named), the others verified, exit 1', async () => {
    const { root, a, b, c } = tree();
    // A bad sector at byte 150,000: every read that covers it fails (a read ahead that
    // fails is dropped and the bytes read again when needed, so one failure alone is not enough).
    const failed = new Set<number>();
    const fs = faultyFs({
      read: (p, pos, len) => {
        if (p !== a || pos > 150_000 || pos + len <= 150_000) return undefined;
        failed.add(pos);
        return 'EIO';
      },
    });
    // --deep reads every byte (a plain verify skips file data, and would never meet the sector).
    const r = await verifyArchive([root], { fs, jobs: 2, bufferSize: 65536, deep: true });
    expect(verdicts(r)).toEqual({ [a]: 'unreadable', [b]: 'ok', [c]: 'ok' });
    const bad = r.dumps.find((d) => d.path === a)!;
    expect(bad.problems).toEqual([{ code: 'IO', severity: 'error', offset: bad.problems[0].offset, message: 'cannot read: EIO (i/o error, read)' }]);
    // The byte named is where the failing read started: at or before the bad sector.
    expect(failed.has(bad.problems[0].offset)).toBe(true);
    expect(bad.problems[0].offset).toBeLessThanOrEqual(150_000);
    expect(r.summary).toMatchObject({ dumps: 3, ok: 2, damaged: 1, unreadable: 1, byVerdict: { ok: 2, unreadable: 1 } });
    expect(verifyExitCode(r.summary)).toBe(1);
  });

  it('EACCES on a directory and on a file inside the tree: both named and counted, the rest verified', async () => {
    const { root, a, b, c } = tree();
    const fs = faultyFs({ readdir: (p) => (p === join(root, 'a') ? 'EACCES' : undefined), open: (p) => (p === b ? 'EACCES' : undefined) });
    const r = await verifyArchive([root], { fs, jobs: 2 });
    expect(verdicts(r)).toEqual({ [c]: 'ok' });
    // The walk's faults are findings (check/walk.ts), listed again as `unreadable`.
    expect(r.unreadable).toEqual([
      { path: join(root, 'a'), code: 'ARCHIVE_UNREADABLE', message: `${join(root, 'a')}: cannot read the directory (EACCES): skipped` },
      { path: b, code: 'ARCHIVE_UNREADABLE', message: `${b}: cannot read (EACCES): skipped` },
    ]);
    expect(r.summary).toMatchObject({ dumps: 1, ok: 1, damaged: 0, unreadable: 2 });
    expect(verifyExitCode(r.summary)).toBe(1);
    void a;
  });

  it('EACCES when the file is opened for verifying (after the walk read it): unreadable, exit 2 when nothing else was read', async () => {
    const { a } = tree();
    let opens = 0;
    const fs = faultyFs({ open: (p) => (p === a && ++opens > 0 ? 'EACCES' : undefined) });
    const r = await verifyArchive([a], { fs });
    expect(r.dumps.map((d) => [d.verdict, d.problems.map((p) => p.message)])).toEqual([['unreadable', ["cannot read: EACCES (permission denied, open '" + a + "')"]]]);
    expect(r.summary).toMatchObject({ dumps: 1, ok: 0, unreadable: 1 });
    expect(verifyExitCode(r.summary)).toBe(2);
  });

  it('a dump that shrinks while it is verified: INPUT_CHANGED, verdict unreadable', async () => {
    const { root, a, b, c } = tree();
    const size = readFileSync(a).length;
    let done = false;
    const fs = faultyFs({
      read: (p, _pos, len) => {
        if (p === a && len > 5 && !done) { // not the walk's 5-byte look at the header
          done = true;
          truncateSync(a, 300_000);
        }
        return undefined;
      },
    });
    const r = await verifyArchive([root], { fs, jobs: 1 });
    expect(verdicts(r)).toEqual({ [a]: 'unreadable', [b]: 'ok', [c]: 'ok' });
    const changed = r.dumps.find((d) => d.path === a)!.problems.filter((p) => p.code === 'INPUT_CHANGED');
    expect(changed).toEqual([
      { code: 'INPUT_CHANGED', severity: 'error', offset: 300_000, message: `the file shrank from ${size} to 300000 bytes while it was read: verify it again once nothing writes it` },
    ]);
    expect(r.summary.unreadable).toBe(1);
    expect(verifyExitCode(r.summary)).toBe(1);
  });

  it('a dump that grows while it is verified: INPUT_CHANGED, verdict unreadable', async () => {
    const { c } = tree();
    const size = readFileSync(c).length;
    let done = false;
    const fs = faultyFs({
      read: (p, _pos, len) => {
        if (p === c && len > 5 && !done) {
          done = true;
          appendFileSync(c, Buffer.alloc(1000, 0x55));
        }
        return undefined;
      },
    });
    const r = await verifyArchive([c], { fs });
    expect(r.dumps[0].verdict).toBe('unreadable');
    expect(r.dumps[0].problems.filter((p) => p.code === 'INPUT_CHANGED')).toEqual([
      { code: 'INPUT_CHANGED', severity: 'error', offset: size, message: `the file grew from ${size} to ${size + 1000} bytes while it was read: verify it again once nothing writes it` },
    ]);
  });
});

describe('faults made for real', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('a file replaced by a directory between the walk and the open: unreadable, named, the rest goes on', async () => {
    const { root, a, b, c } = tree();
    const r = await verifyArchive([root], {
      jobs: 1,
      onStart: () => {
        rmSync(b);
        mkdirSync(b);
      },
    });
    expect(verdicts(r)).toEqual({ [a]: 'ok', [b]: 'unreadable', [c]: 'ok' });
    expect(r.dumps.find((d) => d.path === b)!.problems).toEqual([{ code: 'IO', severity: 'error', offset: 0, message: 'is a directory' }]);
    expect(verifyExitCode(r.summary)).toBe(1);
  });

  it('a FIFO, a socket and a device in the tree: never opened, each named and counted, exit 1', async () => {
    const { root } = tree();
    execFileSync('mkfifo', [join(root, 'a', 'pipe')]);
    // A link to a character device (stat'ed, never opened); the first of these that still is one.
    const device = ['/dev/null', '/dev/zero', '/dev/full', '/dev/urandom'].find((d) => existsSync(d) && statSync(d).isCharacterDevice())!;
    symlinkSync(device, join(root, 'b', 'null'));
    const sock = join(root, 'sock');
    server = createServer();
    await new Promise<void>((res) => server!.listen(sock, res));
    const r = run(['verify', '--jobs', '2', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    // Printed as the walk's other findings are (severity, code, message).
    expect(lines.filter((l) => l.includes('SPECIAL_FILE'))).toEqual([
      `error         SPECIAL_FILE: ${join(root, 'a', 'pipe')}: a FIFO, not a dump file; not opened`,
      `error         SPECIAL_FILE: ${sock}: a socket, not a dump file; not opened`,
      `error         SPECIAL_FILE: ${join(root, 'b', 'null')}: a character device, not a dump file; not opened`,
    ]);
    expect(lines.filter((l) => l.startsWith('ok '))).toHaveLength(3);
    expect(r.stdout).toMatch(/\n3 dumps: 3 ok, 0 damaged; 3 unreadable; 0 other files skipped; /);
  });

  it('nothing readable at all (a tree holding only a FIFO): exit 2', () => {
    const root = mkdtempSync(join(t.dir, 'only-fifo-'));
    execFileSync('mkfifo', [join(root, 'pipe')]);
    const r = run(['verify', '--json', root]);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout);
    expect(j.unreadable).toEqual([{ path: join(root, 'pipe'), code: 'SPECIAL_FILE', message: `${join(root, 'pipe')}: a FIFO, not a dump file; not opened` }]);
    expect(j.summary).toMatchObject({ dumps: 0, unreadable: 1 });
  });
});
