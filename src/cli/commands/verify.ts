import chalk from 'chalk';
import type { Argv, CommandModule } from 'yargs';
import { defaultJobs, verifyArchive, type DumpReport } from '../../check/archive.js';
import type { Verdict } from '../../check/problems.js';
import { displayString } from '../../format/types.js';
import { EXIT_DAMAGED, EXIT_OK, UsageError, out, printJson, type Ctx } from '../context.js';
import { byteProgress, humanBytes } from '../progress.js';
import { AtomicOutput } from '../../io/atomic-output.js';
import { archiveHtml } from '../../report/html.js';

/** The arguments the handler reads. */
export interface VerifyArgs {
  paths: string[];
  json: boolean;
  deep: boolean;
  log?: string[];
  jobs?: number;
  verbose: boolean;
  'wrap-bits': number;
  html?: string;
  force: boolean;
}

const COLOUR: Record<Verdict, (s: string) => string> = {
  ok: chalk.green,
  truncated: chalk.red,
  'trailing-data': chalk.yellow,
  wraparound: chalk.magenta,
  corrupt: chalk.red,
  'not-a-dump': chalk.gray,
};

/**
 * The wraparound diagnosis (diagnose/verify-hook.ts), loaded only when a dump
 * is damaged: it leaves a sound dump alone, and a verify of sound dumps
 * should not pay for loading the diagnosis.
 */
function wraparoundHook(wrapBits: number): (r: DumpReport, declared: number | null) => Promise<void> {
  let hook: ((r: DumpReport, declared: number | null) => Promise<void>) | undefined;
  return async (r, declared) => {
    if (r.verdict === 'ok') return;
    hook ??= (await import('../../diagnose/verify-hook.js')).wraparoundAnalyzer({ wrapBits });
    await hook(r, declared);
  };
}

export function reportJson(r: DumpReport) {
  return {
    path: r.path,
    verdict: r.verdict,
    size: r.size,
    streamLength: r.streamLength,
    header: r.header ? { ...r.header, name: displayString(r.header.name) } : null,
    counts: r.counts,
    problems: r.problems,
    ...(Object.keys(r.suppressed).length ? { suppressed: r.suppressed } : {}),
    ...(r.log ? { log: r.log } : {}),
    ...(r.sha256 ? { sha256: r.sha256 } : {}),
    ...(r.fileDigests ? { fileDigests: Object.fromEntries(r.fileDigests) } : {}),
    ...(r.diagnosis ? { diagnosis: r.diagnosis } : {}),
  };
}

/** One line per dump: verdict, path, size, the first error with its offset. */
export function reportLine(r: DumpReport, verbose: boolean): string[] {
  const first = r.problems.find((p) => p.severity === 'error') ?? (verbose ? r.problems[0] : undefined);
  const size = r.size !== null ? `${r.size} bytes` : `${r.bytesChecked} bytes read`;
  const verdict = COLOUR[r.verdict](r.verdict.padEnd(13));
  const reason = first ? `  ${first.code} at byte ${first.offset}: ${first.message}` : '';
  const lines = [`${verdict} ${r.path}  ${size}${reason}`];
  if (r.sha256) lines.push(`              sha256 ${r.sha256}`);
  if (verbose) {
    for (const p of r.problems) if (p !== first) lines.push(`              ${p.severity} ${p.code} at byte ${p.offset}${p.vnode ? ` (vnode ${p.vnode})` : ''}: ${p.message}`);
  }
  return lines;
}

export const verifyCommand = (ctx: Ctx): CommandModule<object, VerifyArgs> => ({
  command: 'verify <paths..>',
  describe: 'Check dumps (files, directories searched recursively, or - for stdin) end to end',
  builder: (y: Argv) =>
    y
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'dump files, directories, or -' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('deep', { type: 'boolean', default: false, describe: 'read every byte: SHA-256 of each dump and of each file' })
      .option('log', { type: 'string', requiresArg: true, describe: 'backup log to check declared sizes against (repeatable)', coerce: (v: string | string[]) => ([] as string[]).concat(v) })
      .option('jobs', { alias: 'j', type: 'number', describe: 'dumps verified at once (default: the CPU cores, at least 2, at most 8)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'list every problem, not just the first' })
      .option('html', { type: 'string', requiresArg: true, describe: 'also write a self-contained HTML health page (volumes by run date) to this file' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing --html file' })
      .option('wrap-bits', { type: 'number', default: 32, hidden: true, describe: 'wrap size 2^N for the wraparound diagnosis (testing)' }) as unknown as Argv<VerifyArgs>,
  handler: async (a) => {
    const jobs = a.jobs ?? defaultJobs();
    if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError('--jobs must be a whole number >= 1');
    // Opened first: an existing page without --force fails before the verify, not after.
    const page = a.html !== undefined ? new AtomicOutput(a.html, { force: a.force }) : null;
    let bar = byteProgress(0, 'verify', false);
    const report = await verifyArchive(a.paths, {
      deep: a.deep,
      // Per-file digests only show in --json; text output needs just the whole-dump hash.
      fileDigests: a.json,
      jobs,
      logs: a.log ?? [],
      analyze: wraparoundHook(a['wrap-bits']),
      onStart: (_c, total) => {
        if (!a.json) bar = byteProgress(total, 'verify', process.stdout.isTTY);
      },
      onBytes: (b) => bar.update(b),
      onResult: (r) => {
        if (a.json) return;
        bar.stop();
        for (const l of reportLine(r, a.verbose)) out(l);
      },
    }).catch((e: unknown) => {
      page?.abort();
      throw e;
    });
    bar.stop();
    if (page) {
      try {
        page.write(Buffer.from(archiveHtml(report, { subtitle: a.paths.join(' '), generated: new Date().toISOString() })));
        page.commit();
      } catch (e) {
        page.abort();
        throw e;
      }
    }
    const s = report.summary;
    if (a.json) {
      printJson({
        dumps: report.dumps.map(reportJson),
        missing: report.missing.map((m) => ({ path: m.path, volume: m.volume, log: m.log, line: m.line, printed: m.printed })),
        summary: s,
      });
    } else {
      for (const m of report.missing) out(`${chalk.red('missing'.padEnd(13))} ${m.path}  named by ${m.log}:${m.line} (volume ${m.volume}), not found`);
      const parts = Object.entries(s.byVerdict).filter(([v]) => v !== 'ok').map(([v, n]) => `${n} ${v}`);
      out('');
      out(
        `${s.dumps} dumps: ${chalk.green(`${s.ok} ok`)}, ${s.damaged ? chalk.red(`${s.damaged} damaged`) : '0 damaged'}` +
          `${parts.length ? ` (${parts.join(', ')})` : ''}${s.missing ? `, ${chalk.red(`${s.missing} missing`)}` : ''}; ` +
          `${s.skippedFiles} other files skipped; ${humanBytes(s.bytesChecked)} checked in ${s.seconds.toFixed(2)} s`,
      );
    }
    ctx.exitCode = s.damaged > 0 || s.missing > 0 ? EXIT_DAMAGED : EXIT_OK;
  },
});
