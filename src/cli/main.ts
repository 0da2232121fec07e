/** The codadump command line: parses arguments, calls the library, renders. */
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { EXIT_USAGE, UsageError, reportError, type Ctx } from './context.js';
import { inspectCommand } from './commands/inspect.js';
import { lsCommand } from './commands/ls.js';
import { packCommand } from './commands/pack.js';
import { extractCommand } from './commands/extract.js';
import { mergeCommand } from './commands/merge.js';
import { redumpCommand } from './commands/redump.js';
import { verifyCommand } from './commands/verify.js';
import { diagnoseCommand } from './commands/diagnose.js';
import { repairCommand } from './commands/repair.js';
import { simulateCommand } from './commands/simulate.js';

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A closed pipe on stdout (e.g. `| head`) ends the program quietly. */
function quietEpipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
}

/**
 * yargs reads a lone `-` as an empty option name; carry it through parsing
 * under another name and give it back to the handlers as `-` (stdin/stdout).
 */
const DASH = '\u0000-';

function restoreDash(argv: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(argv)) {
    if (v === DASH) argv[k] = '-';
    else if (Array.isArray(v)) argv[k] = v.map((x) => (x === DASH ? '-' : x));
  }
}

export async function main(argv: string[]): Promise<number> {
  quietEpipe();
  const ctx: Ctx = { exitCode: 0 };
  const cli = yargs(argv.map((a) => (a === '-' ? DASH : a)))
    .middleware(restoreDash, true)
    .scriptName('codadump')
    .usage('$0 <command> [options]\n\nVerify, diagnose, repair and regenerate Coda volume dump files.')
    .command(inspectCommand(ctx))
    .command(lsCommand(ctx))
    .command(packCommand(ctx))
    .command(extractCommand(ctx))
    .command(mergeCommand(ctx))
    .command(redumpCommand(ctx))
    .command(verifyCommand(ctx))
    .command(diagnoseCommand(ctx))
    .command(repairCommand(ctx))
    .command(simulateCommand(ctx))
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .version(version())
    .help()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 ok; 1 damage found or verification failed; 2 usage error or unusable input.')
    .fail((msg, e) => {
      throw e ?? new UsageError(msg);
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`codadump: ${e.message}\nTry 'codadump --help'.\n`);
      return EXIT_USAGE;
    }
    return reportError(e);
  }
  return ctx.exitCode;
}
