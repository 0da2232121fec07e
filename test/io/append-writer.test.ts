import { describe, expect, it } from 'vitest';
import { AppendWriter, checkChunkOffset, type ByteSink } from '../../src/io/append-writer.js';
import { DumpError } from '../../src/format/errors.js';
import { TWO_32 } from '../../src/format/constants.js';

class CountingSink implements ByteSink {
  bytes = 0;
  parts: Buffer[] = [];
  keep: boolean;
  constructor(keep = true) {
    this.keep = keep;
  }
  write(buf: Buffer): void {
    this.bytes += buf.length;
    if (this.keep) this.parts.push(Buffer.from(buf));
  }
}

async function catchErr(p: Promise<unknown> | (() => unknown)): Promise<DumpError> {
  try {
    if (typeof p === 'function') await p();
    else await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DumpError);
    return e as DumpError;
  }
  throw new Error('expected a DumpError');
}

describe('AppendWriter', () => {
  it('appends in order and tracks the position', async () => {
    const sink = new CountingSink();
    const w = new AppendWriter(sink);
    await w.writeChunk(Buffer.from('abc'), 0);
    await w.writeChunk(Buffer.from('defg'), 3);
    await w.writeChunk(Buffer.from('h')); // no offset: no check
    expect(w.position).toBe(8);
    expect(Buffer.concat(sink.parts).toString()).toBe('abcdefgh');
  });

  it('rejects a lost chunk (offset ahead) without writing', async () => {
    const sink = new CountingSink();
    const w = new AppendWriter(sink, { file: 'out.dump' });
    await w.writeChunk(Buffer.alloc(1000), 0);
    const err = await catchErr(w.writeChunk(Buffer.alloc(10), 2000));
    expect(err.code).toBe('CHUNK_OFFSET');
    expect(err.offset).toBe(1000);
    expect(err.file).toBe('out.dump');
    expect(err.message).toContain('expected 32-bit offset 1000');
    expect(err.message).toContain('got 2000');
    expect(err.message).toContain('lost');
    expect(sink.bytes).toBe(1000);
    expect(w.position).toBe(1000);
  });

  it('rejects a repeated chunk (offset behind)', async () => {
    const w = new AppendWriter(new CountingSink());
    await w.writeChunk(Buffer.alloc(500), 0);
    await w.writeChunk(Buffer.alloc(500), 500);
    const err = await catchErr(w.writeChunk(Buffer.alloc(500), 500));
    expect(err.code).toBe('CHUNK_OFFSET');
    expect(err.message).toContain('repeated');
  });

  it('checks offsets modulo 2^32 past 4 GiB', async () => {
    const sink = new CountingSink(false);
    const start = TWO_32 - 10;
    const w = new AppendWriter(sink, { startPosition: start });
    await w.writeChunk(Buffer.alloc(20), TWO_32 - 10); // straddles 2^32
    expect(w.position).toBe(TWO_32 + 10);
    await w.writeChunk(Buffer.alloc(5), 10); // wrapped offset is what arrives
    expect(w.position).toBe(TWO_32 + 15);
    // The true 64-bit offset is never a valid 32-bit wire value.
    const e1 = await catchErr(w.writeChunk(Buffer.alloc(1), TWO_32 + 15));
    expect(e1.code).toBe('CHUNK_OFFSET');
    // A chunk offset equal to the position without the wrap is a mismatch.
    const w2 = new AppendWriter(sink, { startPosition: 3 * TWO_32 + 7 });
    const e2 = await catchErr(w2.writeChunk(Buffer.alloc(1), 0));
    expect(e2.code).toBe('CHUNK_OFFSET');
    expect(e2.offset).toBe(3 * TWO_32 + 7);
    expect(e2.message).toContain(`true position ${3 * TWO_32 + 7}`);
    await w2.writeChunk(Buffer.alloc(1), 7);
    expect(w2.position).toBe(3 * TWO_32 + 8);
  });

  it('detects a lost chunk right after the wrap', async () => {
    const w = new AppendWriter(new CountingSink(false), { startPosition: TWO_32 - 512000 });
    await w.writeChunk(Buffer.alloc(512000), TWO_32 - 512000);
    // The next chunk (offset 0) was lost; the one after arrives with 512000.
    const err = await catchErr(w.writeChunk(Buffer.alloc(512000), 512000));
    expect(err.code).toBe('CHUNK_OFFSET');
    expect(err.message).toContain('512000 bytes are missing');
  });

  it('rejects non-32-bit offsets and bad start positions', async () => {
    expect(() => checkChunkOffset(0, -1)).toThrow(DumpError);
    expect(() => checkChunkOffset(0, 1.5)).toThrow(DumpError);
    expect(() => new AppendWriter(new CountingSink(), { startPosition: -1 })).toThrow(DumpError);
  });

  it('stays failed after a sink error', async () => {
    let calls = 0;
    const sink: ByteSink = {
      async write() {
        calls++;
        throw new DumpError('IO', 'cannot write output: ENOSPC');
      },
    };
    const w = new AppendWriter(sink);
    const e1 = await catchErr(w.writeChunk(Buffer.alloc(1), 0));
    expect(e1.code).toBe('IO');
    const e2 = await catchErr(w.writeChunk(Buffer.alloc(1), 1));
    expect(e2).toBe(e1);
    expect(calls).toBe(1);
  });
});
