/**
 * Fixture dumps for the wraparound tests: generated trees packed with
 * packTree (deterministic content from a seeded generator), and the
 * record layout of a dump read independently of diagnose.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { createHash } from 'node:crypto';
import { packTree } from '../../src/pack/pack.js';
import { walkTree } from '../../src/pack/tree.js';
import { writeDumpFile } from '../../src/io/write-dump.js';
import { openDump } from '../../src/format/open.js';
import { creationOrder, decodeDirectory } from '../../src/dir/pages.js';
import { simulateFile, type SimulateResult } from '../../src/simulate/simulate.js';

/** Deterministic pseudo-random bytes (xorshift32). */
import { noise } from '../tree.js';
import { readAt } from '../helpers.js';
export { readAt };
export { noise };

export interface TreeSpec {
  /** Relative path -> size in bytes (files), or { link: target } (symbolic links); directories are implied. */
  [rel: string]: number | { link: string } | { dir: true };
}

export function makeTree(root: string, spec: TreeSpec): void {
  fs.mkdirSync(root, { recursive: true });
  let seed = 1;
  for (const [rel, what] of Object.entries(spec)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof what === 'number') fs.writeFileSync(p, noise(what, seed++ * 7919));
    else if ('link' in what) fs.symlinkSync(what.link, p);
    else fs.mkdirSync(p, { recursive: true });
  }
}

export async function packDir(dir: string, out: string, sparse = false): Promise<number> {
  const layout = await walkTree(dir);
  const r = await writeDumpFile(out, packTree(dir, { backupDate: 1_700_000_000, name: 'wrap.test' }, layout), { sparse });
  return r.bytes;
}

export interface RecInfo {
  kind: string;
  offset: number;
  /** End including file data. */
  end: number;
  vnode?: number;
  unique?: number;
  type?: number;
  /** Directory entries (directories). */
  entries?: { name: string; vnode: number; unique: number }[];
  /** SHA-256 of file data (files). */
  sha?: string;
  parent?: number;
  parentUnique?: number;
}

/** Every record of a sound dump with its offsets (read with the plain DumpReader). */
export async function layoutOf(file: string, hash = true): Promise<{ records: RecInfo[]; length: number }> {
  const reader = await openDump(file);
  const records: RecInfo[] = [];
  let length = 0;
  for await (const r of reader.records()) {
    if (r.kind === 'vnode') {
      const info: RecInfo = { kind: 'vnode', offset: r.offset, end: r.offset + r.size, vnode: r.vnode, unique: r.unique, type: r.type, parent: r.parent, parentUnique: r.parentUnique };
      if (r.data.kind === 'filedata') {
        info.end = r.data.start + r.data.length;
        if (hash) {
          const h = createHash('sha256');
          for await (const piece of reader.fileData()) h.update(piece);
          info.sha = h.digest('hex');
        }
      } else if (r.data.kind === 'dirpages') {
        // In creation order when the layout allows (else hash-chain order).
        const order = creationOrder(r.data.pages) ?? decodeDirectory(r.data.pages);
        info.entries = order.map((e) => ({ name: e.name, vnode: e.vnode, unique: e.unique }));
      }
      records.push(info);
    } else {
      records.push({ kind: r.kind, offset: r.offset, end: r.offset + r.size });
      if (r.kind === 'end') length = r.offset + r.size;
    }
  }
  return { records, length };
}

/** Paths of vnodes (`vnode.unique` -> path) from the directories of a layout. */
export function pathsOf(records: RecInfo[]): Map<string, string> {
  const byKey = new Map(records.filter((r) => r.kind === 'vnode').map((r) => [`${r.vnode}.${r.unique}`, r]));
  const paths = new Map<string, string>();
  const root = records.find((r) => r.vnode === 1)!;
  paths.set(`1.${root.unique}`, '.');
  const queue = [root];
  while (queue.length) {
    const d = queue.shift()!;
    const base = paths.get(`${d.vnode}.${d.unique}`)!;
    for (const e of d.entries ?? []) {
      if (e.name === '.' || e.name === '..') continue;
      const k = `${e.vnode}.${e.unique}`;
      if (paths.has(k)) continue;
      paths.set(k, base === '.' ? e.name : `${base}/${e.name}`);
      const c = byKey.get(k);
      if (c?.entries) queue.push(c);
    }
  }
  return paths;
}

/** SHA-256 of each file's data in a dump (`vnode.unique` -> hex). */
export async function fileDigests(file: string): Promise<Map<string, string>> {
  const { records } = await layoutOf(file, true);
  return new Map(records.filter((r) => r.sha !== undefined).map((r) => [`${r.vnode}.${r.unique}`, r.sha!]));
}

/** A tree of about `total` bytes: a few directories, many small files and one file larger than a chunk. */
export function wrapTreeSpec(scale = 1): TreeSpec {
  const spec: TreeSpec = {
    'README': 1200,
    'big.bin': 600_000,
    'latest': { link: 'docs/report-00.txt' },
    'src/lib/util.c': 9000,
    'src/main.c': 14000,
    'empty': { dir: true },
  };
  for (let i = 0; i < 30; i++) spec[`docs/report-${String(i).padStart(2, '0')}.txt`] = Math.round((12_000 + 1500 * i) * scale);
  for (let i = 0; i < 12; i++) spec[`src/lib/mod-${String(i).padStart(2, '0')}.c`] = Math.round(7000 * scale) + 333 * i;
  return spec;
}

/** A distinctive mark placed in an otherwise all-zero (sparse) file. */
export interface Mark {
  at: number;
  bytes: Buffer;
}

