/**
 * What a dump was unwrapped from: a gzip stream, an Amanda holding-disk or
 * tape file (its 32 KiB header, possibly split across pieces), or the output
 * of an external decompressor. The dump's own offsets are in the
 * decompressed stream; the container's findings carry offsets in the
 * compressed bytes (the file named by `file`, or the input itself).
 */
import type { DumpFinding } from '../diagnostics/finding.js';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'compress' | 'command';

/** Amanda's header block, as far as codadump reads it (FORMAT.md section 6). */
export interface AmandaHeader {
  /** FILE, SPLIT_FILE or CONT_FILE. */
  type: string;
  datestamp: string;
  host: string;
  disk: string;
  level: number | null;
  /** The `comp` word: `N` (not compressed) or a suffix such as `.gz`. */
  comp: string;
  program: string | null;
  /** SPLIT_FILE: `part n/total`. */
  part: string | null;
  /** CONT_FILENAME=: the next holding-disk piece, as the header names it. */
  contFilename: string | null;
  partial: boolean | null;
}

export interface ContainerInfo {
  /** How the dump stream was encoded. */
  compression: Compression;
  /** The program run to decode it (external decompressors). */
  command?: string;
  amanda?: AmandaHeader;
  /** The files read, in order (more than one for a dump split across holding-disk pieces). */
  pieces: string[];
  /** Compressed bytes read (all pieces, headers included). */
  compressedSize: number;
  /** gzip: members read. */
  members: number;
  /** Decoded bytes, once the stream was read to its end. */
  decodedSize: number | null;
  /** What is wrong with the container itself (offsets in compressed bytes). */
  findings: DumpFinding[];
}

export function newContainer(compression: Compression, pieces: string[]): ContainerInfo {
  return { compression, pieces, compressedSize: 0, members: 0, decodedSize: null, findings: [] };
}

/** One line for people: `gzip, 3 members, 1234 compressed bytes; Amanda FILE host:/disk level 0 of 20240101`. */
export function describeContainer(c: ContainerInfo): string {
  const parts: string[] = [];
  if (c.compression !== 'none') {
    const what = c.compression === 'command' ? `decoded by '${c.command}'` : c.compression + (c.command ? ` (via ${c.command})` : '');
    parts.push(`${what}${c.compression === 'gzip' && c.members > 1 ? `, ${c.members} members` : ''}, ${c.compressedSize} compressed bytes`);
  }
  if (c.amanda) {
    const a = c.amanda;
    parts.push(`Amanda ${a.type} ${a.host}:${a.disk}${a.level !== null ? ` level ${a.level}` : ''} date ${a.datestamp}${a.part ? ` part ${a.part}` : ''}${c.pieces.length > 1 ? `, ${c.pieces.length} ${a.type === 'SPLIT_FILE' ? 'parts' : 'holding-disk pieces'}` : ''}`);
  }
  return parts.join('; ');
}
