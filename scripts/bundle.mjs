#!/usr/bin/env node
/**
 * Bundle the command line (issue #17: start-up time). `npm run build` runs
 * it after tsc: it reads tsc's output (dist/cli/main.js, so the bundle runs
 * the very code tsc emitted) and writes dist/bundle/, which bin/codadump
 * runs. One ES module for the start (main, context, chalk) and one chunk
 * per command, loaded on demand as main.ts's COMMANDS table says, yargs in
 * its own chunk: node resolves and compiles a handful of files instead of
 * about a hundred. The library (dist/index.js, the package's exports) is
 * what tsc builds, untouched.
 *
 * Kept out of the bundle: node's built-ins; koffi (an optional native
 * dependency, loaded through createRequire when present) and cli-progress
 * (loaded the same way, only for a progress bar).
 */
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = join(ROOT, 'dist', 'bundle');

/**
 * Source rewrites of dependencies, each checked: a dependency whose source
 * no longer holds the text fails the build (rather than a bundle that
 * behaves otherwise than the installed package would).
 */
const REWRITES = [
  {
    // yargs finds its translations (help text in the user's language) next to
    // its own module file; bundled, that file is ours: point it back at the
    // installed yargs package.
    file: /[\\/]node_modules[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/,
    from: "directory: resolve(__dirname, '../../../locales')",
    to: "directory: resolve(require.resolve('yargs/package.json'), '../locales')",
  },
  {
    // string-width (yargs and cliui measure help text with it) makes an
    // Intl.Segmenter when it loads, and version 8 (yargs') a regular
    // expression of every emoji sequence (\p{RGI_Emoji}): 15-30 ms of every
    // start, for a help text that most runs never render. Each is made at
    // its first use instead.
    file: /[\\/]node_modules[\\/](?:.*[\\/])?string-width[\\/]index\.js$/,
    from: 'const segmenter = new Intl.Segmenter();',
    to: 'let segmenterMade; const segmenter = { segment: (s) => (segmenterMade ??= new Intl.Segmenter()).segment(s) };',
  },
  {
    file: /[\\/]node_modules[\\/](?:.*[\\/])?string-width[\\/]index\.js$/,
    from: 'const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;',
    to: 'let rgiEmojiMade; const rgiEmojiRegex = { test: (s) => (rgiEmojiMade ??= /^\\p{RGI_Emoji}$/v).test(s) };',
    // Only in string-width 8 (7, cliui's and wrap-ansi's, has no such expression).
    optional: true,
  },
  {
    // chalk's copy of supports-color imports node:process as an ES module:
    // node then makes that module's namespace from every property of
    // process, getters included: process.stdin (a stream on fd 0, made
    // non-blocking), allowedNodeEnvironmentFlags... 3 to 5 ms of every
    // start, for the object the global `process` already is.
    file: /[\\/]node_modules[\\/]chalk[\\/]source[\\/]vendor[\\/]supports-color[\\/]index\.js$/,
    from: "import process from 'node:process';",
    to: '',
  },
];

const rewrite = {
  name: 'rewrite',
  setup(b) {
    // One onLoad for each file: the edits of every rewrite that names it.
    b.onLoad({ filter: /[\\/]node_modules[\\/]/ }, (args) => {
      const mine = REWRITES.filter((r) => r.file.test(args.path));
      if (mine.length === 0) return undefined;
      let src = readFileSync(args.path, 'utf8');
      for (const r of mine) {
        if (src.includes(r.from)) src = src.replace(r.from, r.to);
        else if (!r.optional) throw new Error(`${args.path}: expected text not found (${r.from}); see scripts/bundle.mjs`);
      }
      return { contents: src, loader: 'js' };
    });
  },
};

export async function bundle() {
  rmSync(OUT, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: join(ROOT, 'dist', 'cli', 'main.js') },
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Chunks sit next to main.js: version() reads ../../package.json from its own module.
    chunkNames: '[name]-[hash]',
    external: ['koffi', 'cli-progress'],
    // A CommonJS dependency's require() of a built-in, in an ES module.
    banner: { js: "import { createRequire as __cdCreateRequire } from 'node:module'; const require = __cdCreateRequire(import.meta.url);" },
    // No keepNames: it wraps every closure in a call that sets its name, made
    // again each time the closure is (ls of a million vnodes: 30% more CPU).
    // Nothing here reads a function's or a class's name (errors set theirs).
    legalComments: 'none',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [rewrite],
    metafile: true,
  });
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await bundle();
  if (process.argv.includes('--sizes')) {
    for (const [f, o] of Object.entries(r.metafile.outputs)) if (f.endsWith('.js')) console.log(o.bytes, f);
  }
}
