/**
 * A synthetic full dump built on the fly (nothing stored): one root
 * directory holding the given files, encoded exactly as `pack` lays out a
 * tree, with file contents generated in pieces. For tests and benchmarks
 * that need multi-GiB dumps: zero contents cost nothing to produce (and
 * nothing on disk through a sparse output); `noise` contents are
 * pseudo-random, so nothing is sparse or trivially compressible.
 */
import { DEFAULT_ACL, formatAcl } from '../acl/acl.js';
import { VNODE_DIR, VNODE_FILE } from '../format/constants.js';
import { encodeEnd, encodeIndexHeader, encodeVnode } from '../format/encoder.js';
import { item, type DumpItem } from '../format/items.js';
import { dirPagesFor, headerAndVolume, listCounts, resolvePackOptions, vnodeFieldsFor, type PackOptions } from '../pack/pack.js';
import type { TreeLayout, TreeNode } from '../pack/tree.js';

export interface SyntheticFile {
  /** Name in the root directory (1..255 bytes, unique). */
  name: string;
  /** Content size in bytes (< 2^32). */
  size: number;
  /** `zeros` (default) or `noise`: pseudo-random bytes, each piece stamped with its position. */
  content?: 'zeros' | 'noise';
  /** Seed of the noise (default: the file's index + 1). */
  seed?: number;
}

export interface SyntheticOptions extends PackOptions {
  files: SyntheticFile[];
  /** Size of the generated file-data pieces (default 1 MiB). One buffer per kind is reused. */
  pieceSize?: number;
  /** Modification time of every vnode (default 1600000000). */
  mtime?: number;
}

/** xorshift32 noise, deterministic for a seed. */
export function noiseBuffer(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  for (; i < n; i++) b[i] = (x >>> (8 * (i & 3))) & 0xff;
  return b;
}

/** The layout `pack` would give a root directory holding exactly these files. */
export function syntheticLayout(files: readonly SyntheticFile[], mtime = 1600000000): TreeLayout {
  const root: TreeNode = {
    name: '', path: '.', fsPath: Buffer.from('.'), type: VNODE_DIR, mode: 0o755, mtime, uid: 0, size: 0,
    vnode: 1, unique: 1, parent: null, children: [],
  };
  const nodes: TreeNode[] = files.map((f, i) => {
    if (!Number.isSafeInteger(f.size) || f.size < 0 || f.size >= 2 ** 32) throw new RangeError(`file ${f.name}: size ${f.size} out of range`);
    return {
      name: f.name, path: f.name, fsPath: Buffer.from(f.name), type: VNODE_FILE, mode: 0o644, mtime, uid: 0,
      size: f.size, vnode: 2 * i + 2, unique: 2 + i, parent: root, children: [],
    };
  });
  root.children = nodes;
  return { root, dirs: [root], files: nodes, skipped: [], nextUniquifier: 2 + nodes.length };
}

/** The dump's total length in bytes, computed without generating it. */
export function syntheticLength(opts: SyntheticOptions): number {
  let n = 0;
  for (const it of syntheticRecords(opts)) n += it.kind === 'record' ? it.data.length : it.size;
  return n;
}

type Part = { kind: 'record'; data: Buffer } | { kind: 'content'; file: SyntheticFile; index: number; size: number };

function* syntheticRecords(opts: SyntheticOptions): Generator<Part> {
  const layout = syntheticLayout(opts.files, opts.mtime);
  const o = resolvePackOptions('synthetic', { volumeId: 0x01000002, parentId: 0x01000001, name: 'synthetic.backup', backupDate: 1600001000, ...opts });
  const acl = opts.acl ?? formatAcl(DEFAULT_ACL);
  const root = layout.root;
  const pages = dirPagesFor(root);
  for (const b of headerAndVolume(layout, new Map([[root, pages]]), o)) yield { kind: 'record', data: b };
  const lists = listCounts(layout);
  yield { kind: 'record', data: encodeIndexHeader('large', 1, lists.large) };
  yield { kind: 'record', data: encodeVnode(vnodeFieldsFor(root, pages.length, acl), { kind: 'dirpages', pages }) };
  yield { kind: 'record', data: encodeIndexHeader('small', layout.files.length, lists.small) };
  for (let i = 0; i < layout.files.length; i++) {
    const f = layout.files[i];
    yield { kind: 'record', data: encodeVnode(vnodeFieldsFor(f, f.size, undefined), { kind: 'filedata', length: f.size }) };
    yield { kind: 'content', file: opts.files[i], index: i, size: f.size };
  }
  yield { kind: 'record', data: encodeEnd() };
}

/**
 * The dump as DumpItems. File data comes as `filedata` items of at most
 * `pieceSize` bytes; the same buffer is reused for every piece (consumers
 * must copy what they keep, as the DumpItem contract says).
 */
export async function* syntheticDump(opts: SyntheticOptions): AsyncGenerator<DumpItem> {
  const pieceSize = opts.pieceSize ?? 1 << 20;
  const zeros = Buffer.alloc(pieceSize);
  let noise: Buffer | undefined;
  for (const p of syntheticRecords(opts)) {
    if (p.kind === 'record') {
      yield item(p.data);
      continue;
    }
    if (p.file.content === 'noise') {
      const base = noiseBuffer(pieceSize, p.file.seed ?? p.index + 1);
      noise ??= Buffer.allocUnsafe(pieceSize);
      for (let pos = 0; pos < p.size; pos += pieceSize) {
        const n = Math.min(pieceSize, p.size - pos);
        base.copy(noise, 0, 0, n);
        // Stamp the position so no two pieces are alike.
        if (n >= 8) noise.writeDoubleBE(pos, 0);
        yield { kind: 'filedata', data: noise.subarray(0, n) };
      }
    } else {
      for (let pos = 0; pos < p.size; pos += pieceSize) {
        yield { kind: 'filedata', data: zeros.subarray(0, Math.min(pieceSize, p.size - pos)) };
      }
    }
  }
}
