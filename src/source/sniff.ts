/**
 * The one content sniffer: what a file is, from its first bytes (and, for a
 * dump that lost its head, its last). Every command that recognises dumps
 * (verify's discovery, openInput, the wraparound pre-check) asks here.
 */
import type { AmandaHeader } from './container.js';

/** Tag 1 + DUMP_BEGIN_MAGIC (FORMAT.md: the dump header's first 5 bytes). */
export const DUMP_HEAD = Buffer.from([0x01, 0xb3, 0xa1, 0x13, 0x22]);
/** Tag 8 (D_DUMPEND) + DUMP_END_MAGIC: the end marker, the last 5 bytes of a dump. */
export const DUMP_END = Buffer.from([0x08, 0x3a, 0x21, 0x4b, 0x6e]);
/** Amanda's header block size. */
export const AMANDA_HEADER_SIZE = 32768;
/** How many leading bytes sniff wants (an Amanda block and the stream's first bytes after it). */
export const SNIFF_BYTES = AMANDA_HEADER_SIZE + 16;

export type ContentKind =
  | 'dump' // a dump header at byte 0
  | 'gzip'
  | 'bzip2'
  | 'xz'
  | 'zstd'
  | 'compress' // Unix compress (.Z)
  | 'amanda' // an Amanda header block (FILE, SPLIT_FILE, CONT_FILE)
  | 'amanda-other' // an Amanda header of another kind (tape label, TAPEEND...)
  | 'archive' // another archive format (tar, zip, 7z, rar, cpio...)
  | 'unknown';

/** Compressors by magic (the first bytes of the stream). */
export function compressionOf(b: Buffer): 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'compress' | null {
  if (b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 8) return 'gzip';
  if (b.length >= 4 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68 && b[3] >= 0x31 && b[3] <= 0x39) return 'bzip2';
  if (b.length >= 6 && b[0] === 0xfd && b.toString('latin1', 1, 6) === '7zXZ\0') return 'xz';
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x9d) return 'compress';
  return null;
}

function isOtherArchive(b: Buffer): boolean {
  if (b.length >= 262 && b.toString('latin1', 257, 262) === 'ustar') return true;
  if (b.length >= 4 && b.toString('latin1', 0, 4) === 'PK\x03\x04') return true;
  if (b.length >= 6 && b.toString('latin1', 0, 6) === '7z\xbc\xaf\x27\x1c') return true;
  if (b.length >= 4 && b.toString('latin1', 0, 4) === 'Rar!') return true;
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === '070701' || b.toString('latin1', 0, 6) === '070707')) return true;
  if (b.length >= 7 && b.toString('latin1', 0, 7) === '!<arch>') return true;
  return false;
}

export interface Sniffed {
  kind: ContentKind;
  /** kind 'amanda': the parsed header. */
  amanda?: AmandaHeader;
  /** kind 'amanda': what follows the header block, by its magic ('dump', a compressor, or unknown). */
  inner?: ContentKind;
}

/** What `head` (the first bytes of a file, up to SNIFF_BYTES) is. */
export function sniff(head: Buffer): Sniffed {
  if (head.length >= 5 && head.subarray(0, 5).equals(DUMP_HEAD)) return { kind: 'dump' };
  const c = compressionOf(head);
  if (c) return { kind: c };
  const a = parseAmandaHeader(head);
  if (a) {
    if (a.type !== 'FILE' && a.type !== 'SPLIT_FILE' && a.type !== 'CONT_FILE') return { kind: 'amanda-other', amanda: a };
    const rest = head.subarray(AMANDA_HEADER_SIZE);
    const inner = rest.length === 0 ? 'unknown' : sniff(rest).kind;
    return { kind: 'amanda', amanda: a, inner };
  }
  if (isOtherArchive(head)) return { kind: 'archive' };
  return { kind: 'unknown' };
}

/** True when the last bytes of a file are a dump's end marker (a dump that lost its head). */
export function endsWithEndMarker(tail: Buffer): boolean {
  return tail.length >= 5 && tail.subarray(tail.length - 5).equals(DUMP_END);
}

/**
 * Parse an Amanda header block: `AMANDA: FILE <date> <host> <disk> lev <N>
 * comp <suffix> program <prog>` (SPLIT_FILE has `part <n>/<total>` after the
 * disk), then lines such as `CONT_FILENAME=<file>` and `PARTIAL=yes`. Very old
 * headers begin `NETDUMP:`. Null when `b` does not start with one.
 */
export function parseAmandaHeader(b: Buffer): AmandaHeader | null {
  const prefix = b.toString('latin1', 0, 8);
  if (!prefix.startsWith('AMANDA: ') && !prefix.startsWith('NETDUMP:')) return null;
  const end = b.indexOf(0, 0);
  const text = b.toString('latin1', 0, end < 0 ? Math.min(b.length, AMANDA_HEADER_SIZE) : Math.min(end, AMANDA_HEADER_SIZE));
  const lines = text.split('\n');
  const words = lines[0].trim().split(/\s+/);
  const type = words[1] ?? '';
  const h: AmandaHeader = { type, datestamp: '', host: '', disk: '', level: null, comp: 'N', program: null, part: null, contFilename: null, partial: null };
  if (type === 'FILE' || type === 'SPLIT_FILE' || type === 'CONT_FILE') {
    h.datestamp = words[2] ?? '';
    h.host = words[3] ?? '';
    h.disk = words[4] ?? '';
    for (let i = 5; i < words.length; i++) {
      const w = words[i];
      const v = words[i + 1];
      if (w === 'part' && v !== undefined) (h.part = v), i++;
      else if (w === 'lev' && v !== undefined) (h.level = /^\d+$/.test(v) ? Number(v) : null), i++;
      else if (w === 'comp' && v !== undefined) (h.comp = v), i++;
      else if (w === 'program' && v !== undefined) (h.program = v), i++;
    }
  }
  for (const l of lines.slice(1)) {
    const m = /^CONT_FILENAME=(.*)$/.exec(l.trim());
    if (m && m[1] !== '') h.contFilename = m[1];
    const p = /^PARTIAL=(yes|no)$/i.exec(l.trim());
    if (p) h.partial = p[1].toLowerCase() === 'yes';
  }
  return h;
}

/** The compressor Amanda's `comp` suffix names (`N`: none). */
export function compressionOfSuffix(comp: string): 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'compress' | null {
  switch (comp) {
    case 'N':
      return 'none';
    case '.gz':
      return 'gzip';
    case '.bz2':
      return 'bzip2';
    case '.xz':
      return 'xz';
    case '.zst':
      return 'zstd';
    case '.Z':
      return 'compress';
    default:
      return null;
  }
}
