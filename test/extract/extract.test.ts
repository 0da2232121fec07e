/** extract: round trips through directories and tar, selections, hostile dumps, orphans, existing files. (Build first: the CLI tests run dist/.) */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract as tarExtract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { extractDump } from '../../src/extract/extract.js';
import { openDump } from '../../src/format/open.js';
import { decodeDirectory } from '../../src/dir/pages.js';
import { BIN, run, sample, streamReader, tempDir } from '../helpers.js';
import { buildTree, craftDump, dirPages, packBytes, renameInPages, snapshot, sorted, type Spec } from './trees.js';

const CAFE = 'caf\xc3\xa9'; // "café" in UTF-8, as a binary string
const JAPANESE = Buffer.from('日本語.txt').toString('latin1');
const RAW = 'raw-\xff\xfe.bin'; // not UTF-8
const LONG = 'L'.repeat(200);
const BIG = Buffer.alloc(70_000, 'abcdefghij');

const SPEC_UTF8: Spec[] = [
  { path: 'docs', dir: true, mtime: 1_450_000_100 },
  { path: 'docs/sub', dir: true, mode: 0o700, mtime: 1_450_000_200 },
  { path: 'shared', dir: true, mode: 0o1777, mtime: 1_450_000_300 },
  { path: 'docs/sub/deep.txt', content: 'deep\n', mtime: 1_400_000_001 },
  { path: 'docs/report.txt', content: BIG, mtime: 1_400_000_002 },
  { path: `docs/${JAPANESE}`, content: 'jp', mtime: 1_400_000_003 },
  { path: 'README', content: 'hello\n', mtime: 1_400_000_004 },
  { path: 'run.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755, mtime: 1_400_000_005 },
  { path: 'secret', content: 's', mode: 0o600, mtime: 1_400_000_006 },
  { path: 'empty', content: '', mtime: 1_400_000_007 },
  { path: CAFE, content: 'café', mtime: 1_400_000_008 },
  { path: LONG, content: 'long name', mtime: 1_400_000_009 },
  { path: 'latest', link: 'docs/report.txt', mtime: 1_400_000_010 },
  { path: 'abs', link: '/nonexistent/target', mtime: 1_400_000_011 },
  { path: 'docs/up', link: '..', mtime: 1_400_000_012 },
];
const SPEC: Spec[] = [...SPEC_UTF8, { path: RAW, content: 'raw bytes', mtime: 1_400_000_013 }];

/** File bytes in a spec. */
function specBytes(spec: Spec[]): number {
  let n = 0;
  for (const s of spec) if ('content' in s) n += typeof s.content === 'string' ? Buffer.byteLength(s.content, 'latin1') : s.content.length;
  return n;
}

function hasTar(): boolean {
  return spawnSync('tar', ['--version']).status === 0;
}

/** Entries of a tar archive, read with tar-stream (independently of the writer's side). */
async function tarEntries(tar: Buffer): Promise<{ name: string; type: string; mode: number; mtime: number; uid: number; linkname: string | null; data: Buffer }[]> {
  const ex = tarExtract();
  const out: { name: string; type: string; mode: number; mtime: number; uid: number; linkname: string | null; data: Buffer }[] = [];
  const done = (async () => {
    for await (const entry of ex) {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c as Buffer);
      const h = entry.header;
      out.push({ name: h.name, type: h.type, mode: h.mode, mtime: Math.floor(h.mtime.getTime() / 1000), uid: h.uid, linkname: h.linkname ?? null, data: Buffer.concat(parts) });
    }
  })();
  ex.end(tar);
  await done;
  return out;
}

