/**
 * Synthetic dump generators for the benchmarks. They write the dump stream
 * directly with the encoder (no tree on disk), in large writes, and produce
 * dumps that `codadump verify` reports ok: valid directory pages, every vnode
 * reachable from the root, counts and sizes that agree.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { DEFAULT_ACL, formatAcl } from '../../dist/acl/acl.js';
import { encodeDirectory } from '../../dist/dir/pages.js';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeVnode, encodeVolume } from '../../dist/format/encoder.js';
import { openDump } from '../../dist/format/open.js';

const MiB = 1 << 20;
const STORE_HOST = 0x7f000001;
const ACL = formatAcl(DEFAULT_ACL);
const VOLUME_ID = 0x01000002;
const PARENT_ID = 0x01000001;
const DATE = 1700000000;

/** Deterministic xorshift32. */
export function prng(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** A block of pseudo-random bytes (not compressible, so the dump is not sparse). */
export function randomBlock(size, seed) {
  const r = prng(seed);
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE(r(), i);
  for (let i = size & ~3; i < size; i++) b[i] = r() & 0xff;
  return b;
}

/** Buffered writer: small pieces are staged, big ones go straight to the file. */
class Out {
  constructor(path, stage = 8 * MiB) {
    this.fd = openSync(path, 'w');
    this.buf = Buffer.allocUnsafe(stage);
    this.len = 0;
    this.bytes = 0;
  }

  flush() {
    let off = 0;
    while (off < this.len) off += writeSync(this.fd, this.buf, off, this.len - off);
    this.len = 0;
  }

  write(b) {
    if (b.length >= this.buf.length) {
      this.flush();
      let off = 0;
      while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    } else {
      if (this.len + b.length > this.buf.length) this.flush();
      b.copy(this.buf, this.len);
      this.len += b.length;
    }
    this.bytes += b.length;
  }

  close() {
    this.flush();
    closeSync(this.fd);
  }
}

function vv(unique) {
  return { versions: [1, 0, 0, 0, 0, 0, 0, 0], storeHost: STORE_HOST, storeUniq: unique, flags: 0 };
}

function headerAndVolume(name, nextUniquifier, fileCount, diskUsed, inc = { level: 0, oldest: DATE, latest: DATE }) {
  return [
    encodeHeader({ volumeId: VOLUME_ID, parentId: PARENT_ID, name, backupDate: inc.latest, incremental: inc.level, oldest: inc.oldest, latest: inc.latest }),
    encodeVolume({
      id: VOLUME_ID, stampVersion: 1, name, partition: '/vicepa', inService: 1, blessed: 1, nextUniquifier, type: 2,
      parentId: PARENT_ID, groupId: 0, cloneId: 0, backupId: VOLUME_ID, maxQuota: 0, minQuota: 0, maxFiles: 0,
      diskUsed, fileCount, linkCount: 0, accountNumber: 0, owner: 0, creationDate: DATE, accessDate: DATE,
      updateDate: DATE, expirationDate: 0, backupDate: DATE, offlineMessage: '', motd: '',
      weekUse: [0, 0, 0, 0, 0, 0, 0], dayUseDate: 0, dayUse: 0, vv: vv(1),
    }),
  ];
}

function vnodeFields(n, length) {
  return {
    vnode: n.vnode, unique: n.unique, type: n.type, mode: n.type === 2 ? 0o755 : 0o644,
    linkCount: n.type === 2 ? 2 + n.subdirs : 1, length, dataVersion: 1, vv: vv(n.unique), mtime: DATE,
    author: 1000, owner: 1000, parent: n.parent ? n.parent.vnode : 1, parentUnique: n.parent ? n.parent.unique : 1,
    ...(n.type === 2 ? { acl: ACL } : {}),
  };
}

/**
 * Lay out a volume: `dirSpec` is a list of [name, parentIndex] (index 0 is
 * the root, parentIndex refers to earlier dirs); files are [name, dirIndex, size].
 */
function layout(dirSpec, files) {
  let unique = 1;
  const dirs = dirSpec.map(([name], i) => ({ name, type: 2, vnode: 2 * i + 1, unique: unique++, parent: null, children: [], subdirs: 0 }));
  dirSpec.forEach(([, p], i) => {
    if (i === 0) return;
    dirs[i].parent = dirs[p];
    dirs[p].children.push(dirs[i]);
    dirs[p].subdirs++;
  });
  const nodes = files.map(([name, d, size], i) => {
    const n = { name, type: 1, vnode: 2 * i + 2, unique: unique++, parent: dirs[d], size };
    dirs[d].children.push(n);
    return n;
  });
  return { dirs, files: nodes, nextUniquifier: unique };
}

function dirPages(d) {
  const parent = d.parent ?? d;
  return encodeDirectory([
    { name: '.', vnode: d.vnode, unique: d.unique },
    { name: '..', vnode: parent.vnode, unique: parent.unique },
    ...d.children.map((c) => ({ name: c.name, vnode: c.vnode, unique: c.unique })),
  ]);
}

/**
 * Write the full dump of a laid-out volume; `content(file, out)` writes each
 * file's bytes. `smallLists` (default: one per file) makes the small index
 * declare more lists than files, for sparse vnode numbers.
 */
function writeVolume(path, name, vol, content, smallLists = Math.max(1, vol.files.length)) {
  const out = new Out(path);
  const pages = vol.dirs.map(dirPages);
  let diskUsed = 0;
  for (const p of pages) diskUsed += Math.ceil(p.length / 1024);
  for (const f of vol.files) diskUsed += Math.ceil(f.size / 1024);
  for (const b of headerAndVolume(name, vol.nextUniquifier, vol.files.length, diskUsed)) out.write(b);
  out.write(encodeIndexHeader('large', vol.dirs.length, Math.max(8, vol.dirs.length)));
  vol.dirs.forEach((d, i) => out.write(encodeVnode(vnodeFields(d, pages[i].length), { kind: 'dirpages', pages: pages[i] })));
  out.write(encodeIndexHeader('small', vol.files.length, smallLists));
  for (const f of vol.files) {
    out.write(encodeVnode(vnodeFields(f, f.size), { kind: 'filedata', length: f.size }));
    content(f, out);
  }
  out.write(encodeEnd());
  out.close();
  return out.bytes;
}

/**
 * A dump of `count` big files of about `fileSize` bytes each (one directory).
 * Each file repeats its own 1 MiB pseudo-random block, written 16 MiB at a time.
 */
export function writeBigDump(path, { count = 4, fileSize = 1 << 30, small = 0, tail = 0 } = {}) {
  const files = [];
  // `small` files of 1 .. 13 KiB before the big ones and `tail` after them, 2,000 per directory
  // (a volume of many files: a wraparound seam then cuts records, not only file data).
  const r = prng(99);
  const dirSpec = [['', 0]];
  for (let d = 0; d < Math.ceil((small + tail) / 2000); d++) dirSpec.push([`s${d}`, 0]);
  const smallFile = (i) => [`s-${i}.dat`, 1 + Math.floor(i / 2000), 1024 + (r() % 12288)];
  for (let i = 0; i < small; i++) files.push(smallFile(i));
  for (let i = 0; i < count; i++) files.push([`big-${i}.bin`, 0, Math.max(0, fileSize - 4096 * i - 17 * i)]);
  for (let i = small; i < small + tail; i++) files.push(smallFile(i));
  const vol = layout(dirSpec, files);
  const chunk = Buffer.allocUnsafe(16 * MiB);
  const smallBlock = randomBlock(MiB, 31337);
  return writeVolume(path, 'bench-big.backup', vol, (f, out) => {
    if (f.name.startsWith('s-')) {
      const at = (f.vnode * 2654435761) % (MiB - f.size);
      out.write(smallBlock.subarray(at, at + f.size));
      return;
    }
    const block = randomBlock(MiB, f.vnode * 7919);
    for (let i = 0; i < chunk.length; i += MiB) block.copy(chunk, i);
    let left = f.size;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      out.write(n === chunk.length ? chunk : chunk.subarray(0, n));
      left -= n;
    }
  });
}

