/**
 * gzip (RFC 1952), one member or several, decoded streaming through Node's
 * zlib (raw inflate on the thread pool while the caller parses the previous
 * output). codadump reads the member headers and trailers itself, so that
 * every container problem gets its compressed offset: a member that does
 * not decode, a member cut short, a CRC-32 or a size (ISIZE, the member's
 * length modulo 2^32) that disagrees with the bytes, bytes after the last
 * member. The decoded bytes that came out before a problem are kept: the
 * dump reader then says what the dump lost.
 *
 * Memory: compressed input is fed 64 KiB at a time and the output of one
 * write is handed on before the next but one is made (at most 64 KiB times
 * deflate's ratio limit, about 66 MB, for the most compressible input).
 */
import { createInflateRaw, crc32, type InflateRaw } from 'node:zlib';
import { finding } from '../diagnostics/finding.js';
import type { ContainerInfo } from './container.js';
import type { RawInput } from './raw-input.js';

const IN_CHUNK = 64 << 10;
const OUT_CHUNK = 128 << 10;

/** Bytes 0-2 of every member. */
function isMemberStart(b: Buffer): boolean {
  return b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 8;
}

type HeaderResult = { ok: true } | { ok: false; truncated: boolean; why: string };

/** Read a member header (the first 10 bytes are known to be one); leaves the input at the deflate data. */
async function readHeader(input: RawInput, first10: Buffer): Promise<HeaderResult> {
  const flg = first10[3];
  if (flg & 0xe0) return { ok: false, truncated: false, why: `reserved flag bits set (0x${flg.toString(16)})` };
  if (flg & 4) {
    const xl = await input.readExact(2);
    if (xl.length < 2) return { ok: false, truncated: true, why: 'ends inside the header' };
    const x = await input.readExact(xl.readUInt16LE(0));
    if (x.length < xl.readUInt16LE(0)) return { ok: false, truncated: true, why: 'ends inside the header' };
  }
  for (const bit of [8, 16]) {
    if (!(flg & bit)) continue;
    // A NUL-terminated name or comment: read on until the NUL, giving back what follows.
    for (;;) {
      const b = await input.read(4096);
      if (!b) return { ok: false, truncated: true, why: 'ends inside the header' };
      const z = b.indexOf(0);
      if (z >= 0) {
        input.unread(b.subarray(z + 1));
        break;
      }
    }
  }
  if (flg & 2) {
    const h = await input.readExact(2);
    if (h.length < 2) return { ok: false, truncated: true, why: 'ends inside the header' };
  }
  return { ok: true };
}

/**
 * The decoded bytes of a gzip stream. Findings go to `c.findings`; the
 * generator ends after the last member or at the first problem.
 */
export async function* gunzip(input: RawInput, c: ContainerInfo): AsyncGenerator<Buffer> {
  try {
    yield* members(input, c);
  } finally {
    await input.close();
  }
}