describe('extract: round trip tree -> pack -> extract', () => {
  it('into a directory gives the identical tree (non-ASCII and non-UTF-8 names, modes, mtimes, bytes, links)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/src`, SPEC);
      writeFileSync(`${dir}/v.dump`, await packBytes(`${dir}/src`, { backupDate: 1_600_000_000 }));
      const res = await extractDump(await openDump(`${dir}/v.dump`), { directory: `${dir}/out` });
      expect(res.problems).toEqual([]);
      expect(res).toMatchObject({ dirs: 3, files: 10, symlinks: 3, links: 0, bytes: specBytes(SPEC) });
      expect(sorted(snapshot(`${dir}/out`))).toEqual(sorted(snapshot(`${dir}/src`)));
    } finally {
      cleanup();
    }
  });

  it('from standard input through the CLI (one pass over a pipe)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/src`, SPEC);
      const bytes = await packBytes(`${dir}/src`, { backupDate: 1_600_000_000 });
      const r = run(['extract', '-', '-C', `${dir}/out`], { input: bytes });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`extracted 3 directories, 10 files (${specBytes(SPEC)} bytes), 3 symbolic links into ${dir}/out\n`);
      expect(sorted(snapshot(`${dir}/out`))).toEqual(sorted(snapshot(`${dir}/src`)));
    } finally {
      cleanup();
    }
  });

  it('as a tar archive (file and standard output give the same bytes; tar-stream and GNU tar read back the tree)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/src`, SPEC_UTF8);
      const bytes = await packBytes(`${dir}/src`, { backupDate: 1_600_000_000 });
      writeFileSync(`${dir}/v.dump`, bytes);
      // Streamed through a pipe in odd-sized chunks.
      const res = await extractDump(streamReader(bytes, 4093), { tar: `${dir}/v.tar` });
      expect(res.problems).toEqual([]);
      const tar = readFileSync(`${dir}/v.tar`);

      const all = await tarEntries(tar);
      // Directories first, then files, then symbolic links, then every directory again (deepest first).
      const kinds = all.map((e) => e.type);
      expect(kinds).toEqual([...Array(3).fill('directory'), ...Array(9).fill('file'), ...Array(3).fill('symlink'), ...Array(3).fill('directory')]);
      expect(all.slice(15).map((e) => e.name)).toEqual(all.slice(0, 3).map((e) => e.name).reverse());
      const entries = all.slice(0, 15);
      const want = sorted(snapshot(`${dir}/src`, false));
      const types = { file: 'file', dir: 'directory', symlink: 'symlink' } as const;
      expect(entries.map((e) => Buffer.from(e.name.replace(/\/$/, ''), 'utf8').toString('latin1')).sort()).toEqual(want.map(([p]) => p));
      for (const e of entries) {
        const p = Buffer.from(e.name.replace(/\/$/, ''), 'utf8').toString('latin1');
        const s = snapshot(`${dir}/src`).get(p)!;
        expect(e.type).toBe(types[s.type]);
        expect(e.mtime).toBe(s.mtime);
        if (s.type === 'symlink') expect(Buffer.from(e.linkname!, 'utf8').toString('latin1')).toBe(s.target);
        else expect(e.mode).toBe(s.mode);
        if (s.type === 'file') expect(e.data.length).toBe(s.size);
      }

      const viaStdout = spawnSync(process.execPath, [BIN, 'extract', `${dir}/v.dump`, '--tar', '-'], { maxBuffer: 64 << 20 });
      expect(viaStdout.status).toBe(0);
      expect(viaStdout.stdout.equals(tar)).toBe(true);
      expect(viaStdout.stderr.toString()).toMatch(/^extracted 3 directories, 9 files \(\d+ bytes\), 3 symbolic links to standard output \(tar\)\n$/);

      if (hasTar()) {
        mkdirSync(`${dir}/out`);
        // -P: GNU tar otherwise makes links to '..' or absolute targets last of all, after it set their directories' times.
        const t = spawnSync('tar', ['-xpPf', `${dir}/v.tar`, '-C', `${dir}/out`], { encoding: 'utf8' });
        expect(t.stderr).toBe('');
        expect(sorted(snapshot(`${dir}/out`, false))).toEqual(want);
      }
    } finally {
      cleanup();
    }
  });

  it('tar: a name that is not UTF-8 is reported and left out (exit 1), the rest is written', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/src`, [{ path: RAW, content: 'x' }, { path: 'ok', content: 'y' }]);
      writeFileSync(`${dir}/v.dump`, await packBytes(`${dir}/src`));
      const r = run(['extract', `${dir}/v.dump`, '--tar', `${dir}/v.tar`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`codadump: raw-\ufffd\ufffd.bin: name is not UTF-8, which a tar (pax) name must be; left out of the archive (extract to a directory to keep it) (vnode 4.3)\n`);
      const entries = await tarEntries(readFileSync(`${dir}/v.tar`));
      expect(entries.map((e) => e.name)).toEqual(['ok']);
    } finally {
      cleanup();
    }
  });
});

describe('extract: selected paths', () => {
  it('extracts only the named paths (with their parent directories) and reports a missing one', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/src`, SPEC);
      writeFileSync(`${dir}/v.dump`, await packBytes(`${dir}/src`));
      const r = run(['extract', `${dir}/v.dump`, 'docs/sub', './README', 'latest', 'nothere/x', '-C', `${dir}/out`, '--json']);
      expect(r.code).toBe(1);
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ directories: 2, files: 2, symlinks: 1, problems: [{ code: 'NOT_FOUND', path: 'nothere/x', message: 'not in the dump' }] });
      const got = snapshot(`${dir}/out`);
      expect([...got.keys()].sort()).toEqual(['', 'README', 'docs', 'docs/sub', 'docs/sub/deep.txt', 'latest']);
      const src = snapshot(`${dir}/src`);
      for (const p of ['README', 'docs', 'docs/sub', 'docs/sub/deep.txt', 'latest']) expect(got.get(p)).toEqual(src.get(p));
    } finally {
      cleanup();
    }
  });

  it('a non-ASCII path named on the command line (UTF-8 argument)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      buildTree(`${dir}/src`, SPEC);
      writeFileSync(`${dir}/v.dump`, await packBytes(`${dir}/src`));
      const r = run(['extract', `${dir}/v.dump`, 'café', '-C', `${dir}/out`]);
      expect(r.code).toBe(0);
      expect([...snapshot(`${dir}/out`).keys()].sort()).toEqual(['', CAFE]);
    } finally {
      cleanup();
    }
  });
});

