import chalk from 'chalk';
import type { Argv, CommandModule } from 'yargs';
import { restoreChains } from '../../archive/chains.js';
import { compareReplicas } from '../../archive/replicas.js';
import { defaultJobs, verifyArchive, type ArchiveReport, type DumpReport } from '../../check/archive.js';
import { parseRelocation, type Relocation } from '../../check/backup-log.js';
import type { Verdict } from '../../check/problems.js';
import { CODES, type Code } from '../../diagnostics/codes.js';
import { displayString } from '../../format/types.js';
import { describeContainer } from '../../source/container.js';
import { EXIT_DAMAGED, EXIT_OK, EXIT_USAGE, UsageError, out, printJson, type Ctx, favourMemory } from '../context.js';
import { byteProgress, humanBytes } from '../progress.js';
import { checkAgainst, entryOf, openManifest, readManifest } from '../../archive/manifest.js';
import { findingLines, fixityLines, replicaLines, volumeTable, volumesJson } from './verify-volumes.js';
import { AtomicOutput } from '../../io/atomic-output.js';
import { archiveHtml } from '../../report/html.js';

/** The arguments the handler reads. */
export interface VerifyArgs {
  paths: string[];
  json: boolean;
  deep: boolean;
  log?: string[];
  relocate?: string[];
  manifest?: string;
  against?: string;
  force: boolean;
  jobs?: number;
  verbose: boolean;
  'wrap-bits': number;
  'decompress-with'?: string;
  tmpdir?: string;
  html?: string;
}

const COLOUR: Record<Verdict, (s: string) => string> = {
  ok: chalk.green,
  truncated: chalk.red,
  'trailing-data': chalk.yellow,
  wraparound: chalk.magenta,
  corrupt: chalk.red,
  'not-a-dump': chalk.gray,
  unreadable: chalk.red,
};

/**
 * The wraparound diagnosis (diagnose/verify-hook.ts), loaded only when a dump
 * is damaged: it leaves a sound dump alone, and a verify of sound dumps
 * should not pay for loading the diagnosis.
 */
function wraparoundHook(wrapBits: number, more: { tmpdir?: string; decompressWith?: string } = {}): (r: DumpReport, declared: number | null) => Promise<void> {
  let hook: ((r: DumpReport, declared: number | null) => Promise<void>) | undefined;
  return async (r, declared) => {
    if (r.verdict === 'ok' || r.verdict === 'unreadable') return;
    hook ??= (await import('../../diagnose/verify-hook.js')).wraparoundAnalyzer({ wrapBits, ...more });
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
    ...(r.container ? { container: containerJson(r) } : {}),
    counts: r.counts,
    problems: r.problems,
    ...(Object.keys(r.suppressed).length ? { suppressed: r.suppressed } : {}),
    ...(r.log ? { log: r.log } : {}),
    ...(r.aliases ? { aliases: r.aliases } : {}),
    ...(r.layout ? { layout: r.layout } : {}),
    ...(r.sha256 ? { sha256: r.sha256 } : {}),
    ...(r.fileDigests ? { fileDigests: Object.fromEntries(r.fileDigests) } : {}),
    ...(r.diagnosis ? { diagnosis: r.diagnosis } : {}),
  };
}

function containerJson(r: DumpReport) {
  const c = r.container!;
  return { compression: c.compression, ...(c.command ? { command: c.command } : {}), members: c.members, compressedSize: c.compressedSize, decodedSize: c.decodedSize, pieces: c.pieces, ...(c.amanda ? { amanda: c.amanda } : {}) };
}

/** One line per dump: verdict, path, size, the first error with its offset. */
export function reportLine(r: DumpReport, verbose: boolean): string[] {
  const first = r.problems.find((p) => p.severity === 'error') ?? (verbose ? r.problems[0] : undefined);
  const size = (r.size !== null ? `${r.size} bytes` : `${r.bytesChecked} bytes read`) + (r.container ? ` (${describeContainer(r.container)})` : '');
  const verdict = COLOUR[r.verdict](r.verdict.padEnd(13));
  const where = (p: { code: string; offset: number }) => (r.container && CODES[p.code as Code].area === 'container' ? `compressed byte ${p.offset}` : `byte ${p.offset}`);
  const reason = first ? `  ${first.code} at ${where(first)}: ${first.message}` : '';
  const lines = [`${verdict} ${r.path}  ${size}${reason}`];
  for (const a of r.aliases ?? []) lines.push(`              also ${a}`);
  if (r.sha256) lines.push(`              sha256 ${r.sha256}`);
  if (verbose && r.layout) {
    const l = r.layout;
    const parts = [l.run ? `run ${l.run}` : '', l.server ? `server ${l.server}` : '', l.volumeId ? `volume ${l.volumeId}` : '', l.replicaId ? `replica ${l.replicaId}` : ''].filter(Boolean);
    if (parts.length) lines.push(`              ${parts.join(', ')}`);
  }
  if (verbose) {
    for (const p of r.problems) if (p !== first) lines.push(`              ${p.severity} ${p.code} at ${where(p)}${p.vnode ? ` (vnode ${p.vnode})` : ''}: ${p.message}`);
  }
  return lines;
}

