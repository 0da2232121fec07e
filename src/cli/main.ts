/** The codadump command line: parses arguments, calls the library, renders. */
import { readFileSync } from 'node:fs';
import { runExitCleanups } from '../io/exit-cleanup.js';
import { EXIT_USAGE, UsageError, errorJson, internalLine, jsonRequested, printJson, reportError, type Ctx } from './context.js';
import { quickArgs } from './quick-args.js';
import type { CommandModule } from 'yargs';

type CommandFactory = (ctx: Ctx) => CommandModule<object, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Command modules, loaded on demand: a run loads only the command it names
 * (startup time is part of every verify of a small dump), and all of them
 * for --help or an unknown word.
 */
const COMMANDS: Record<string, () => Promise<CommandFactory>> = {
  inspect: async () => (await import('./commands/inspect.js')).inspectCommand,
  ls: async () => (await import('./commands/ls.js')).lsCommand,
  pack: async () => (await import('./commands/pack.js')).packCommand,
  extract: async () => (await import('./commands/extract.js')).extractCommand,
  merge: async () => (await import('./commands/merge.js')).mergeCommand,
  redump: async () => (await import('./commands/redump.js')).redumpCommand,
  verify: async () => (await import('./commands/verify.js')).verifyCommand,
  diagnose: async () => (await import('./commands/diagnose.js')).diagnoseCommand,
  repair: async () => (await import('./commands/repair.js')).repairCommand,
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand,
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A closed pipe on stdout (e.g. `| head`) ends the program quietly. */
let epipeHooked = false;
function quietEpipe(): void {
  if (epipeHooked) return;
  epipeHooked = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
}

/**
 * Ctrl-C or a kill: end at once through process.exit, whose 'exit' hook
 * removes every unfinished output's temporary file (AtomicOutput). A
 * command that handles the signal itself (redump names its output) does so
 * instead. Exit 130 for SIGINT, 143 for SIGTERM, as shells do.
 */
let signalsHooked = false;
function exitOnSignals(): void {
  // Once per process (main() may run more than once in one, as in the tests).
  if (signalsHooked) return;
  signalsHooked = true;
  const onSignal = (sig: NodeJS.Signals) => {
    if (process.listenerCount(sig) > 1) return;
    process.stderr.write(`codadump: interrupted by ${sig}; unfinished output removed\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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

/**
 * The process hooks belong to the command line, not the library: temporary
 * outputs still pending and dump commands still running when the process
 * exits (an error, Ctrl-C through process.exit) are undone here.
 */
let exitHooked = false;
function cleanupOnExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', runExitCleanups);
}

/**
 * yargs renders the whole help text after it starts a command's handler
 * (usage.cacheHelpMessage, kept for a handler that would show help later;
 * none of ours does): 0.1 to 0.2 s of CPU in every run, most of it
 * measuring string widths. --help and usage errors still render it, when
 * they need it. Best effort: a yargs without that internal method is left as it is.
 */
function skipHelpCache(cli: unknown): void {
  type Usage = { cacheHelpMessage?: () => void };
  const internal = (cli as { getInternalMethods?: () => { getUsageInstance?: () => Usage } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

export async function main(argv: string[]): Promise<number> {
  // `codadump --version` alone needs neither yargs nor a command (a third of
  // the start-up time is loading yargs): the same line, without them.
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  quietEpipe();
  cleanupOnExit();
  exitOnSignals();
  const ctx: Ctx = { exitCode: 0 };
  // A command whose work waits on something that can never come (a bug) would
  // let the process end quietly with exit 0: it ends with one line and exit 2.
  const onStall = () => {
    const what = 'the command stopped before it finished (it waits for nothing that can still happen)';
    if (ctx.json ?? jsonRequested(argv)) printJson({ error: { code: 'INTERNAL', message: `internal error: ${what}` } });
    process.stderr.write(`codadump: error: ${internalLine(what)}\n`);
    process.exitCode = EXIT_USAGE;
  };
  process.once('beforeExit', onStall);
  try {
    return await run(argv, ctx);
  } finally {
    process.off('beforeExit', onStall);
  }
}

/**
 * Commands whose plainest command lines are read without loading yargs
 * (quick-args.ts): the same arguments, about 20 ms sooner (issue #17).
 */
const QUICK = new Set(['merge']);

async function run(argv: string[], ctx: Ctx): Promise<number> {
  const named = argv.find((a) => !a.startsWith('-'));
  if (named !== undefined && named === argv[0] && QUICK.has(named)) {
    const command = (await COMMANDS[named]())(ctx);
    const args = quickArgs(command, argv);
    if (args !== null) {
      ctx.json = args.json === true;
      try {
        await command.handler(args as Parameters<typeof command.handler>[0]);
      } catch (e) {
        return failed(e, argv, ctx);
      }
      return ctx.exitCode;
    }
  }
  const wanted = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
  const [{ default: yargs }, ...factories] = await Promise.all([import('yargs'), ...wanted.map((n) => COMMANDS[n]())]);
  const cli = yargsCli(yargs, argv, ctx, factories.map((f) => f(ctx)));
  try {
    await cli.parseAsync();
  } catch (e) {
    return failed(e, argv, ctx);
  }
  return ctx.exitCode;
}

/**
 * The yargs parser of the command line, for `commands` (exported for the
 * test that holds quick-args.ts to what yargs reads).
 */
export function yargsCli(yargs: typeof import('yargs').default, argv: readonly string[], ctx: Ctx, commands: CommandModule<object, any>[]) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const cli = yargs(argv.map((a) => (a === '-' ? DASH : a)))
    .middleware(restoreDash, true)
    .middleware((a) => {
      ctx.json = a.json === true;
    })
    .scriptName('codadump')
    .usage('$0 <command> [options]\n\nVerify, diagnose, repair and regenerate Coda volume dump files.')
    .command(commands)
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .version(version())
    .help()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 ok; 1 damage found or verification failed; 2 usage error or unusable input.')
    .fail((msg, e) => {
      throw e ?? new UsageError(msg);
    });
  // Once a command's handler has started, yargs renders the whole help text
  // (cacheHelpMessage) to print it should the handler fail later; the fail
  // handler above throws instead of printing help, so that text is never
  // used. Not making it saves a sixth of the CPU time of a small merge.
  skipHelpCache(cli);
  return cli;
}

/** A command that ended in an error: its line (and JSON document), and the exit code. */
function failed(e: unknown, argv: string[], ctx: Ctx): number {
  // Errors as data: with --json, standard output carries one JSON document even when the command fails.
  if (ctx.json ?? jsonRequested(argv)) printJson(errorJson(e));
  if (e instanceof UsageError) {
    process.stderr.write(`codadump: ${e.message}\nTry 'codadump --help'.\n`);
    return EXIT_USAGE;
  }
  return reportError(e);
}