/**
 * A dump of `files` small files (sizes 1 KiB .. 13 KiB, about 7 KiB on
 * average) in `tops` top-level directories of `perTop` subdirectories each.
 * Names vary in length so that entries take one to three blobs.
 */
export function writeSmallDump(path, { files = 300_000, tops = 30, perTop = 100 } = {}) {
  const r = prng(12345);
  const dirSpec = [['', 0]];
  for (let t = 0; t < tops; t++) dirSpec.push([`dir${String(t).padStart(2, '0')}`, 0]);
  for (let t = 0; t < tops; t++) for (let s = 0; s < perTop; s++) dirSpec.push([`sub${String(s).padStart(3, '0')}`, 1 + t]);
  const leaves = tops * perTop;
  const spec = [];
  for (let i = 0; i < files; i++) {
    const size = 1024 + (r() % 12288);
    const name = `f${i}${'_'.repeat(i % 29)}.dat`;
    spec.push([name, 1 + tops + (i % leaves), size]);
  }
  const vol = layout(dirSpec, spec);
  const block = randomBlock(MiB, 4242);
  return writeVolume(path, 'bench-small.backup', vol, (f, out) => {
    const at = (f.vnode * 2654435761) % (MiB - f.size);
    out.write(block.subarray(at, at + f.size));
  });
}

/**
 * A full dump and an incremental taken against it, for merge (issue #17):
 * the full dump holds `files` small files (1 .. 13 KiB) like writeSmallDump;
 * the incremental (level 1, oldest = the full dump's latest) holds every
 * `every`-th file again with new contents, the same vnodes and uniquifiers
 * (changed files), and no directories. Defaults: about 260 MB + 13 MB.
 */