async function* members(input: RawInput, c: ContainerInfo): AsyncGenerator<Buffer> {
  const at = (pos: number, code: Parameters<typeof finding>[0], message: string, severity?: 'error' | 'warning' | 'info') => {
    const w = input.where(pos);
    c.findings.push(finding(code, w.offset, `${message}${c.pieces.length > 1 ? ` (in ${w.file})` : ''}`, { file: w.file, ...(severity ? { severity } : {}) }));
  };
  let decoded = 0;
  for (;;) {
    const memberStart = input.position;
    const head = await input.readExact(10);
    if (head.length === 0) {
      if (c.members === 0) at(memberStart, 'GZIP_TRUNCATED', 'empty gzip stream');
      break;
    }
    if (!isMemberStart(head) || head.length < 10) {
      if (c.members > 0 && !isMemberStart(head)) {
        // Bytes after the last member: count them (all zero is tape or block padding).
        let n = head.length;
        let zero = head.every((x) => x === 0);
        for (let b = await input.read(); b; b = await input.read()) {
          n += b.length;
          if (zero && !b.every((x) => x === 0)) zero = false;
        }
        at(memberStart, 'GZIP_TRAILING', `${n} bytes after the last gzip member${zero ? ' (all zero: padding)' : ''}`, zero ? 'info' : undefined);
      } else if (head.length < 10 && (c.members > 0 || isMemberStart(head) || head.length < 3)) {
        at(input.position, 'GZIP_TRUNCATED', `gzip member ${c.members + 1} ends inside its header`);
      } else {
        at(memberStart, 'GZIP_CORRUPT', 'not a gzip member header');
      }
      break;
    }
    const h = await readHeader(input, head);
    if (!h.ok) {
      at(h.truncated ? input.position : memberStart, h.truncated ? 'GZIP_TRUNCATED' : 'GZIP_CORRUPT', `gzip member ${c.members + 1} header ${h.why}`);
      break;
    }
    c.members++;
    const dataStart = input.position;
    const inf: InflateRaw = createInflateRaw({ chunkSize: OUT_CHUNK });
    const out: Buffer[] = [];
    let error: Error | null = null;
    let endEmitted = false;
    inf.on('data', (b: Buffer) => out.push(b));
    inf.on('error', (e) => (error ??= e));
    const ended = new Promise<void>((res) => {
      inf.once('end', () => ((endEmitted = true), res()));
      inf.once('close', () => res());
    });
    let written = 0;
    let crc = 0;
    let size = 0;
    // A write whose data does not decode gets no callback once the stream fails: 'error' (or 'close') ends the wait too.
    const write = (b: Buffer) =>
      new Promise<void>((res) => {
        if (inf.destroyed || error) return res();
        const done = () => {
          inf.off('error', done);
          inf.off('close', done);
          res();
        };
        inf.once('error', done);
        inf.once('close', done);
        inf.write(b, done);
      });
    let finished = false;
    let truncated = false;
    let chunk = await input.read(IN_CHUNK);
    let pending: Promise<void> | null = chunk ? write(chunk) : null;
    if (chunk) written += chunk.length;
    try {
      while (pending) {
        await pending;
        pending = null;
        if (error) break;
        const consumed = inf.bytesWritten;
        if (consumed < written) {
          // The deflate data ended inside this chunk: the rest is the trailer and what follows.
          input.unread(chunk!.subarray(chunk!.length - (written - consumed)));
          finished = true;
          break;
        }
        chunk = await input.read(IN_CHUNK);
        if (chunk) {
          written += chunk.length;
          pending = write(chunk);
        }
        for (const b of out.splice(0)) {
          crc = crc32(b, crc);
          size += b.length;
          decoded += b.length;
          yield b;
        }
        if (!chunk) {
          // End of input: a complete deflate stream flushes quietly, a cut one fails.
          await new Promise<void>((res) => inf.end(() => res()));
          if (!error && !endEmitted) await Promise.race([ended, new Promise((r) => setImmediate(r))]);
          if (error) truncated = /unexpected end/i.test((error as Error).message);
          else finished = true;
          break;
        }
      }
      if (finished && !endEmitted) await ended;
      // What came out before the end (or before a problem) is the dump's.
      for (const b of out.splice(0)) {
        crc = crc32(b, crc);
        size += b.length;
        decoded += b.length;
        yield b;
      }
    } finally {
      // Also when the reader stops early (return()): no yield here, only cleanup.
      inf.destroy();
    }
    if (error && /unexpected end/i.test((error as Error).message) && input.position >= dataStart + inf.bytesWritten) truncated = true;
    if (error && !truncated) {
      at(dataStart + Math.max(0, inf.bytesWritten), 'GZIP_CORRUPT', `gzip member ${c.members}: deflate data does not decode (${(error as Error).message})`);
      break;
    }
    if (truncated) {
      at(input.position, 'GZIP_TRUNCATED', `gzip member ${c.members} is cut short: the input ends inside its compressed data`);
      break;
    }
    const trailerAt = input.position;
    const t = await input.readExact(8);
    if (t.length < 8) {
      at(input.position, 'GZIP_TRUNCATED', `gzip member ${c.members} is cut short: the input ends inside its 8-byte trailer`);
      break;
    }
    const wantCrc = t.readUInt32LE(0);
    const wantSize = t.readUInt32LE(4);
    if (wantCrc !== crc >>> 0) {
      at(trailerAt, 'GZIP_CRC', `gzip member ${c.members}: CRC-32 in the trailer is ${hex(wantCrc)}, the decoded bytes give ${hex(crc >>> 0)}`);
    }
    if (wantSize !== size % 2 ** 32) {
      at(trailerAt + 4, 'GZIP_SIZE', `gzip member ${c.members}: the trailer declares ${wantSize} bytes (size mod 2^32), it decodes to ${size} (${size % 2 ** 32} mod 2^32)`);
    }
  }
  c.compressedSize = Math.max(c.compressedSize, input.position);
  c.decodedSize = decoded;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
