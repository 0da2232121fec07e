/**
 * io/native loads koffi's binary directly where npm installed it beside the
 * package (issue #17: start-up), and that binary is the very one koffi's
 * own loader chooses here.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

describe('loading koffi', () => {
  it('binds libc from the platform binary without koffi’s loader, the same binary koffi loads', () => {
    const native = pathToFileURL(join(ROOT, 'dist', 'io', 'native.js')).href;
    const script = `
      import { createRequire } from 'node:module';
      import { libc } from ${JSON.stringify(native)};
      const require = createRequire(${JSON.stringify(native)});
      const c = libc();
      const loaded = Object.keys(require.cache);
      const binary = loaded.filter((f) => f.endsWith('/koffi.node'));
      const viaLoader = loaded.filter((f) => /[\\\\/]koffi[\\\\/].*\\.c?js$/.test(f));
      const koffi = require('koffi');
      console.log(JSON.stringify({ bound: c !== null, binary: binary.length, viaLoader: viaLoader.length, same: koffi.default === require.cache[binary[0]]?.exports }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    expect(r.stderr.toString()).toBe('');
    expect(JSON.parse(r.stdout.toString())).toEqual({ bound: true, binary: 1, viaLoader: 0, same: true });
  });
});
