/** The redump library: every input kind, every failure leaves nothing behind. */
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chunkAll, type ChunkItem } from '../../src/io/chunker.js';
import { packTree } from '../../src/pack/pack.js';
import { redump, type RedumpResult } from '../../src/redump/redump.js';
import { SAMPLE_FILES, rejection, sample, tempDir } from '../helpers.js';
import { PACK_OPTS, SMALL_TREE, makeTree, noise, packToBuffer } from '../tree.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir('codadump-redump-');
});
afterEach(() => t.cleanup());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const entries = () => readdirSync(t.dir).sort();

/** A non-seekable stream of `b` in pieces of `n` bytes. */
function pieces(b: Buffer, n = 65536): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
    })(),
    { objectMode: true },
  );
}


function expectNothingWritten(r: RedumpResult) {
  expect(r.ok).toBe(false);
  expect(r.committed).toBe(false);
  expect(existsSync(r.path)).toBe(false);
}

describe('redump: inputs', () => {
  it.each(SAMPLE_FILES)('sample %s from a stream: byte-identical, verdict ok', async (name) => {
    const bytes = readFileSync(sample(name));
    const out = join(t.dir, 'out.dump');
    const r = await redump(pieces(bytes), out);
    expect(r.failure).toBeUndefined();
    expect(r).toMatchObject({ ok: true, committed: true, verdict: 'ok', bytes: bytes.length, sha256: sha(bytes), input: '-' });
    expect(readFileSync(out).equals(bytes)).toBe(true);
    expect(entries()).toEqual(['out.dump']);
    // An opaque byte stream is cut into full 512,000-byte chunks.
    expect(r.chunks.chunks).toBe(Math.ceil(bytes.length / 512000));
    expect(r.chunks.largestChunk).toBe(Math.min(bytes.length, 512000));
    expect(r.verify.streamLength).toBe(bytes.length);
  });

  it('a tree: the same bytes as pack, chunked as a server would', async () => {
    const tree = join(t.dir, 'tree');
    makeTree(tree, { ...SMALL_TREE, 'big.bin': noise(1_100_000, 9) });
    const want = await packToBuffer(tree);
    const r = await redump({ tree, pack: PACK_OPTS }, join(t.dir, 'tree.dump'));
    expect(r.ok).toBe(true);
    expect(r.skipped).toEqual([]);
    expect(r.verify.counts).toEqual({ directories: 3, files: 8, removed: 0 });
    expect(readFileSync(join(t.dir, 'tree.dump')).equals(want)).toBe(true);
    expect(r.sha256).toBe(sha(want));
    // Item-wise packing: the same chunk sizes as chunking pack's items directly.
    const items: ChunkItem[] = [];
    for await (const it of packTree(tree, PACK_OPTS)) items.push({ kind: it.kind, data: Buffer.from(it.data) });
    // A file's data continues while the next item is file data too.
    const fixed = items.map((it, i): ChunkItem => (it.kind === 'filedata' ? { ...it, more: items[i + 1]?.kind === 'filedata' } : it));
    const want2 = chunkAll(fixed);
    expect(r.chunks.chunks).toBe(want2.length);
    expect(want2.length).toBe(3);
  });

  it('items, and chunks as received', async () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const a = await redump({ items: [{ kind: 'item', data: bytes }] }, join(t.dir, 'a.dump'));
    expect(a.ok).toBe(true);
    const chunks = chunkAll([{ kind: 'filedata', data: bytes }]);
    const b = await redump({ chunks }, join(t.dir, 'b.dump'), { hashInWorker: false });
    expect(b.ok).toBe(true);
    expect(b.chunks.chunks).toBe(2);
    expect(readFileSync(join(t.dir, 'a.dump')).equals(bytes)).toBe(true);
    expect(readFileSync(join(t.dir, 'b.dump')).equals(bytes)).toBe(true);
  });

  it('a pipe as { fd }: grown to 1 MiB before it is read, unless pipeBytes is 0', async () => {
    const name = sample('server-sample-full.dump');
    const bytes = readFileSync(name);
    const maxSize = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'ascii').trim());
    for (const [pipeBytes, want] of [
      [undefined, { before: 65536, after: Math.min(1048576, maxSize) }],
      [0, undefined],
      [300_000, { before: 65536, after: 524288 }],
    ] as const) {
      const path = join(t.dir, 'fifo');
      expect(spawnSync('mkfifo', [path]).status).toBe(0);
      // cat writes into the FIFO from another process; opening it for reading waits for cat to open it.
      const cat = spawn('/bin/sh', ['-c', 'exec cat "$1" > "$2"', 'sh', name, path], { stdio: 'ignore' });
      const exited = new Promise((resolve) => cat.on('exit', resolve));
      const fd = openSync(path, 'r');
      try {
        const out = join(t.dir, `fifo-${pipeBytes}.dump`);
        const r = await redump({ fd }, out, pipeBytes === undefined ? {} : { pipeBytes });
        expect(r).toMatchObject({ ok: true, bytes: bytes.length, sha256: sha(bytes) });
        expect(r.inputPipe).toEqual(want);
        expect(readFileSync(out).equals(bytes)).toBe(true);
      } finally {
        closeSync(fd);
        await exited;
        rmSync(path);
      }
    }
  });

  it('progress reports bytes and vnodes', async () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const seen: Array<{ bytes: number; vnodes: number }> = [];
    await redump(pieces(bytes), join(t.dir, 'p.dump'), { onProgress: (p) => seen.push({ bytes: p.bytes, vnodes: p.vnodes }) });
    expect(seen.at(-1)).toEqual({ bytes: bytes.length, vnodes: 56 });
    expect(seen.some((p) => p.bytes === 512000)).toBe(true);
  });
});

