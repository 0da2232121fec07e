/**
 * bin/codadump runs the bundled command line (dist/bundle/, made by
 * scripts/bundle.mjs after tsc): it must be there after a build, behave
 * byte for byte as tsc's modules do, and never be run when it is older
 * than tsc's output (a tsc run alone since).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, run, sample, tempDir } from '../helpers.js';

const BUNDLE = join(ROOT, 'dist', 'bundle');

/** The same arguments through tsc's modules (dist/cli/main.js), as bin/codadump ran them before the bundle. */
function runTsc(args: string[], env: Record<string, string> = {}) {
  const t = tempDir('codadump-tsc-');
  try {
    const runner = join(t.dir, 'tsc-main.mjs');
    const main = pathToFileURL(join(ROOT, 'dist', 'cli', 'main.js')).href;
    writeFileSync(runner, `import { main } from ${JSON.stringify(main)};\nmain(process.argv.slice(2)).then((c) => { process.exitCode = c; });\n`);
    const r = spawnSync(process.execPath, [runner, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      maxBuffer: 64 << 20,
    });
    return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  } finally {
    t.cleanup();
  }
}

describe('bin/codadump and the bundle', () => {
  it('the build made the bundle, newer than tsc output, self-contained but for koffi and cli-progress', () => {
    expect(statSync(join(BUNDLE, 'main.js')).mtimeMs).toBeGreaterThanOrEqual(statSync(join(ROOT, 'dist', 'cli', 'main.js')).mtimeMs);
    const chunks = readdirSync(BUNDLE).filter((f) => f.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(10); // one chunk per command at least: loaded on demand
    // Modules the bundle still imports by name: node's built-ins, and the two packages loaded through createRequire.
    const named = new Set<string>();
    for (const f of chunks) {
      const src = readFileSync(join(BUNDLE, f), 'utf8');
      for (const m of src.matchAll(/(?:\bfrom |\bimport\(|\brequire\d*\(|__require\(|\(import\.meta\.url\)\()"([^"./][^"]*)"/g)) named.add(m[1]);
    }
    const packages = [...named].filter((m) => !m.startsWith('node:') && !builtinModules.includes(m)).sort();
    expect(packages).toEqual(['cli-progress', 'koffi']);
  });

  it('prints what tsc modules print, byte for byte: help (also translated), runs, --json, usage and input errors', () => {
    const cases: [string[], Record<string, string>?][] = [
      [['--help']],
      [['merge', '--help'], { LC_ALL: 'de_DE.UTF-8' }],
      [['diagnose', sample('server-sample-full.dump'), '--json']],
      [['inspect', sample('merge-incremental.dump')]],
      [['merge', join(ROOT, 'no-such.dump'), join(ROOT, 'no-such.dump'), '-o', join(ROOT, 'no-such-out.dump')]],
      [['ls', '--no-such-option', sample('server-sample-full.dump')]],
      [['--version']],
    ];
    for (const [args, env] of cases) {
      const ours = run(args, { env });
      const tsc = runTsc(args, env);
      expect({ args, ...ours }).toEqual({ args, ...tsc });
    }
    // yargs' own translations are found from the bundle (the help of that case is in German).
    expect(run(['--help'], { env: { LC_ALL: 'de_DE.UTF-8' } }).stdout).toMatch(/^Optionen:$/m);
  });

  it('runs tsc modules instead when tsc ran after the bundle was made, or there is no bundle', () => {
    const t = tempDir('codadump-bin-');
    try {
      mkdirSync(join(t.dir, 'bin'));
      copyFileSync(BIN, join(t.dir, 'bin', 'codadump'));
      writeFileSync(join(t.dir, 'package.json'), '{"type":"module"}');
      const fake = (dir: string, name: string) => {
        mkdirSync(join(t.dir, 'dist', dir), { recursive: true });
        const f = join(t.dir, 'dist', dir, 'main.js');
        writeFileSync(f, `export async function main(argv) { process.stdout.write(${JSON.stringify(name)} + ' ' + argv.join(' ')); return 3; }\n`);
        return f;
      };
      const which = () => {
        const r = spawnSync(process.execPath, [join(t.dir, 'bin', 'codadump'), 'a', 'b'], { encoding: 'utf8' });
        return `${r.stdout} exit ${r.status}`;
      };
      const tsc = fake('cli', 'tsc');
      expect(which()).toBe('tsc a b exit 3');
      const bundle = fake('bundle', 'bundle');
      utimesSync(tsc, 1_000_000, 1_000_000);
      utimesSync(bundle, 1_000_000, 1_000_000); // as npm pack leaves them: the same time
      expect(which()).toBe('bundle a b exit 3');
      utimesSync(tsc, 1_000_001, 1_000_001);
      expect(which()).toBe('tsc a b exit 3');
    } finally {
      t.cleanup();
    }
  });
});
