/**
 * The pieces of an Amanda dump (FORMAT.md section 6) and how they find one
 * another: a holding-disk dump split into chunks names its next piece
 * (`CONT_FILENAME=`; each continuation starts `AMANDA: CONT_FILE`), and a
 * dump Amanda split for tape is a series of `SPLIT_FILE` files, `part n/total`
 * in each header, whose data (each after its 32 KiB header) joined in part
 * order is the whole stream. The parts do not name each other: they are the
 * files beside one another whose headers say the same date, host, disk and
 * level.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AmandaHeader } from './container.js';
import { AMANDA_HEADER_SIZE, parseAmandaHeader } from './sniff.js';

/** The Amanda header at the start of a file, or null (none, or the file cannot be read). */
export async function readAmandaHeader(path: string): Promise<AmandaHeader | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const b = Buffer.alloc(AMANDA_HEADER_SIZE);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    return parseAmandaHeader(b.subarray(0, bytesRead));
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** `part n/total` of a SPLIT_FILE header: n, and total (null when Amanda did not know it: `UNKNOWN`, `-1`). */
export function splitPart(h: AmandaHeader): { n: number; total: number | null } | null {
  if (h.type !== 'SPLIT_FILE' || h.part === null) return null;
  const m = /^(\d+)\/(.*)$/.exec(h.part);
  if (!m) return null;
  const total = /^\d+$/.test(m[2]) && Number(m[2]) > 0 ? Number(m[2]) : null;
  return { n: Number(m[1]), total };
}

/** A piece whose data starts inside a stream: a CONT_FILE, or a SPLIT_FILE part after the first. */
export function isContinuation(h: AmandaHeader): boolean {
  if (h.type === 'CONT_FILE') return true;
  const p = splitPart(h);
  return p !== null && p.n > 1;
}

/** True when two headers are of the same dump (date, host, disk, level). */
export function sameDump(a: AmandaHeader, b: AmandaHeader): boolean {
  return a.datestamp === b.datestamp && a.host === b.host && a.disk === b.disk && a.level === b.level;
}

/** `host:disk level L date D`, as messages name a dump. */
export function dumpName(h: AmandaHeader): string {
  return `${h.host}:${h.disk}${h.level !== null ? ` level ${h.level}` : ''} date ${h.datestamp}`;
}

export interface AmandaFile {
  path: string;
  header: AmandaHeader;
}

/** The files of a directory that start with an Amanda header of a dump (FILE, SPLIT_FILE, CONT_FILE), in name order. */
export async function amandaFilesIn(dir: string): Promise<AmandaFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return [];
  }
  const out: AmandaFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const st = await stat(path);
      if (!st.isFile() || st.size < 8) continue;
    } catch {
      continue;
    }
    const header = await readAmandaHeader(path);
    if (header && (header.type === 'FILE' || header.type === 'SPLIT_FILE' || header.type === 'CONT_FILE')) out.push({ path, header });
  }
  return out;
}

/**
 * The parts of the split dump whose part `first` is (its header `h`), in
 * order, from the files beside it: part 1 is `first`; each later part is the
 * file with the same date, host, disk and level and that part number, or
 * null when none holds it. With a known total, parts 1..total; without one,
 * up to the highest part found.
 */
export async function splitParts(first: string, h: AmandaHeader, files?: AmandaFile[]): Promise<{ n: number; path: string | null }[]> {
  const p = splitPart(h);
  if (!p) return [{ n: 1, path: first }];
  const all = files ?? (await amandaFilesIn(dirname(first)));
  const byPart = new Map<number, string>();
  for (const f of all) {
    const q = splitPart(f.header);
    if (q && sameDump(f.header, h) && !byPart.has(q.n)) byPart.set(q.n, f.path);
  }
  byPart.set(p.n, first);
  const last = p.total ?? Math.max(...byPart.keys());
  const out: { n: number; path: string | null }[] = [];
  for (let n = p.n; n <= last; n++) out.push({ n, path: byPart.get(n) ?? null });
  return out;
}

/**
 * For a continuation piece: the file beside it that its dump starts with
 * (the FILE or CONT_FILE whose CONT_FILENAME= names it, followed back to the
 * first; or part 1 of a split dump), or null when there is none.
 */
export async function firstPieceOf(path: string, h: AmandaHeader, files?: AmandaFile[]): Promise<string | null> {
  const all = files ?? (await amandaFilesIn(dirname(path)));
  if (h.type === 'CONT_FILE') {
    let name = basename(path);
    const seen = new Set<string>();
    for (;;) {
      const prev = all.find((f) => f.header.contFilename !== null && basename(f.header.contFilename) === name);
      if (!prev || seen.has(prev.path)) return null;
      if (prev.header.type !== 'CONT_FILE') return prev.path;
      seen.add(prev.path);
      name = basename(prev.path);
    }
  }
  const first = all.find((f) => sameDump(f.header, h) && splitPart(f.header)?.n === 1);
  return first ? first.path : null;
}
