/**
 * The package as a user gets it: `npm pack` the built tree, install the
 * tarball into a new project, and use `codadump` by name from JavaScript
 * (node) and from TypeScript (tsc against the shipped .d.ts).
 *
 * Offline: the new project gets a lockfile made of our own lockfile's
 * runtime entries, so `npm ci --offline` takes every dependency from the npm
 * cache that `npm ci` of this repository filled. Needs `npm run build` first
 * (as every CLI test does: `npm test` builds).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sample, tempDir } from '../helpers.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', ...env }, maxBuffer: 16 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

interface Lock {
  packages: Record<string, { dev?: boolean; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; engines?: unknown }>;
}

/** A consumer project whose lockfile pins codadump (the tarball) and our runtime dependencies as we resolved them. */
function writeConsumer(dir: string, tgz: string): void {
  const ours = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
  const deps = { codadump: `file:${tgz}` };
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: deps },
    'node_modules/codadump': {
      version: pkg.version, resolved: `file:${tgz}`, dependencies: pkg.dependencies, optionalDependencies: pkg.optionalDependencies ?? {},
      bin: { codadump: 'bin/codadump' }, engines: ours.packages[''].engines,
    },
  };
  for (const [k, v] of Object.entries(ours.packages)) if (k !== '' && !v.dev) packages[k] = v;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: deps }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
}

const USE_JS = `
const exitHooks = process.listenerCount('exit');
const lib = await import('codadump');
const { verifyFile, verifyArchive, summarizeDump, openDump, packDirectory, DumpError, CODES, runExitCleanups } = lib;
const [dump, archive, tree] = process.argv.slice(2);
const r = await verifyFile(dump);
const s = await summarizeDump(await openDump(dump));
const a = await verifyArchive([archive], {});
const p = await packDirectory(tree, 'tree.dump', { backupDate: 0 });
let missing;
try {
  await verifyFile(dump + '.missing');
} catch (e) {
  missing = { isDumpError: e instanceof DumpError, code: e.code, file: e.file === dump + '.missing' };
}
const internal = await import('codadump/dist/format/reader.js').then(() => 'importable', (e) => e.code);
const cli = typeof (await import('codadump/cli')).main;
console.log(JSON.stringify({
  verdict: r.verdict, streamLength: r.streamLength, counts: r.counts, problems: r.problems.length,
  volume: s.header.volumeId, archive: a.summary.dumps, packed: [p.dirs, p.files, (await verifyFile('tree.dump')).verdict], missing, internal, cli,
  truncated: CODES.TRUNCATED.severity, exitHooksAdded: process.listenerCount('exit') - exitHooks, cleanups: typeof runExitCleanups,
  api: ['openDump', 'verifyFile', 'verifyArchive', 'diagnoseFile', 'repairFile', 'mergeDumps', 'packDirectory', 'extractDump', 'redump', 'simulateFile', 'finding', 'verdictOf']
    .filter((n) => typeof lib[n] !== 'function'),
}));
`;

const USE_TS = `
import { verifyFile, diagnoseFile, CODES, DumpError, finding, type Code, type Finding, type Verdict, type VerifyResult, type RepairReport } from 'codadump';

const r: VerifyResult = await verifyFile(process.argv[2]);
const verdict: Verdict = r.verdict;
const codes: Code[] = r.problems.map((p: Finding) => p.code);
const f: Finding = finding('TRUNCATED', 12, 'cut', { vnode: { vnode: 1, unique: 1 } });
const e = new DumpError('IO', 'cannot read', undefined, 'x.dump');
const sev: 'error' | 'warning' | 'info' = CODES[e.code].severity;
const d = await diagnoseFile(process.argv[2]);
let later: RepairReport | undefined;
console.log(verdict, codes, f.offset, sev, d.verdict, later);

// @ts-expect-error not a finding code
const bad: Code = 'NO_SUCH_CODE';
// @ts-expect-error internal modules are not part of the package's surface
await import('codadump/dist/format/reader.js');
void bad;
`;

describe('the packed package', () => {
  const t = tempDir('codadump-pkg-');
  const consumer = join(t.dir, 'consumer');
  let tgz = '';

  beforeAll(() => {
    mkdirSync(consumer);
    const p = sh(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', t.dir], ROOT);
    expect(p.stderr + (p.error?.message ?? '')).not.toMatch(/ERR!/);
    expect(p.code).toBe(0);
    tgz = join(t.dir, (JSON.parse(p.stdout) as { filename: string }[])[0].filename);
    writeConsumer(consumer, tgz);
    const i = sh(NPM, ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], consumer);
    if (i.code !== 0) throw new Error(`npm ci --offline in the consumer project failed (are the dependencies in the npm cache? run npm ci here first):\n${i.stderr}`);
  }, 120_000);

  afterAll(() => t.cleanup());

  it('ships the built library, its types and the CLI; not the sources, tests or maps', () => {
    const r = sh('tar', ['-tzf', tgz], t.dir);
    const files = r.stdout.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/cli/main.js');
    expect(files).toContain('package/bin/codadump');
    expect(files.filter((f) => !/^package\/(dist\/.*\.(js|d\.ts)|bin\/codadump|man\/codadump\.1|package\.json|README\.md)$/.test(f))).toEqual([]);
    expect(readdirSync(join(consumer, 'node_modules', 'codadump'))).toEqual(expect.arrayContaining(['bin', 'dist', 'package.json']));
  });

  it('JavaScript: import by name, verify a fixture; internal files are not exported; no process hooks', () => {
    writeFileSync(join(consumer, 'use.mjs'), USE_JS);
    mkdirSync(join(consumer, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(consumer, 'tree', 'sub', 'hello.txt'), 'hello\n');
    const r = sh(process.execPath, ['use.mjs', sample('server-sample-full.dump'), join(ROOT, 'fixtures', 'archive', 'part', '24Nov2025'), 'tree'], consumer);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const size = readFileSync(sample('server-sample-full.dump')).length;
    expect(out).toEqual({
      verdict: 'ok', streamLength: size, counts: out.counts, problems: 0,
      volume: out.volume, archive: readdirSync(join(ROOT, 'fixtures', 'archive', 'part', '24Nov2025')).length, packed: [2, 1, 'ok'], missing: { isDumpError: true, code: 'IO', file: true },
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED', cli: 'function', truncated: 'error', exitHooksAdded: 0, cleanups: 'function', api: [],
    });
    expect(out.counts.directories + out.counts.files).toBeGreaterThan(0);
  });

  it('the installed bin runs', () => {
    const r = sh(process.execPath, [join(consumer, 'node_modules', '.bin', 'codadump'), 'verify', sample('server-sample-full.dump')], consumer, { NO_COLOR: '1' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok +\S+server-sample-full\.dump/);
  });

  it('TypeScript: the shipped declarations type-check a consumer (strict, NodeNext); wrong uses are errors', () => {
    writeFileSync(join(consumer, 'use.ts'), USE_TS);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true,
          types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['use.ts'],
      }),
    );
    const ok = sh(process.execPath, [TSC, '-p', 'tsconfig.json'], consumer);
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // The check can fail: the two @ts-expect-error lines in it hold only when the shipped types are real (not any).
  });
});