export function writeMergeDumps(fullPath, incPath, { files = 37_000, every = 20, tops = 10, perTop = 30 } = {}) {
  const r = prng(777);
  const dirSpec = [['', 0]];
  for (let t = 0; t < tops; t++) dirSpec.push([`dir${String(t).padStart(2, '0')}`, 0]);
  for (let t = 0; t < tops; t++) for (let s = 0; s < perTop; s++) dirSpec.push([`sub${String(s).padStart(3, '0')}`, 1 + t]);
  const leaves = tops * perTop;
  const spec = [];
  for (let i = 0; i < files; i++) spec.push([`m${i}.dat`, 1 + tops + (i % leaves), 1024 + (r() % 12288)]);
  const vol = layout(dirSpec, spec);
  const block = randomBlock(MiB, 991);
  const fullBytes = writeVolume(fullPath, 'bench-merge.backup', vol, (f, out) => {
    const at = (f.vnode * 2654435761) % (MiB - f.size);
    out.write(block.subarray(at, at + f.size));
  });
  const out = new Out(incPath);
  const changed = vol.files.filter((_, i) => i % every === 0);
  const inc = { level: 1, oldest: DATE, latest: DATE + 86400 };
  for (const b of headerAndVolume('bench-merge.backup', vol.nextUniquifier, vol.files.length, 0, inc)) out.write(b);
  out.write(encodeIndexHeader('large', 0, Math.max(8, vol.dirs.length)));
  out.write(encodeIndexHeader('small', changed.length, Math.max(1, vol.files.length)));
  for (const f of changed) {
    out.write(encodeVnode({ ...vnodeFields(f, f.size), dataVersion: 2 }, { kind: 'filedata', length: f.size }));
    const at = (f.vnode * 40503) % (MiB - f.size);
    out.write(block.subarray(at, at + f.size));
  }
  out.write(encodeEnd());
  out.close();
  return [fullBytes, out.bytes];
}

/**
 * A dump of `files` tiny files (0 .. 255 bytes, mostly zeros) whose vnode
 * numbers are spread over `spread` times as many slots as there are files
 * (a sparse vnode index), in `dirs` directories under the root.
 * Default: one million vnodes, 4 million slots, about 150 MB.
 */
export function writeSparseDump(path, { files = 1_000_000, spread = 4, dirs = 1000 } = {}) {
  const r = prng(4711);
  const dirSpec = [['', 0]];
  for (let d = 0; d < dirs; d++) dirSpec.push([`d${String(d).padStart(4, '0')}`, 0]);
  const spec = [];
  for (let i = 0; i < files; i++) spec.push([`s${i}`, 1 + (i % dirs), r() % 256]);
  const vol = layout(dirSpec, spec);
  // Spread the small vnodes: file i goes to slot spread*i (vnode 2*slot + 2).
  vol.files.forEach((f, i) => {
    f.vnode = 2 * (spread * i) + 2;
  });
  const zeros = Buffer.alloc(256);
  return writeVolume(path, 'bench-sparse.backup', vol, (f, out) => out.write(zeros.subarray(0, f.size)), files * spread);
}

/**
 * An incremental dump taken against the full dump at `fullPath` (read with
 * the library): level 1, oldest = the full dump's latest; every `every`-th
 * file vnode again, its data version one higher and the same bytes (changed
 * files), and no directories; the index headers declare as many lists as
 * the full dump's. For merge's row of the peak-RSS table (issue #17).
 */
export async function writeIncrementalOf(fullPath, incPath, { every = 20 } = {}) {
  const reader = await openDump(fullPath);
  const out = new Out(incPath);
  let header = null;
  let volume = null;
  let large = null;
  const changed = [];
  let files = 0;
  try {
    for await (const r of reader.records()) {
      if (r.kind === 'header') header = r;
      else if (r.kind === 'volume') volume = r;
      else if (r.kind === 'index' && r.index === 'large') large = r;
      else if (r.kind === 'index') {
        // Everything before the files is known: header, volume data, both index headers (the count comes at the end).
        changed.push({ small: r });
      } else if (r.kind === 'vnode' && r.data.kind === 'filedata' && files++ % every === 0) {
        changed.push({ vnode: { ...r, dataVersion: r.dataVersion + 1 }, data: await reader.readFileData() });
      }
    }
  } finally {
    await reader.close();
  }
  const latest = header.latest + 86400;
  out.write(encodeHeader({ ...header, incremental: 1, oldest: header.latest, latest, backupDate: latest }));
  out.write(encodeVolume(volume));
  out.write(encodeIndexHeader('large', 0, large.lists));
  const small = changed.shift().small;
  out.write(encodeIndexHeader('small', changed.length, small.lists));
  for (const c of changed) {
    out.write(encodeVnode(c.vnode, { kind: 'filedata', length: c.data.length }));
    out.write(c.data);
  }
  out.write(encodeEnd());
  out.close();
  return out.bytes;
}
