/**
 * The receiving side of a dump transfer, done right (WRAPAROUND.md, "The
 * fix"): chunks are appended in arrival order through an AppendWriter,
 * which keeps the true 64-bit position and checks each chunk's 32-bit
 * offset against it. Nothing here ever seeks.
 */
import { TWO_32 } from '../format/constants.js';
import type { AppendWriter } from '../io/append-writer.js';

/** A chunk as a receiver sees it: the bytes and the 32-bit offset that travelled with them. */
export interface ReceivedChunk32 {
  /** The chunk's offset in the dump modulo 2^32, as sent (unsigned 32-bit). */
  offset32: number;
  data: Buffer;
}

export interface AppendStats {
  /** Chunks appended; every one had its 32-bit offset checked. */
  chunks: number;
  /** Bytes appended (the writer's position moved by this much). */
  bytes: number;
  /** Largest chunk seen. */
  largestChunk: number;
  /**
   * Chunks checked while the true position was at or past 2^32, i.e. where
   * the received offset had wrapped (offset32 = position - k * 2^32, k >= 1).
   */
  chunksPast4GiB: number;
  /** The first such chunk: its true position and the 32-bit offset it carried. */
  firstPast4GiB: { position: number; offset32: number } | null;
}

export interface AppendOptions {
  /** Called after each chunk was appended (with the updated stats). */
  onChunk?: (chunk: ReceivedChunk32, position: number, stats: AppendStats) => void;
  /** Polled before each chunk; returning true stops early (the stats so far are returned). */
  stop?: () => boolean;
}

export function emptyStats(): AppendStats {
  return { chunks: 0, bytes: 0, largestChunk: 0, chunksPast4GiB: 0, firstPast4GiB: null };
}

/**
 * Append every chunk, in order, through `writer`. Each chunk's offset32 is
 * checked against `writer.position mod 2^32`; a mismatch rejects with
 * DumpError 'CHUNK_OFFSET' (nothing of that chunk written). Write errors
 * from the writer's sink propagate unchanged. The caller owns the sink
 * (commit or abort it).
 */
export async function appendChunks(
  chunks: AsyncIterable<ReceivedChunk32> | Iterable<ReceivedChunk32>,
  writer: AppendWriter,
  opts: AppendOptions = {},
  stats: AppendStats = emptyStats(),
): Promise<AppendStats> {
  for await (const c of chunks) {
    if (opts.stop?.()) break;
    const position = writer.position;
    await writer.writeChunk(c.data, c.offset32);
    stats.chunks++;
    stats.bytes += c.data.length;
    if (c.data.length > stats.largestChunk) stats.largestChunk = c.data.length;
    if (position >= TWO_32) {
      stats.chunksPast4GiB++;
      stats.firstPast4GiB ??= { position, offset32: c.offset32 };
    }
    opts.onChunk?.(c, position, stats);
  }
  return stats;
}
