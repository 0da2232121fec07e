#!/usr/bin/env node
/**
 * Write man/codadump.1 from the help text the built CLI prints (run `npm run
 * build` first). With --stdout, print it instead. test/cli/man.test.ts makes
 * the same page from the live help and fails when the committed one differs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manPage } from '../dist/cli/man.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function help(args) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'codadump'), ...args, '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`codadump ${args.join(' ')} --help: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const page = manPage(help, version);
if (process.argv.includes('--stdout')) process.stdout.write(page);
else {
  writeFileSync(join(ROOT, 'man', 'codadump.1'), page);
  console.log(join(ROOT, 'man', 'codadump.1'));
}
