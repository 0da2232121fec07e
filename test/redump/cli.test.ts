/** `codadump redump` end to end (the built CLI): output, messages, exit codes, nothing left behind. */
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, SAMPLE_FILES, directWorks, run, sample, tempDir } from '../helpers.js';
import { SMALL_TREE, makeTree, noise } from '../tree.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir('codadump-redump-cli-');
});
afterEach(() => t.cleanup());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const entries = () => readdirSync(t.dir).sort();
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

describe('codadump redump: success', () => {
  it.each(SAMPLE_FILES)('%s through stdin: byte-identical, verdict ok', (name) => {
    const bytes = readFileSync(sample(name));
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '-o', out, '-'], { input: bytes });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(bytes)).toBe(true);
    expect(entries()).toEqual(['out.dump']);
    const l = lines(r.stdout);
    expect(l).toHaveLength(7);
    expect(l[0]).toBe('verdict:    ok');
    expect(l[1]).toBe(`output:     ${out}`);
    expect(l[2]).toBe(`size:       ${bytes.length} bytes`);
    expect(l[3]).toBe(`sha256:     ${sha(bytes)}`);
    expect(l[4]).toMatch(/^throughput: \d+\.\d MB\/s \(\d+\.\d{3} s(, direct I\/O)?\)$/);
    const n = Math.ceil(bytes.length / 512000);
    expect(l[5]).toBe(`chunks:     ${n} (largest ${Math.min(bytes.length, 512000)} bytes), every 32-bit offset checked`);
    expect(l[6]).toMatch(/^content:    \d+ director(y|ies), \d+ (file or link|files and links)(, \d+ removals?)?$/);
  });

  it('standard input as a file, and as a pipe from a shell: the same bytes', () => {
    const name = sample('server-sample-full.dump');
    const bytes = readFileSync(name);
    const fd = openSync(name, 'r');
    try {
      const r = run(['redump', '--json', '-o', join(t.dir, 'file.dump'), '-'], { stdin: fd });
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ ok: true, bytes: bytes.length, sha256: sha(bytes) });
      expect(j.inputPipe).toBeUndefined(); // not a pipe: nothing to enlarge
    } finally {
      closeSync(fd);
    }
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const sh = spawnSync('/bin/sh', ['-c', `cat ${q(name)} | ${q(process.execPath)} ${q(BIN)} redump --json -o ${q(join(t.dir, 'pipe.dump'))} -`]);
    expect(sh.status).toBe(0);
    // The shell's pipe was grown from Linux's default 64 KiB to 1 MiB (or the system's limit).
    const maxSize = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'ascii').trim());
    expect(JSON.parse(sh.stdout.toString()).inputPipe).toEqual({ before: 65536, after: Math.min(1048576, maxSize) });
    expect(readFileSync(join(t.dir, 'file.dump')).equals(bytes)).toBe(true);
    expect(readFileSync(join(t.dir, 'pipe.dump')).equals(bytes)).toBe(true);
  });

  it('without koffi (it is optional): the pipe keeps its size, the ring its pages, the output its bytes', () => {
    const name = sample('server-sample-full.dump');
    const bytes = readFileSync(name);
    // Preloaded into the CLI: any require of koffi fails, as where it is not installed.
    const preload = join(t.dir, 'no-koffi.cjs');
    writeFileSync(preload, `const M = require('node:module');
const resolve = M._resolveFilename;
M._resolveFilename = function (request, ...rest) {
  if (request === 'koffi' || request.endsWith('koffi.node')) { const e = new Error("Cannot find module 'koffi'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
  return resolve.call(this, request, ...rest);
};
`);
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const out = join(t.dir, 'no-koffi.dump');
    const sh = spawnSync('/bin/sh', ['-c', `cat ${q(name)} | ${q(process.execPath)} --require ${q(preload)} ${q(BIN)} redump --json -o ${q(out)} -`]);
    expect(sh.stderr.toString()).toBe('');
    expect(sh.status).toBe(0);
    const j = JSON.parse(sh.stdout.toString());
    expect(j).toMatchObject({ ok: true, bytes: bytes.length, sha256: sha(bytes) });
    expect(j.inputPipe).toBeUndefined();
    expect(readFileSync(out).equals(bytes)).toBe(true);
    expect(entries()).toEqual(['no-koffi.cjs', 'no-koffi.dump']);
  });

  it('the sample server dump: exact content line and JSON', () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '--json', '-o', out, '-'], { input: bytes });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      ok: true, path: out, committed: true, input: '-', verdict: 'ok', bytes: 862101, sha256: sha(bytes),
      chunks: { chunks: 2, bytes: 862101, largestChunk: 512000, chunksPast4GiB: 0, firstPast4GiB: null },
      counts: { directories: 4, files: 52, removed: 0 }, problems: [],
    });
    expect(typeof j.mbPerSecond).toBe('number');
    expect(j.directIo).toBe(directWorks(t.dir));
    const r2 = run(['redump', '--force', '-o', out, '-'], { input: bytes });
    expect(lines(r2.stdout)[6]).toBe('content:    4 directories, 52 files and links');
    const r3 = run(['redump', '--json', '--no-direct', '--force', '-o', out, '-'], { input: bytes });
    expect(JSON.parse(r3.stdout)).toMatchObject({ ok: true, directIo: false, sha256: sha(bytes) });
    expect(readFileSync(out).equals(bytes)).toBe(true);
  });

  it('--tree gives the same bytes as pack for the same tree and options', () => {
    const tree = join(t.dir, 'tree');
    makeTree(tree, { ...SMALL_TREE, 'big/data.bin': noise(1_200_000, 4) });
    const opts = ['--volume-id', '2000abc', '--parent-id', '2000abb', '--name', 'proj.backup', '--backup-date', '1650000000'];
    const p = run(['pack', tree, '-o', join(t.dir, 'pack.dump'), ...opts]);
    expect(p.code).toBe(0);
    const r = run(['redump', '--tree', tree, '-o', join(t.dir, 'redump.dump'), ...opts]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const a = readFileSync(join(t.dir, 'pack.dump'));
    const b = readFileSync(join(t.dir, 'redump.dump'));
    expect(b.equals(a)).toBe(true);
    expect(lines(r.stdout)).toContain(`sha256:     ${sha(a)}`);
    expect(lines(r.stdout)).toContain('content:    4 directories, 8 files and links');
    expect(lines(r.stdout)).toContain('chunks:     3 (largest 512000 bytes), every 32-bit offset checked');
  });

  it('--exec: the command status is reported and its stderr passed through, prefixed', () => {
    const file = sample('server-sample-full.dump');
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '-o', out, '--exec', `echo 'volutil: dumping 7f000001' >&2; cat '${file}'; printf 'done' >&2`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('exec: volutil: dumping 7f000001\nexec: done\n');
    expect(lines(r.stdout)).toContain('command:    exit status 0');
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true);
  });

  it('--exec gives the command a real pipe: writing to /dev/stdout or /dev/fd/1 by name works, same bytes as a shell pipe', () => {
    const file = sample('server-sample-full.dump');
    const bytes = readFileSync(file);
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const sh = spawnSync('/bin/sh', ['-c', `cat ${q(file)} | ${q(process.execPath)} ${q(BIN)} redump -o ${q(join(t.dir, 'pipe.dump'))} -`]);
    expect(sh.status).toBe(0);
    const viaPipe = readFileSync(join(t.dir, 'pipe.dump'));
    expect(viaPipe.equals(bytes)).toBe(true);
    const commands = [
      `dd if=${q(file)} of=/dev/stdout bs=65536 status=none`,
      `sh -c ${q(`cat ${q(file)} > /dev/stdout`)}`,
      `cat ${q(file)} > /dev/fd/1`,
    ];
    commands.forEach((cmd, i) => {
      const out = join(t.dir, `exec${i}.dump`);
      const r = run(['redump', '--json', '-o', out, '--exec', cmd]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, bytes: bytes.length, sha256: sha(bytes) });
      expect(readFileSync(out).equals(viaPipe)).toBe(true);
    });
    // The FIFO's name was gone before the command ran: nothing left in the temporary directory.
    expect(readdirSync(process.env.TMPDIR ?? '/tmp').filter((n) => n.startsWith('codadump-exec-'))).toEqual([]);
  });
});

