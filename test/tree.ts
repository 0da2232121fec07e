/** Build small directory trees for tests, with fixed modes and mtimes. */
import { chmodSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packTree, type PackOptions } from '../src/pack/pack.js';
import { collectItems } from '../src/io/write-dump.js';

export type TreeSpec = Record<string, string | Buffer | { symlink: string } | { dir: true; mode?: number } | { data: string | Buffer; mode: number }>;

export const MTIME = 1600000000;

/** Create `spec` under `root`: keys are relative paths (parents created), values contents. */
export function makeTree(root: string, spec: TreeSpec): void {
  mkdirSync(root, { recursive: true });
  const dirs = new Set<string>([root]);
  for (const [rel, v] of Object.entries(spec)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    for (let d = dirname(p); d.length >= root.length; d = dirname(d)) dirs.add(d);
    if (typeof v === 'string' || Buffer.isBuffer(v)) {
      writeFileSync(p, v);
      chmodSync(p, 0o644);
      utimesSync(p, MTIME, MTIME);
    } else if ('symlink' in v) {
      symlinkSync(v.symlink, p);
      lutimesSync(p, MTIME, MTIME);
    } else if ('dir' in v) {
      mkdirSync(p, { recursive: true });
      dirs.add(p);
      if (v.mode !== undefined) chmodSync(p, v.mode);
    } else {
      writeFileSync(p, v.data);
      chmodSync(p, v.mode);
      utimesSync(p, MTIME, MTIME);
    }
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) utimesSync(d, MTIME + 100, MTIME + 100);
}

export const PACK_OPTS: PackOptions = { volumeId: 0x01000002, parentId: 0x01000001, name: 'test.backup', backupDate: MTIME + 1000 };

export async function packToBuffer(root: string, opts: PackOptions = PACK_OPTS): Promise<Buffer> {
  return collectItems(packTree(root, opts));
}

/** A deterministic pseudo-random buffer. */
export function noise(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** The small standard test tree: 3 directories, 5 files, a symbolic link. */
export const SMALL_TREE: TreeSpec = {
  README: 'hello, coda\n',
  'docs/guide.txt': 'a guide\n'.repeat(100),
  'docs/a-rather-long-file-name-for-two-blobs.txt': 'x',
  'docs/empty': '',
  'src/main.c': { data: 'int main(void) { return 0; }\n', mode: 0o755 },
  'src/data.bin': noise(10000),
  latest: { symlink: 'docs/guide.txt' },
};