/**
 * 0 all ok; 1 damage, missing dumps, unreadable entries, a volume not
 * restorable or a manifest mismatch (the rest was verified); 2 nothing
 * could be read at all (a missing decompressor alone is exit 1).
 */
export function verifyExitCode(s: ArchiveReport['summary'], more: { unrestorable?: number; unfixed?: number; undecodable?: number } = {}): number {
  // A dump whose decompressor is missing was read (not decoded): it is not "nothing read".
  const read = s.dumps - (s.byVerdict.unreadable ?? 0) + (more.undecodable ?? 0);
  if (s.unreadable > 0 && read === 0) return EXIT_USAGE;
  return s.damaged > 0 || s.missing > 0 || s.unreadable > 0 || (more.unrestorable ?? 0) > 0 || (more.unfixed ?? 0) > 0 ? EXIT_DAMAGED : EXIT_OK;
}

function relocations(specs: string[]): Relocation[] {
  return specs.map((spec) => {
    const r = parseRelocation(spec);
    if (!r) throw new UsageError(`--relocate wants FROM=DIR with FROM an absolute path, got '${spec}'`);
    return r;
  });
}

export const verifyCommand = (ctx: Ctx): CommandModule<object, VerifyArgs> => ({
  command: 'verify <paths..>',
  describe: 'Check dumps (files, directories searched recursively, or - for stdin) end to end',
  builder: (y: Argv) =>
    y
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'dump files, directories, or -' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('deep', { type: 'boolean', default: false, describe: 'read every byte: SHA-256 of each dump and of each file' })
      .option('log', { type: 'string', requiresArg: true, describe: 'backup log, or a directory of logs, to check the dumps against (repeatable)', coerce: (v: string | string[]) => ([] as string[]).concat(v) })
      .option('relocate', { type: 'string', requiresArg: true, describe: 'FROM=DIR: absolute link targets and log paths under FROM are under DIR here (repeatable)', coerce: (v: string | string[]) => ([] as string[]).concat(v) })
      .option('manifest', { type: 'string', requiresArg: true, describe: 'with --deep: write a fixity manifest (size, SHA-256, per-file digests) of the dumps verified' })
      .option('against', { type: 'string', requiresArg: true, describe: 'check the dumps against a fixity manifest (implies --deep): changed, added, gone' })
      .option('html', { type: 'string', requiresArg: true, describe: 'also write a self-contained HTML health page (volumes by run date) to this file' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing --manifest or --html file' })
      .option('jobs', { alias: 'j', type: 'number', describe: 'dumps verified at once (default: the CPU cores, at least 2, at most 8)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'list every problem, not just the first' })
      .option('decompress-with', { type: 'string', requiresArg: true, describe: 'shell command that decodes compressed inputs (stdin to stdout), for formats without a built-in or system decoder' })
      .option('tmpdir', { type: 'string', requiresArg: true, describe: 'where a damaged compressed dump is decoded for the wraparound diagnosis (default: the system temporary directory)' })
      .option('wrap-bits', { type: 'number', default: 32, hidden: true, describe: 'wrap size 2^N for the wraparound diagnosis (testing)' }) as unknown as Argv<VerifyArgs>,
  handler: async (a) => {
    favourMemory();
    const jobs = a.jobs ?? defaultJobs();
    if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError('--jobs must be a whole number >= 1');
    const relocate = relocations(a.relocate ?? []);
    if (a.manifest && !a.deep) throw new UsageError('--manifest needs --deep (it records SHA-256 digests)');
    // Read the manifest first: a bad one is a usage error before any work.
    const against = a.against ? await readManifest(a.against) : null;
    const deep = a.deep || !!against;
    const manifest = a.manifest ? openManifest(a.manifest, a.force) : null;
    // Opened first: an existing page without --force fails before the verify, not after.
    const page = a.html !== undefined ? new AtomicOutput(a.html, { force: a.force }) : null;
    let bar = byteProgress(0, 'verify', false);
    const report = await verifyArchive(a.paths, {
      deep,
      // Per-file digests show in --json and go into manifests; text output needs just the whole-dump hash.
      fileDigests: a.json || !!a.manifest || !!against,
      jobs,
      logs: a.log ?? [],
      relocate,
      decompressWith: a['decompress-with'],
      analyze: wraparoundHook(a['wrap-bits'], { tmpdir: a.tmpdir, decompressWith: a['decompress-with'] }),
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
    const s = report.summary;
    const chains = restoreChains(report.dumps, report.logs, report.missing);
    if (page) {
      try {
        page.write(Buffer.from(archiveHtml({ ...report, volumes: volumesJson(chains) }, { subtitle: a.paths.join(' '), generated: new Date().toISOString() })));
        page.commit();
      } catch (e) {
        page.abort();
        throw e;
      }
    }
    // Restore chains decide the exit code for an archive (a directory, or --log);
    // files named one by one are judged one by one (an incremental alone is not damage).
    const unrestorable = report.archive ? chains.volumes.filter((v) => !v.restorable).length : 0;
    const replicas = await compareReplicas(report.dumps, { decompressWith: a['decompress-with'] });
    const fixity = against ? checkAgainst(against, report.dumps, a.paths) : null;
    if (manifest && a.manifest) {
      const m = a.manifest;
      manifest.commit(report.dumps.map((r) => entryOf(m, r)).filter((e) => e !== null));
    }
    if (a.json) {
      printJson({
        dumps: report.dumps.map(reportJson),
        unreadable: report.unreadable,
        missing: report.missing.map((m) => ({ path: m.path, volume: m.volume, log: m.log, line: m.line, printed: m.printed })),
        findings: report.findings,
        volumes: volumesJson(chains),
        ...(chains.unplaced.length ? { unplaced: chains.unplaced } : {}),
        ...(replicas.differences.length ? { replicas: replicas.differences } : {}),
        ...(fixity ? { fixity: { manifest: a.against, same: fixity.same, changed: fixity.changed, added: fixity.added, gone: fixity.gone } } : {}),
        summary: { ...s, volumes: chains.volumes.length, unrestorable },
      });
    } else {
      for (const l of findingLines(report)) out(l);
      for (const l of replicaLines(replicas.findings)) out(l);
      if (fixity) for (const l of fixityLines(fixity)) out(l);
      for (const m of report.missing) out(`${chalk.red('missing'.padEnd(13))} ${m.path}  named by ${m.log}:${m.line} (volume ${m.volume}), not found`);
      const parts = Object.entries(s.byVerdict).filter(([v]) => v !== 'ok').map(([v, n]) => `${n} ${v}`);
      out('');
      out(
        `${s.dumps} dumps: ${chalk.green(`${s.ok} ok`)}, ${s.damaged ? chalk.red(`${s.damaged} damaged`) : '0 damaged'}` +
          `${parts.length ? ` (${parts.join(', ')})` : ''}${s.missing ? `, ${chalk.red(`${s.missing} missing`)}` : ''}; ` +
          `${s.unreadable ? `${chalk.red(`${s.unreadable} unreadable`)}; ` : ''}${s.skippedFiles} other files skipped${s.aliases ? `, ${s.aliases} aliases` : ''}; ${humanBytes(s.bytesChecked)} checked in ${s.seconds.toFixed(2)} s`,
      );
      if (report.archive) for (const l of volumeTable(chains)) out(l);
      if (fixity) out(`manifest ${a.against}: ${fixity.same} unchanged, ${fixity.changed.length} changed, ${fixity.added.length} added, ${fixity.gone.length} gone`);
      if (a.manifest) out(`manifest written: ${a.manifest}`);
    }
    const unfixed = fixity ? fixity.changed.length + fixity.gone.length : 0;
    // Read but not decodable here (no decompressor; an Amanda continuation piece given without its first): exit 1, not 2.
    const undecodable = report.dumps.filter((d) => d.problems.some((p) => p.code === 'DECOMPRESSOR_MISSING' || p.code === 'AMANDA_ORPHAN_PIECE')).length;
    ctx.exitCode = verifyExitCode(s, { unrestorable, unfixed, undecodable });
  },
});
