/**
 * Inputs for the page screenshots and the page benchmark, made with the
 * built library (run `npm run build` first): a dump wrapped by receiver A
 * with W = 2^20 (model A1), and synthetic archives of many volumes.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packTree } from '../../dist/pack/pack.js';
import { walkTree } from '../../dist/pack/tree.js';
import { writeDumpFile, collectItems } from '../../dist/io/write-dump.js';
import { simulateFile } from '../../dist/simulate/simulate.js';

/** Deterministic pseudo-random bytes (xorshift32). */
export function noise(n, seed) {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 0x9e3779b9;
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

/** A tree of about 1.9 MB: a few directories, many small files, one file larger than a 512,000-byte chunk. */
export function makeWrapTree(root) {
  const spec = { README: 1200, 'big.bin': 600_000, 'src/lib/util.c': 9000, 'src/main.c': 14000 };
  for (let i = 0; i < 30; i++) spec[`docs/report-${String(i).padStart(2, '0')}.txt`] = Math.round((12_000 + 1500 * i) * 1.1);
  for (let i = 0; i < 12; i++) spec[`src/lib/mod-${String(i).padStart(2, '0')}.c`] = Math.round(7000 * 1.1) + 333 * i;
  let seed = 1;
  for (const [rel, size] of Object.entries(spec)) {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, noise(size, seed++ * 7919));
  }
  symlinkSync('docs/report-00.txt', join(root, 'latest'));
  mkdirSync(join(root, 'empty'));
}

/** A dump of that tree, and what receiver A with W = 2^20 makes of it (model A1). Returns the damaged file. */
export async function makeWrappedDump(dir) {
  const tree = join(dir, 'tree');
  makeWrapTree(tree);
  const orig = join(dir, 'wrap-orig.dump');
  await writeDumpFile(orig, packTree(tree, { backupDate: 1_700_000_000, name: 'wrap.test' }, await walkTree(tree)));
  const damaged = join(dir, 'wrapped-A1.dump');
  const sim = await simulateFile(orig, damaged, { receiver: 'A', wrapBits: 20 });
  return { orig, damaged, sim };
}

/** One small dump per volume (the same bytes for every run date: the date comes from the directory). */
export async function volumeDumps(count, treeRoot) {
  mkdirSync(join(treeRoot, 'home'), { recursive: true });
  writeFileSync(join(treeRoot, 'home', 'notes.txt'), noise(700, 17));
  writeFileSync(join(treeRoot, 'README'), noise(300, 5));
  const layout = await walkTree(treeRoot);
  const out = [];
  for (let v = 0; v < count; v++) {
    const parentId = 0x7f000100 + v * 0x100 + 1;
    const name = `${['u', 'p', 's'][v % 3]}.vol${String(v).padStart(4, '0')}`;
    const bytes = await collectItems(packTree(treeRoot, { volumeId: parentId + 1, parentId, name: `${name}.backup`, backupDate: 1_764_000_000 }, layout));
    out.push({ parentId, name, bytes });
  }
  return out;
}

/**
 * An archive of `volumes` volumes over `days` run dates (YYYY-MM-DD
 * directories), with deterministic damage: a few truncated, corrupt,
 * trailing-data and missing dumps. Returns its root.
 */
export async function makeArchive(root, volumes, days) {
  const dumps = await volumeDumps(volumes, join(root, '.tree'));
  const rnd = noise(volumes * days, 99);
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.UTC(2025, 10, 1 + d)).toISOString().slice(0, 10);
    const dir = join(root, 'backup', day);
    mkdirSync(dir, { recursive: true });
    for (let v = 0; v < volumes; v++) {
      const { parentId, name, bytes } = dumps[v];
      const r = rnd[v * days + d];
      const file = join(dir, `${parentId.toString(16)}.${name}`);
      if (r < 2) continue; // missing (no file)
      if (r < 5) writeFileSync(file, bytes.subarray(0, bytes.length - 200)); // truncated
      else if (r < 7) writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(512)])); // trailing data
      else if (r < 9) {
        const b = Buffer.from(bytes);
        b[60] ^= 0xff; // inside the volume header's fields: corrupt
        writeFileSync(file, b);
      } else writeFileSync(file, bytes);
    }
  }
  return join(root, 'backup');
}