describe('redump: failures leave nothing under OUT', () => {
  it('a stream that ends early: not ok, verdict truncated, exact offset', async () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const r = await redump(pieces(bytes.subarray(0, 600_000)), join(t.dir, 'out.dump'));
    expectNothingWritten(r);
    expect(r.verdict).toBe('truncated');
    expect(r.bytes).toBe(600_000);
    expect(r.failure).toEqual({
      reason: 'verify',
      message: 'truncated: TRUNCATED at byte 600000: input ends inside the file data of vnode 88.48 (46181 of 70000 bytes missing)',
    });
    expect(entries()).toEqual([]);
  });

  it('a stream that is bad early is not read to its end', async () => {
    let produced = 0;
    const junk = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) {
          produced++;
          yield Buffer.alloc(1 << 20, 0x41);
        }
      })(),
      { objectMode: true },
    );
    const r = await redump(junk, join(t.dir, 'out.dump'));
    expectNothingWritten(r);
    expect(r.failure).toEqual({ reason: 'verify', message: 'not-a-dump: NOT_A_DUMP at byte 0: not a Coda dump: starts with 4141414141 (want 01b3a11322)' });
    expect(produced).toBeLessThan(100);
    expect(entries()).toEqual([]);
  });

  it('a chunk with a wrong 32-bit offset: CHUNK_OFFSET, no output file', async () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const chunks = chunkAll([{ kind: 'filedata', data: Buffer.concat([bytes, bytes]) }]); // 4 chunks
    const out = join(t.dir, 'out.dump');
    const err = await rejection(redump({ chunks: [chunks[0], chunks[2], chunks[3]] }, out));
    expect(err.code).toBe('CHUNK_OFFSET');
    expect(err.offset).toBe(512000);
    expect(err.describe()).toBe(
      `${out}: at byte 512000: chunk offset mismatch: expected 32-bit offset 512000 (true position 512000) but got 1024000; 512000 bytes are missing: a chunk was lost`,
    );
    expect(entries()).toEqual([]);
  });

  it('a full disk (failAfterBytes test hook): IO error, no output file', async () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const out = join(t.dir, 'out.dump');
    const err = await rejection(redump(pieces(bytes), out, { failAfterBytes: 700_000 }));
    expect(err.code).toBe('IO');
    expect(err.describe()).toBe(`${out}: cannot write output: ENOSPC (no space left on device, write)`);
    expect(entries()).toEqual([]);
  });

  it('the library reads no environment: CODADUMP_TEST_FAIL_AFTER_BYTES set, the dump is still written', async () => {
    const bytes = readFileSync(sample('server-sample-full.dump'));
    process.env.CODADUMP_TEST_FAIL_AFTER_BYTES = '0';
    try {
      const r = await redump(pieces(bytes), join(t.dir, 'out.dump'));
      expect(r.ok).toBe(true);
      expect(readFileSync(join(t.dir, 'out.dump')).equals(bytes)).toBe(true);
    } finally {
      delete process.env.CODADUMP_TEST_FAIL_AFTER_BYTES;
    }
  });

  it('an existing OUT: EXISTS before anything runs, the file untouched', async () => {
    const out = join(t.dir, 'out.dump');
    writeFileSync(out, 'precious');
    const marker = join(t.dir, 'ran');
    const err = await rejection(redump({ exec: `touch '${marker}'; cat '${sample('server-empty-full.dump')}'` }, out));
    expect(err.code).toBe('EXISTS');
    expect(err.message).toBe(`${out} already exists (use --force to replace it)`);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    expect(entries()).toEqual(['out.dump']);
  });

  it('--force replaces OUT only with a verified dump', async () => {
    const out = join(t.dir, 'out.dump');
    writeFileSync(out, 'precious');
    const bytes = readFileSync(sample('server-sample-full.dump'));
    const bad = await redump(pieces(bytes.subarray(0, 1000)), out, { force: true });
    expect(bad.ok).toBe(false);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    expect(entries()).toEqual(['out.dump']);
    const good = await redump(pieces(bytes), out, { force: true });
    expect(good.ok).toBe(true);
    expect(readFileSync(out).equals(bytes)).toBe(true);
    expect(entries()).toEqual(['out.dump']);
  });
});