/**
 * A hostile volume: root holds a symbolic link `evil` -> the sentinel
 * directory outside the target, a DIRECTORY also named `evil` (a duplicate
 * name made by patching the pages) holding `pwned`, names `a/b` and
 * `../escape`, a link `dotdot` -> `..`, and `sub` whose `..` entry names a file.
 */
function hostileDump(sentinel: string): Buffer {
  const rootPages = renameInPages(
    dirPages([1, 1], [1, 1], [
      ['evil', 2, 10], ['evIl', 3, 20], ['a/b', 4, 11], ['../escape', 6, 12], ['ok.txt', 8, 13], ['dotdot', 10, 14], ['sub', 5, 21],
    ]),
    'evIl',
    'evil',
  );
  expect(decodeDirectory(rootPages).filter((e) => e.name === 'evil')).toHaveLength(2);
  return craftDump(
    [
      { vnode: 1, unique: 1, pages: rootPages },
      { vnode: 3, unique: 20, pages: dirPages([3, 20], [1, 1], [['pwned', 12, 15]]) },
      { vnode: 5, unique: 21, entries: [{ name: '.', vnode: 5, unique: 21 }, { name: '..', vnode: 14, unique: 16 }, { name: 'inner', vnode: 16, unique: 17 }] },
    ],
    [
      { vnode: 2, unique: 10, type: 3, data: sentinel },
      { vnode: 4, unique: 11, data: 'slash' },
      { vnode: 6, unique: 12, data: 'escape' },
      { vnode: 8, unique: 13, data: 'fine' },
      { vnode: 10, unique: 14, type: 3, data: '..' },
      { vnode: 12, unique: 15, data: 'pwned' },
      { vnode: 14, unique: 16, data: 'dotdot file' },
      { vnode: 16, unique: 17, data: 'inner' },
    ],
  );
}