describe('codadump redump: failures (exit code, one clear line, nothing under OUT, no .partial)', () => {
  it('a command that fails midway: exit 1, its exit status in the message', () => {
    const file = sample('server-sample-full.dump');
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '-o', out, '--exec', `head -c 1000 '${file}'; exit 3`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'codadump: error: redump failed: the dump command failed (exit status 3) after writing 1000 bytes; ' +
        `its output: truncated: TRUNCATED at byte 1000: input ends at byte 1000 inside a VNODE (5) record that starts at byte 323; ${out} not written\n`,
    );
    expect(entries()).toEqual([]);
  });

  it('the failed command in JSON', () => {
    const file = sample('server-sample-full.dump');
    const r = run(['redump', '--json', '-o', join(t.dir, 'out.dump'), '--exec', `head -c 1000 '${file}'; echo oops >&2; exit 3`]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: false, committed: false, verdict: 'truncated', bytes: 1000 });
    expect(j.command).toMatchObject({ exitCode: 3, signal: null, stdoutBytes: 1000, stderrTail: 'oops\n' });
    expect(j.failure.reason).toBe('command');
    expect(lines(r.stderr)[0]).toBe('exec: oops');
    expect(entries()).toEqual([]);
  });

  it('a truncated dump on stdin: exit 1', () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '-o', out, '-'], { input: bytes.subarray(0, 600_000) });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `codadump: error: redump failed: truncated: TRUNCATED at byte 600000: input ends inside the file data of vnode 88.48 (46181 of 70000 bytes missing); ${out} not written\n`,
    );
    expect(entries()).toEqual([]);
  });

  it('SIGTERM while it waits for standard input: exit 143 once the input moves, nothing left behind', async () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const out = join(t.dir, 'out.dump');
    const child = spawn(process.execPath, [BIN, 'redump', '-o', out, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdin.write(bytes.subarray(0, 600_000));
    // Started: its temporary file is there, and it is blocked reading what does not come.
    for (let i = 0; i < 200 && !entries().some((f) => f.endsWith('.partial')); i++) await new Promise((r) => setTimeout(r, 25));
    expect(entries().filter((f) => f.endsWith('.partial'))).toHaveLength(1);
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    // The input moves on (more bytes, not yet its end): the signal is acted on before the stream could end.
    child.stdin.write(bytes.subarray(600_000, 700_000));
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.end();
    expect(await exited).toBe(143);
    expect(stderr).toBe(`codadump: interrupted by SIGTERM; ${out} not written\n`);
    expect(entries()).toEqual([]);
  });

  it('trailing data after the end marker (more than a slot of it): exit 1, every extra byte counted', () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '-o', out, '-'], { input: Buffer.concat([bytes, noise(700_000, 5)]) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `codadump: error: redump failed: trailing-data: TRAILING_DATA at byte 862101: 700000 bytes of trailing data after the end marker; ${out} not written\n`,
    );
    expect(entries()).toEqual([]);
  });

  it('not a dump at all: exit 1', () => {
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '-o', out, '-'], { input: 'hello world\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`codadump: error: redump failed: not-a-dump: NOT_A_DUMP at byte 0: not a Coda dump: starts with 68656c6c6f (want 01b3a11322); ${out} not written\n`);
    expect(entries()).toEqual([]);
  });

  it('an existing OUT without --force: exit 2, the file untouched, the command not run', () => {
    const out = join(t.dir, 'out.dump');
    writeFileSync(out, 'keep me');
    utimesSync(out, 1500000000, 1500000000);
    const marker = join(t.dir, 'ran');
    const r = run(['redump', '-o', out, '--exec', `touch '${marker}'; cat '${sample('server-empty-full.dump')}'`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`codadump: error: ${out} already exists (use --force to replace it)\n`);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(statSync(out).mtimeMs).toBe(1500000000 * 1000);
    expect(entries()).toEqual(['out.dump']);
  });

  it('a full disk (test hook CODADUMP_TEST_FAIL_AFTER_BYTES): exit 2', () => {
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '-o', out, '-'], { input: readFileSync(sample('server-sample-full.dump')), env: { CODADUMP_TEST_FAIL_AFTER_BYTES: '600000' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`codadump: error: ${out}: cannot write output: ENOSPC (no space left on device, write); ${out} not written\n`);
    expect(entries()).toEqual([]);
  });

  it('a test hook that is not a number: usage error, exit 2, nothing written', () => {
    const out = join(t.dir, 'out.dump');
    const r = run(['redump', '-o', out, '-'], { input: readFileSync(sample('server-empty-full.dump')), env: { CODADUMP_TEST_FAIL_AFTER_BYTES: 'lots' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("codadump: CODADUMP_TEST_FAIL_AFTER_BYTES must be a whole number of bytes, got 'lots'\nTry 'codadump --help'.\n");
    expect(entries()).toEqual([]);
  });

  it('a full disk with --force: the old file stays', () => {
    const out = join(t.dir, 'out.dump');
    writeFileSync(out, 'old dump');
    makeTree(join(t.dir, 'tree'), SMALL_TREE);
    const r = run(['redump', '--force', '-o', out, '--tree', join(t.dir, 'tree')], { env: { CODADUMP_TEST_FAIL_AFTER_BYTES: '4096' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: ${out}: cannot write output: ENOSPC (no space left on device, write); ${out} not written\n`);
    expect(readFileSync(out, 'utf8')).toBe('old dump');
    expect(entries()).toEqual(['out.dump', 'tree']);
  });

  it('an output directory that does not exist: exit 2', () => {
    const out = join(t.dir, 'no', 'out.dump');
    const r = run(['redump', '-o', out, '-'], { input: readFileSync(sample('server-empty-full.dump')) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^codadump: error: ${out}: cannot create output: ENOENT \\(no such file or directory, open '.*\\.partial'\\); ${out} not written\\n$`));
    expect(entries()).toEqual([]);
  });

  it.each([
    [[], 'redump needs exactly one input: --exec CMD, --tree DIR, or - (standard input)'],
    [['-', '--exec', 'true'], 'redump needs exactly one input: --exec CMD, --tree DIR, or - (standard input)'],
    [['--tree', '.', '--exec', 'true'], 'redump needs exactly one input: --exec CMD, --tree DIR, or - (standard input)'],
    [['some.dump'], "redump reads a dump from standard input only ('-'), not 'some.dump'; use verify to check a file"],
    [['--name', 'x', '-'], '--volume-id, --parent-id, --name and --backup-date go with --tree only'],
    [['--exec', ' '], '--exec needs a command'],
  ])('usage error %j: exit 2', (args, message) => {
    const r = run(['redump', '-o', join(t.dir, 'out.dump'), ...args], { input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: ${message}\nTry 'codadump --help'.\n`);
    expect(entries()).toEqual([]);
  });
});