describe('redump --exec', () => {
  it('captures the output, the exit status and the standard error', async () => {
    const file = sample('server-sample-full.dump');
    const err: Buffer[] = [];
    const r = await redump({ exec: `echo 'dumping volume' >&2; cat '${file}'` }, join(t.dir, 'out.dump'), { onStderr: (b) => err.push(b) });
    expect(r.ok).toBe(true);
    expect(r.command).toMatchObject({ exitCode: 0, signal: null, stdoutBytes: statSync(file).size, stderrTail: 'dumping volume\n', stoppedByUs: false });
    expect(Buffer.concat(err).toString()).toBe('dumping volume\n');
    expect(readFileSync(join(t.dir, 'out.dump')).equals(readFileSync(file))).toBe(true);
  });

  it('a command that fails midway: not ok, its exit status reported', async () => {
    const file = sample('server-sample-full.dump');
    const r = await redump({ exec: `head -c 1000 '${file}'; echo 'volutil: lost contact' >&2; exit 3` }, join(t.dir, 'out.dump'));
    expectNothingWritten(r);
    expect(r.command).toMatchObject({ exitCode: 3, signal: null, stdoutBytes: 1000, stderrTail: 'volutil: lost contact\n' });
    expect(r.verdict).toBe('truncated');
    expect(r.failure).toEqual({
      reason: 'command',
      message:
        'the dump command failed (exit status 3) after writing 1000 bytes; its output: truncated: TRUNCATED at byte 1000: input ends at byte 1000 inside a VNODE (5) record that starts at byte 323',
    });
    expect(entries()).toEqual([]);
  });

  it('a failed command is not trusted even when its output verifies', async () => {
    const r = await redump({ exec: `cat '${sample('server-empty-full.dump')}'; exit 4` }, join(t.dir, 'out.dump'));
    expectNothingWritten(r);
    expect(r.verdict).toBe('ok');
    expect(r.failure!.message).toBe('the dump command failed (exit status 4) after writing 2548 bytes; its output verified, but the dump of a failed command is not trusted');
  });

  it('a command killed by a signal', async () => {
    const r = await redump({ exec: `cat '${sample('server-empty-full.dump')}'; kill -9 $$` }, join(t.dir, 'out.dump'));
    expectNothingWritten(r);
    expect(r.command).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
    expect(r.failure!.message).toMatch(/^the dump command failed \(killed by signal SIGKILL\) after writing 2548 bytes;/);
  });

  it('a command whose output is bad from the start is stopped', async () => {
    const r = await redump({ exec: 'yes garbage' }, join(t.dir, 'out.dump'));
    expectNothingWritten(r);
    expect(r.failure).toEqual({ reason: 'verify', message: 'not-a-dump: NOT_A_DUMP at byte 0: not a Coda dump: starts with 6761726261 (want 01b3a11322)' });
    expect(r.command!.stoppedByUs).toBe(true);
    expect(entries()).toEqual([]);
  });
});