describe('extract: hostile names and symbolic link tricks never write outside the target', () => {
  it('into a directory', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const sentinel = join(dir, 'sentinel');
      mkdirSync(sentinel);
      writeFileSync(`${dir}/h.dump`, hostileDump(sentinel));
      const r = run(['extract', `${dir}/h.dump`, '-C', `${dir}/out`, '--json']);
      expect(r.code).toBe(1);
      const j = JSON.parse(r.stdout);
      expect(j.problems.map((p: { code: string; path: string }) => [p.code, p.path]).sort()).toEqual([
        ['DUPLICATE', 'evil'],
        ['UNSAFE_NAME', '../escape'],
        ['UNSAFE_NAME', 'a/b'],
        ['UNSAFE_NAME', 'sub/..'],
      ]);
      // Nothing outside: the sentinel is empty, the temporary directory holds only what the test made.
      expect(readdirSync(sentinel)).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(['h.dump', 'out', 'sentinel']);
      // Inside: `evil` is the real directory (made before any link), with `pwned` in it.
      expect(lstatSync(`${dir}/out/evil`).isDirectory()).toBe(true);
      expect(readFileSync(`${dir}/out/evil/pwned`, 'latin1')).toBe('pwned');
      expect(readlinkSync(`${dir}/out/dotdot`)).toBe('..');
      expect(readFileSync(`${dir}/out/sub/inner`, 'latin1')).toBe('inner');
      expect(readdirSync(`${dir}/out`).sort()).toEqual(['dotdot', 'evil', 'ok.txt', 'sub']);
      expect(existsSync(`${dir}/escape`)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('as a tar archive: unsafe names left out, one entry per name, links last', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const sentinel = join(dir, 'sentinel');
      mkdirSync(sentinel);
      writeFileSync(`${dir}/h.dump`, hostileDump(sentinel));
      const r = run(['extract', `${dir}/h.dump`, '--tar', `${dir}/h.tar`]);
      expect(r.code).toBe(1);
      const entries = await tarEntries(readFileSync(`${dir}/h.tar`));
      expect(entries.map((e) => `${e.type} ${e.name}`)).toEqual([
        'directory evil/', 'directory sub/', 'file ok.txt', 'file evil/pwned', 'file sub/inner', 'symlink dotdot', 'directory sub/', 'directory evil/',
      ]);
      for (const e of entries) expect(e.name.split('/')).not.toContain('..');
      if (hasTar()) {
        mkdirSync(`${dir}/out`);
        spawnSync('tar', ['-xpf', `${dir}/h.tar`, '-C', `${dir}/out`]);
        expect(readdirSync(sentinel)).toEqual([]);
      }
    } finally {
      cleanup();
    }
  });

  it('existing links in the target are never followed, with or without --force', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const sentinel = join(dir, 'sentinel');
      mkdirSync(sentinel);
      // A dump with a directory `evil` holding `pwned`, and a file `x`.
      const dump = craftDump(
        [
          { vnode: 1, unique: 1, pages: dirPages([1, 1], [1, 1], [['evil', 3, 2], ['x', 2, 3]]) },
          { vnode: 3, unique: 2, pages: dirPages([3, 2], [1, 1], [['pwned', 4, 4]]) },
        ],
        [{ vnode: 2, unique: 3, data: 'new x' }, { vnode: 4, unique: 4, data: 'pwned' }],
      );
      writeFileSync(`${dir}/d.dump`, dump);
      mkdirSync(`${dir}/out`);
      symlinkSync(sentinel, `${dir}/out/evil`);
      symlinkSync(join(sentinel, 'x'), `${dir}/out/x`);

      const r1 = run(['extract', `${dir}/d.dump`, '-C', `${dir}/out`]);
      expect(r1.code).toBe(1);
      expect(r1.stderr).toBe(
        'codadump: evil: exists and is a symbolic link; nothing extracted below it (--force replaces it) (vnode 3.2)\n' +
          'codadump: x: exists; not overwritten (--force replaces it) (vnode 2.3)\n',
      );
      expect(readdirSync(sentinel)).toEqual([]);

      const r2 = run(['extract', `${dir}/d.dump`, '-C', `${dir}/out`, '--force']);
      expect(r2.stderr).toBe('');
      expect(r2.code).toBe(0);
      expect(readdirSync(sentinel)).toEqual([]);
      expect(lstatSync(`${dir}/out/evil`).isDirectory()).toBe(true);
      expect(lstatSync(`${dir}/out/x`).isFile()).toBe(true);
      expect(readFileSync(`${dir}/out/x`, 'latin1')).toBe('new x');
      expect(readFileSync(`${dir}/out/evil/pwned`, 'latin1')).toBe('pwned');
    } finally {
      cleanup();
    }
  });
});

