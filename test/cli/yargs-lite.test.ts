import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { liteYargs } from '../../src/cli/yargs-lite.js';

type Y = typeof yargs;

/** One small command line, built with either yargs. */
function build(y: Y, argv: string[]) {
  return y(argv)
    .scriptName('t')
    .command('go <a> [bs..]', 'does things', (b) =>
      b.positional('a', { type: 'string', describe: 'the a' }).option('force', { type: 'boolean', default: false, describe: 'wide option text that wraps when it is long enough to need it' }),
    )
    .strict()
    .wrap(60)
    .fail((msg, e) => {
      throw e ?? new Error(msg);
    });
}

describe('liteYargs (yargs without its help renderer until help is rendered)', () => {
  it('loads from the installed yargs (no fallback)', async () => {
    expect(typeof (await liteYargs())).toBe('function');
  });

  it('parses as the stock yargs does, errors included', async () => {
    const lite = await liteYargs();
    const argv = ['go', 'x', 'y', 'z', '--force'];
    const a = await build(lite, argv).parseAsync();
    const b = await build(yargs, argv).parseAsync();
    expect(a).toEqual(b);
    expect(a.bs).toEqual(['y', 'z']);
    const bad = ['go', 'x', '--nope'];
    await expect((async () => build(lite, bad).parseAsync())()).rejects.toThrow('Unknown argument: nope');
    await expect((async () => build(yargs, bad).parseAsync())()).rejects.toThrow('Unknown argument: nope');
  });

  it('renders the same help text (cliui and string-width loaded when asked)', async () => {
    const lite = await liteYargs();
    const h1 = await build(lite, []).getHelp();
    const h2 = await build(yargs, []).getHelp();
    expect(h1).toBe(h2);
    expect(h1).toContain('t go <a> [bs..]');
  });
});
