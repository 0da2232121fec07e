/**
 * yargs, without loading its help renderer until help is rendered.
 *
 * yargs' own entry (index.mjs) builds its platform shim (lib/platform-shims/
 * esm.mjs) from modules it imports up front, among them cliui and
 * string-width, which only render help: string-width creates an
 * Intl.Segmenter and with cliui is about 60 % of the CPU time of loading
 * yargs (issue #17: 40 of 100 ms per run on a loaded machine). This makes
 * the same shim, the same yargs (its factory, build/lib/yargs-factory.js),
 * with those two loaded synchronously (require of an ES module, Node >=
 * 20.19) the first time yargs asks for them: --help and its text are
 * unchanged.
 *
 * Best effort: where that file of the installed yargs cannot be loaded (a
 * yargs laid out otherwise), the entry is loaded as it is.
 */
import { notStrictEqual, strictEqual } from 'node:assert';
import { inspect } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import type yargsDefault from 'yargs';

type Yargs = typeof yargsDefault;

export async function loadYargs(): Promise<Yargs> {
  try {
    return await liteYargs();
  } catch {
    return (await import('yargs')).default;
  }
}

/** The lite yargs; throws where the installed yargs is laid out otherwise (loadYargs then falls back). */
export async function liteYargs(): Promise<Yargs> {
  const entry = import.meta.resolve('yargs');
  const shimFile = fileURLToPath(new URL('./lib/platform-shims/esm.mjs', entry));
  const require = createRequire(shimFile);
  const [{ YargsFactory }, { default: Parser }, { default: y18n }, { default: escalade }, { default: getCallerFile }, { getProcessArgvBin }] = await Promise.all([
    import(new URL('./build/lib/yargs-factory.js', entry).href),
    import(pathToUrl(require.resolve('yargs-parser'))),
    import(pathToUrl(require.resolve('y18n'))),
    import(pathToUrl(require.resolve('escalade/sync'))),
    import(pathToUrl(require.resolve('get-caller-file'))),
    import(new URL('./build/lib/utils/process-argv.js', entry).href),
  ]);
  if (typeof YargsFactory !== 'function') throw new Error('no YargsFactory');
  const mainFilename = shimFile.substring(0, shimFile.lastIndexOf('node_modules'));
  let cliui: ((...a: unknown[]) => unknown) | undefined;
  let stringWidth: ((s: string) => number) | undefined;
  // What esm.mjs exports, member for member; only cliui and stringWidth differ (loaded when called).
  const shim = {
    assert: { notStrictEqual, strictEqual },
    cliui: (...a: unknown[]) => (cliui ??= esmDefault<(...a: unknown[]) => unknown>(require('cliui')))(...a),
    findUp: escalade,
    getEnv: (key: string) => process.env[key],
    inspect,
    getProcessArgvBin,
    mainFilename: mainFilename || process.cwd(),
    Parser,
    path: { basename, dirname, extname, relative, resolve, join },
    process: {
      argv: () => process.argv,
      cwd: process.cwd,
      emitWarning: (warning: string | Error, type?: string) => process.emitWarning(warning, type),
      execPath: () => process.execPath,
      exit: (code?: number) => {
        process.exit(code);
      },
      nextTick: process.nextTick,
      stdColumns: typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null,
    },
    readFileSync,
    readdirSync,
    require,
    getCallerFile: () => {
      const callerFile = (getCallerFile as (n: number) => string)(3);
      return callerFile.match(/^file:\/\//) ? fileURLToPath(callerFile) : callerFile;
    },
    stringWidth: (s: string) => (stringWidth ??= esmDefault<(s: string) => number>(require('string-width')))(s),
    y18n: y18n({ directory: resolve(shimFile, '../../../locales'), updateFiles: false }),
  };
  return YargsFactory(shim) as Yargs;
}

function pathToUrl(p: string): string {
  return pathToFileURL(p).href;
}

/** A module's default export (require of an ES module gives its namespace). */
function esmDefault<T>(m: unknown): T {
  const d = (m as { default?: T }).default;
  return (d ?? m) as T;
}