describe('extract: repaired and damaged dumps', () => {
  const lost = () =>
    craftDump(
      [
        { vnode: 1, unique: 1, pages: dirPages([1, 1], [1, 1], [['kept', 2, 2], ['gone', 6, 9]]) },
        // Directory 3.3 is named by nothing: unreachable, with a file in it.
        { vnode: 3, unique: 3, pages: dirPages([3, 3], [1, 1], [['inside', 4, 4]]) },
      ],
      [
        { vnode: 2, unique: 2, data: 'kept' },
        { vnode: 4, unique: 4, data: 'inside' },
        { vnode: 8, unique: 8, data: 'stray' }, // named by nothing
        { vnode: 10, unique: 10, badinode: true, mode: 0o640 }, // named by nothing, data lost
      ],
    );

  it('reports what it cannot place; exit 1', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/l.dump`, lost());
      const r = run(['extract', `${dir}/l.dump`, '-C', `${dir}/out`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'codadump: directory 3.3 is not reachable from the root; not extracted (use --orphans)\n' +
          'codadump: file 4.4 is not named by any directory reachable from the root; not extracted (use --orphans)\n' +
          'codadump: file 8.8 is not named by any directory reachable from the root; not extracted (use --orphans)\n' +
          'codadump: file 10.10 is not named by any directory reachable from the root; not extracted (use --orphans)\n' +
          'codadump: gone: names file vnode 6.9, which is not in the dump (vnode 6.9)\n',
      );
      expect(readdirSync(`${dir}/out`)).toEqual(['kept']);
    } finally {
      cleanup();
    }
  });

  it('with --orphans writes them as #orphans/<vnode>.<uniquifier>; BADINODE is written empty', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/l.dump`, lost());
      const r = run(['extract', `${dir}/l.dump`, '-C', `${dir}/out`, '--orphans', '--json']);
      expect(r.code).toBe(1);
      const j = JSON.parse(r.stdout);
      expect(j.orphans).toEqual([
        { vnode: 3, unique: 3, path: '#orphans/3.3' },
        { vnode: 8, unique: 8, path: '#orphans/8.8' },
        { vnode: 10, unique: 10, path: '#orphans/10.10' },
      ]);
      expect(j.problems.map((p: { code: string }) => p.code)).toEqual(['NO_DATA', 'DANGLING']);
      expect(readFileSync(`${dir}/out/#orphans/3.3/inside`, 'latin1')).toBe('inside');
      expect(readFileSync(`${dir}/out/#orphans/8.8`, 'latin1')).toBe('stray');
      expect(lstatSync(`${dir}/out/#orphans/10.10`).size).toBe(0);
      expect(lstatSync(`${dir}/out/#orphans/10.10`).mode & 0o777).toBe(0o640);
    } finally {
      cleanup();
    }
  });

  it('an existing file is not overwritten without --force', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/l.dump`, lost());
      mkdirSync(`${dir}/out`);
      writeFileSync(`${dir}/out/kept`, 'mine');
      const r = run(['extract', `${dir}/l.dump`, 'kept', '-C', `${dir}/out`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('codadump: kept: exists; not overwritten (--force replaces it) (vnode 2.2)\n');
      expect(readFileSync(`${dir}/out/kept`, 'latin1')).toBe('mine');
      expect(run(['extract', `${dir}/l.dump`, 'kept', '-C', `${dir}/out`, '--force']).code).toBe(0);
      expect(readFileSync(`${dir}/out/kept`, 'latin1')).toBe('kept');
    } finally {
      cleanup();
    }
  });

  it('refuses an incremental dump and bad usage with exit 2', () => {
    const inc = sample('merge-incremental.dump');
    const r = run(['extract', inc, '-C', '/tmp/never-created-codadump']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `codadump: error: ${inc}: an incremental dump (level 1) holds only what changed since its base; merge it onto its full dump first (codadump merge), then extract the result\n`,
    );
    expect(existsSync('/tmp/never-created-codadump')).toBe(false);
    const u = run(['extract', inc]);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/^codadump: extract needs exactly one of -C DIR or --tar FILE\n/);
  });

  it('a --tar FILE is never replaced without --force', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/t.tar`, 'old');
      const r = run(['extract', sample('server-sample-full.dump'), '--tar', `${dir}/t.tar`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`codadump: error: ${dir}/t.tar: ${dir}/t.tar already exists (use --force to replace it)\n`);
      expect(readFileSync(`${dir}/t.tar`, 'latin1')).toBe('old');
    } finally {
      cleanup();
    }
  });
});

