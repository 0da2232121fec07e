/**
 * quick-args.ts reads the plainest command lines without yargs: wherever it
 * gives arguments, they must be exactly those yargs (configured as main.ts
 * configures it) gives the handler; every other command line is yargs'.
 */
import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { describe, expect, it } from 'vitest';
import { quickArgs } from '../../src/cli/quick-args.js';
import { yargsCli } from '../../src/cli/main.js';
import { mergeCommand } from '../../src/cli/commands/merge.js';
import type { Ctx } from '../../src/cli/context.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cmd = CommandModule<object, any>;

/** The arguments yargs hands the command's handler for argv (the handler only records them). */
async function viaYargs(command: Cmd, argv: string[]): Promise<Record<string, unknown>> {
  let got: Record<string, unknown> | undefined;
  const ctx: Ctx = { exitCode: 0 };
  const recorder: Cmd = { ...command, handler: (a) => void (got = { ...a }) };
  await yargsCli(yargs, argv, ctx, [recorder]).parseAsync();
  if (got === undefined) throw new Error('yargs ran no handler');
  return got;
}

const merge = mergeCommand({ exitCode: 0 });

describe('quickArgs: merge', () => {
  it('reads what yargs reads, value for value', async () => {
    const lines: string[][] = [
      ['merge', 'full.dump', 'inc.dump', '-o', 'out.dump'],
      ['merge', 'full.dump', 'i1.dump', 'i2.dump', 'i3.dump', '--output', 'out.dump'],
      ['merge', '-o', 'out.dump', 'full.dump', 'inc.dump'],
      ['merge', 'full.dump', '-o', 'out.dump', 'i1.dump', 'i2.dump'],
      ['merge', '-', 'inc.dump', '-o', '-'],
      ['merge', 'full.dump', 'inc.dump', '-o', 'out.gz', '--force', '--gzip', '--json', '--manifest', 'MANIFEST'],
      ['merge', 'full.dump', '--force', 'inc.dump', '-o', 'out.dump'],
      ['merge', 'full.dump', 'inc.dump', '--json', '-o', 'out.dump'],
      ['merge', '/a b/full.dump', './c.d', '-o', 'x/y z.dump', '--manifest', '-'],
      ['merge', 'full.dump', 'inc.dump', '-o', 'out.dump', '--gzip'],
      ['merge', 'full.dump', 'inc.dump', '-o', 'out.dump', '--direct'],
    ];
    for (const argv of lines) {
      const quick = quickArgs(merge, argv);
      expect(quick, argv.join(' ')).not.toBeNull();
      expect(quick, argv.join(' ')).toEqual({ ...(await viaYargs(merge, argv)), $0: 'codadump' });
    }
    // The values themselves, for one line (not only "the same as yargs").
    expect(quickArgs(merge, ['merge', 'f', '--force', 'i1', '-o', '-', 'i2'])).toEqual({
      _: ['merge'],
      $0: 'codadump',
      full: 'f',
      incrementals: ['i1', 'i2'],
      output: '-',
      o: '-',
      force: true,
      gzip: false,
      direct: true,
      json: false,
    });
  });

  it('leaves to yargs every line it could misread, and every error and help', () => {
    const base = ['merge', 'full.dump', 'inc.dump', '-o', 'out.dump'];
    const lines: string[][] = [
      ['merge', 'full.dump', 'inc.dump'], // -o missing: yargs' message
      ['merge', 'full.dump', '-o', 'out.dump'], // no incremental
      ['merge'],
      ['--json', 'merge', 'full.dump', 'inc.dump', '-o', 'out.dump'], // an option before the command
      ['verify', 'full.dump'],
      [...base, '--help'],
      [...base, '--version'],
      [...base, 'help'],
      [...base, '--no-force'],
      [...base, '--no-direct'],
      [...base, '--force=true'],
      [...base, '--force', 'false'],
      [...base, '--force', 'true'],
      [...base, '--force', '--force'],
      ['merge', 'full.dump', 'inc.dump', '-o=out.dump'],
      ['merge', 'full.dump', 'inc.dump', '--output=out.dump'],
      ['merge', 'full.dump', 'inc.dump', '-o', '-x'],
      ['merge', 'full.dump', 'inc.dump', '-o'],
      ['merge', 'full.dump', 'inc.dump', '-o', ''],
      [...base, '-o', 'other.dump'],
      [...base, '--output', 'other.dump'],
      [...base, '--', 'x'],
      [...base, '-fo'],
      [...base, '-O'],
      [...base, '--unknown'],
      [...base, '--manifest'],
      ['merge', 'full.dump', '123', '-o', 'out.dump'],
      ['merge', 'full.dump', '0x10', '-o', 'out.dump'],
      ['merge', 'full.dump', '1e3', '-o', 'out.dump'],
      ['merge', 'full.dump', '-5', '-o', 'out.dump'],
      ['merge', 'full.dump', 'inc.dump', '-o', '42'],
      ['merge', '', 'inc.dump', '-o', 'out.dump'],
    ];
    for (const argv of lines) expect(quickArgs(merge, argv), argv.join(' ')).toBeNull();
  });

  it('refuses a builder or an option it does not know', () => {
    const argv = ['cmd', 'a', '-n', 'three'];
    const make = (builder: Cmd['builder']): Cmd => ({ command: 'cmd <x>', describe: 'x', builder, handler: () => {} });
    const pos = { type: 'string', demandOption: true } as const;
    // The same shape as merge's, read:
    expect(quickArgs(make((y) => y.positional('x', pos).option('n', { type: 'string' })), argv)).toEqual({ _: ['cmd'], $0: 'codadump', x: 'a', n: 'three' });
    // ...but not a number, an array, choices, a check, a hyphenated name, a boolean without default, an object builder:
    expect(quickArgs(make((y) => y.positional('x', pos).option('n', { type: 'number' })), argv)).toBeNull();
    expect(quickArgs(make((y) => y.positional('x', pos).option('n', { type: 'string', array: true })), argv)).toBeNull();
    expect(quickArgs(make((y) => y.positional('x', pos).option('n', { type: 'string', choices: ['three'] })), argv)).toBeNull();
    expect(quickArgs(make((y) => y.positional('x', pos).option('n', { type: 'string' }).check(() => true)), argv)).toBeNull();
    expect(quickArgs(make((y) => y.positional('x', pos).option('dry-run', { type: 'boolean', default: false })), ['cmd', 'a'])).toBeNull();
    expect(quickArgs(make((y) => y.positional('x', pos).option('b', { type: 'boolean' })), ['cmd', 'a'])).toBeNull();
    expect(quickArgs(make({ n: { type: 'string' } }), argv)).toBeNull();
    // Optional positionals are yargs' too.
    expect(quickArgs({ ...make((y) => y.positional('x', pos)), command: 'cmd [x]' }, ['cmd', 'a'])).toBeNull();
  });
});
