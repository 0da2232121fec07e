/**
 * io/native loads koffi's binary directly where npm installed it beside the
 * package (issue #17: start-up), and that binary is the very one koffi's
 * own loader chooses here; where it cannot, koffi's loader is used, and
 * without koffi there is no libc (the callers then do without).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const NATIVE = pathToFileURL(join(ROOT, 'dist', 'io', 'native.js')).href;

/**
 * In a fresh process (with `block` refused to require(), as where it is not
 * installed or cannot load): whether libc() bound, and the koffi modules
 * loaded by then (its binary, its JavaScript loader).
 */
function load(block: string | null): { bound: boolean; binary: number; viaLoader: number; same: boolean | null } {
  const script = `
    import { createRequire } from 'node:module';
    const block = ${JSON.stringify(block)};
    const M = createRequire(import.meta.url)('node:module');
    const resolve = M._resolveFilename;
    M._resolveFilename = function (request, ...rest) {
      if (block !== null && new RegExp(block).test(request)) { const e = new Error('Cannot find module ' + request); e.code = 'MODULE_NOT_FOUND'; throw e; }
      return resolve.call(this, request, ...rest);
    };
    const { libc } = await import(${JSON.stringify(NATIVE)});
    const require = createRequire(${JSON.stringify(NATIVE)});
    const c = libc();
    const loaded = Object.keys(require.cache);
    const binary = loaded.filter((f) => f.endsWith('/koffi.node'));
    const viaLoader = loaded.filter((f) => /[\\\\/]koffi[\\\\/].*\\.c?js$/.test(f));
    let same = null;
    if (c !== null && viaLoader.length === 0) same = require('koffi').default === require.cache[binary[0]]?.exports;
    console.log(JSON.stringify({ bound: c !== null, binary: binary.length, viaLoader: viaLoader.length, same }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  expect(r.stderr.toString()).toBe('');
  return JSON.parse(r.stdout.toString());
}

describe('loading koffi', () => {
  it('binds libc from the platform binary without koffi’s loader, the same binary koffi loads', () => {
    expect(load(null)).toEqual({ bound: true, binary: 1, viaLoader: 0, same: true });
  });

  it('falls back on koffi’s own loader where the binary is not loaded directly', () => {
    // Refused by its absolute path (as the direct load asks for it), found by koffi's loader (a relative path).
    const r = load('^/.*koffi\\.node$');
    expect(r.bound).toBe(true);
    expect(r.binary).toBe(1);
    expect(r.viaLoader).toBeGreaterThan(0);
  });

  it('without koffi, no libc', () => {
    expect(load('^koffi$|koffi\\.node$')).toEqual({ bound: false, binary: 0, viaLoader: 0, same: null });
  });
});