describe('extract: owners and second names', () => {
  // File 2.2 is named twice (root `a`, `d/b`); file 4.4 is owned by 4321 and set-uid.
  const named = () => {
    const d = craftDump(
      [
        { vnode: 1, unique: 1, pages: dirPages([1, 1], [1, 1], [['a', 2, 2], ['d', 3, 3], ['s', 4, 4]]) },
        { vnode: 3, unique: 3, pages: dirPages([3, 3], [1, 1], [['b', 2, 2]]) },
      ],
      [{ vnode: 2, unique: 2, data: 'twice' }, { vnode: 4, unique: 4, data: 'suid', mode: 0o4755 }],
    );
    // Owner 4321 for vnode 4.4: patch its 'o' field (the encoder writes 'o' 00000000 after 'a').
    const at = d.indexOf(Buffer.from([0x05, 0, 0, 0, 4, 0, 0, 0, 4]));
    const o = d.indexOf(Buffer.from([0x6f, 0, 0, 0, 0]), at);
    d.writeUInt32BE(4321, o + 1);
    return d;
  };

  it('a file named twice becomes a hard link (directory) or a tar link entry; tar keeps owner ids', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/n.dump`, named());
      const res = await extractDump(await openDump(`${dir}/n.dump`), { directory: `${dir}/out` });
      expect(res.problems).toEqual([]);
      expect(res).toMatchObject({ files: 2, links: 1 });
      expect(lstatSync(`${dir}/out/a`).ino).toBe(lstatSync(`${dir}/out/d/b`).ino);
      await extractDump(await openDump(`${dir}/n.dump`), { tar: `${dir}/n.tar` });
      const entries = await tarEntries(readFileSync(`${dir}/n.tar`));
      expect(entries.filter((e) => e.type !== 'directory').map((e) => [e.type, e.name, e.linkname, e.uid, e.mode])).toEqual([
        ['file', 'a', null, 0, 0o644],
        ['link', 'd/b', 'a', 0, 0o644],
        ['file', 's', null, 4321, 0o4755],
      ]);
    } finally {
      cleanup();
    }
  });

  it.runIf(process.getuid?.() === 0)('as root: --same-owner applies owners; without it set-id bits are dropped', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/n.dump`, named());
      await extractDump(await openDump(`${dir}/n.dump`), { directory: `${dir}/plain` });
      expect(lstatSync(`${dir}/plain/s`).uid).toBe(0);
      expect(lstatSync(`${dir}/plain/s`).mode & 0o7777).toBe(0o755);
      await extractDump(await openDump(`${dir}/n.dump`), { directory: `${dir}/owned`, sameOwner: true });
      expect(lstatSync(`${dir}/owned/s`).uid).toBe(4321);
      expect(lstatSync(`${dir}/owned/s`).mode & 0o7777).toBe(0o4755);
    } finally {
      cleanup();
    }
  });
});

describe('extract: a name repeated within one directory (the only paths the sinks remember besides directories)', () => {
  /** `d/twice` names two files, `d/once` one, `top` one in the root; the repeated name is made by patching the pages. */
  function repeatedNameDump(): Buffer {
    const pages = renameInPages(dirPages([3, 20], [1, 1], [['twice', 2, 10], ['twicE', 4, 11], ['once', 6, 12]]), 'twicE', 'twice');
    expect(decodeDirectory(pages).filter((e) => e.name === 'twice')).toHaveLength(2);
    return craftDump(
      [
        { vnode: 1, unique: 1, pages: dirPages([1, 1], [1, 1], [['d', 3, 20], ['top', 8, 13]]) },
        { vnode: 3, unique: 20, pages },
      ],
      [
        { vnode: 2, unique: 10, data: 'first' },
        { vnode: 4, unique: 11, data: 'second' },
        { vnode: 6, unique: 12, data: 'once' },
        { vnode: 8, unique: 13, data: 'top' },
      ],
    );
  }

  it('into a directory and as a tar: the first file keeps the name, the second is a DUPLICATE, the others are written', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(`${dir}/r.dump`, repeatedNameDump());
      const d = await extractDump(await openDump(`${dir}/r.dump`), { directory: `${dir}/out` });
      expect(d.problems.map((p) => [p.code, p.path, p.vnode])).toEqual([['DUPLICATE', 'd/twice', '4.11']]);
      expect(readFileSync(`${dir}/out/d/twice`, 'latin1')).toBe('first');
      expect(readFileSync(`${dir}/out/d/once`, 'latin1')).toBe('once');
      expect(readFileSync(`${dir}/out/top`, 'latin1')).toBe('top');

      const t = await extractDump(await openDump(`${dir}/r.dump`), { tar: `${dir}/r.tar` });
      expect(t.problems.map((p) => [p.code, p.path, p.vnode])).toEqual([['DUPLICATE', 'd/twice', '4.11']]);
      const files = (await tarEntries(readFileSync(`${dir}/r.tar`))).filter((e) => e.type === 'file');
      expect(files.map((e) => [e.name, e.data.toString('latin1')])).toEqual([['d/twice', 'first'], ['d/once', 'once'], ['top', 'top']]);
    } finally {
      cleanup();
    }
  });
});