export function marksFor(name: string, size: number): Mark[] {
  const m = (label: string) => Buffer.from(`<<${name}:${label}>>`, 'latin1');
  const out: Mark[] = [{ at: 0, bytes: m('start') }];
  if (size > 1 << 20) out.push({ at: Math.floor(size / 2), bytes: m('middle') });
  const end = m('end');
  if (size > 64 + end.length) out.push({ at: size - 64, bytes: end });
  return out.filter((x) => x.at + x.bytes.length <= size);
}

/** Create a sparse file of `size` bytes: zeros except the marks. */
export function writeSparse(file: string, size: number, marks: Mark[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (const mk of marks) fs.writeSync(fd, mk.bytes, 0, mk.bytes.length, mk.at);
  } finally {
    fs.closeSync(fd);
  }
}

const ZEROS = Buffer.alloc(16 << 20);

/** SHA-256 of such a file's content, computed without reading it. */
export function sparseDigest(size: number, marks: Mark[]): string {
  const h = createHash('sha256');
  let pos = 0;
  for (const mk of [...marks].sort((a, b) => a.at - b.at)) {
    while (pos < mk.at) {
      const n = Math.min(ZEROS.length, mk.at - pos);
      h.update(ZEROS.subarray(0, n));
      pos += n;
    }
    h.update(mk.bytes);
    pos += mk.bytes.length;
  }
  while (pos < size) {
    const n = Math.min(ZEROS.length, size - pos);
    h.update(ZEROS.subarray(0, n));
    pos += n;
  }
  return h.digest('hex');
}

/** A directory for big sparse files: tmpfs when there is one (holes read fast), else the system temp dir. */
export function bigTempDir(prefix: string): string {
  const env = process.env.CODADUMP_BIG_TMP;
  const bases = env ? [env] : ['/dev/shm'];
  for (const b of bases) {
    try {
      const st = fs.statfsSync(b);
      if (st.bavail * st.bsize > 256 * 2 ** 20) return fs.mkdtempSync(path.join(b, prefix));
    } catch {
      /* not there */
    }
  }
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface SimFixture {
  orig: string;
  /** Stream length of the original dump. */
  L: number;
  damaged: string;
  sim: SimulateResult;
}

export interface WrapFixtures {
  dir: string;
  /** ~1.85 MB dump through receiver A with W = 2^20: model A1. */
  a1: SimFixture;
  /** ~1.27 MB dump through receiver A: crosses W, nothing overwritten (F = L). */
  intact: SimFixture;
  /** The ~1.27 MB dump through receiver B: only its last chunk is left. */
  b: SimFixture;
  /** The ~1.85 MB dump through receiver B: the last chunk before W, partly overwritten by the post-wrap chunks. */
  bWrapped: SimFixture;
  /** ~1.64 MB dump whose big file is aligned so that a 262,144-byte chunk ends exactly at W: model A2. */
  a2: SimFixture;
}

export const WRAP_BITS = 20;
export const W20 = 2 ** WRAP_BITS;

/** Build every small wraparound fixture under `dir` (about 0.5 s). */
export async function buildWrapFixtures(dir: string): Promise<WrapFixtures> {
  makeTree(path.join(dir, 'tree-a1'), wrapTreeSpec(1.1));
  makeTree(path.join(dir, 'tree-ok'), wrapTreeSpec(0.55));
  const a1orig = path.join(dir, 'a1-orig.dump');
  const okorig = path.join(dir, 'ok-orig.dump');
  const La1 = await packDir(path.join(dir, 'tree-a1'), a1orig);
  const Lok = await packDir(path.join(dir, 'tree-ok'), okorig);
  const sim = async (orig: string, L: number, name: string, receiver: 'A' | 'B', chunkSize?: number): Promise<SimFixture> => {
    const damaged = path.join(dir, name);
    const r = await simulateFile(orig, damaged, { receiver, wrapBits: WRAP_BITS, chunkSize });
    return { orig, L, damaged, sim: r };
  };
  // A2: README, a pad file, then a big file whose data starts on a 4096 boundary, so
  // that 262,144-byte chunks (64 pieces) inside it end on multiples of 2^18, one at W.
  const t2 = path.join(dir, 'tree-a2');
  const spec: TreeSpec = { 'README': 900, 'a-pad': 0, 'big.bin': 1_300_000 };
  for (let i = 0; i < 10; i++) spec[`docs/note-${i}.txt`] = 30_000 + 777 * i;
  makeTree(t2, spec);
  const a2orig = path.join(dir, 'a2-orig.dump');
  await packDir(t2, a2orig);
  const big = (await layoutOf(a2orig, false)).records.find((r) => r.kind === 'vnode' && r.end - r.offset > 1_300_000)!;
  const pad = (4096 - ((big.end - 1_300_000) % 4096)) % 4096;
  fs.writeFileSync(path.join(t2, 'a-pad'), noise(pad, 4242));
  fs.rmSync(a2orig);
  const La2 = await packDir(t2, a2orig);
  return {
    dir,
    a1: await sim(a1orig, La1, 'a1-A.dump', 'A'),
    intact: await sim(okorig, Lok, 'ok-A.dump', 'A'),
    b: await sim(okorig, Lok, 'ok-B.dump', 'B'),
    bWrapped: await sim(a1orig, La1, 'a1-B.dump', 'B'),
    a2: await sim(a2orig, La2, 'a2-A.dump', 'A', 262144),
  };
}

export { sha256File } from '../helpers.js';

