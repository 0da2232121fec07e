import type { Argv, CommandModule } from 'yargs';
import { extractDump, type ExtractResult } from '../../extract/extract.js';
import type { ExtractProblem } from '../../extract/plan.js';
import { openDump } from '../../format/open.js';
import { displayString } from '../../format/types.js';
import { EXIT_DAMAGED, EXIT_OK, UsageError, err, out, printJson, type Ctx } from '../context.js';

interface Args {
  dump: string;
  paths?: string[];
  directory?: string;
  tar?: string;
  force: boolean;
  orphans: boolean;
  'same-owner': boolean;
  json: boolean;
}

function problemJson(p: ExtractProblem) {
  return { ...p, ...(p.path !== undefined ? { path: displayString(p.path) } : {}) };
}

export function problemLine(p: ExtractProblem): string {
  const where = p.path !== undefined ? `${displayString(p.path)}: ` : '';
  const fid = p.vnode !== undefined && p.path !== undefined ? ` (vnode ${p.vnode})` : '';
  return `codadump: ${where}${p.message}${fid}`;
}

function summary(r: ExtractResult): string {
  const parts = [`${r.dirs} directories`, `${r.files} files (${r.bytes} bytes)`, `${r.symlinks} symbolic links`];
  if (r.links) parts.push(`${r.links} hard links`);
  const where = r.kind === 'directory' ? `into ${r.target}` : r.target === '-' ? 'to standard output (tar)' : `to ${r.target} (tar)`;
  return `extracted ${parts.join(', ')} ${where}`;
}

export const extractCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'extract <dump> [paths..]',
  describe: 'Restore a dump (or PATHs in it) into a directory, or write it as a tar archive',
  builder: (y: Argv) =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'dump file, or - for standard input' })
      .positional('paths', { type: 'string', array: true, describe: 'paths inside the volume (default: all)' })
      .option('directory', { alias: 'C', type: 'string', describe: 'extract into DIR (created if missing)' })
      .option('tar', { type: 'string', describe: 'write a tar archive to FILE (atomically), or - for standard output' })
      .option('force', { type: 'boolean', default: false, describe: 'replace existing files and links (never directories); replace an existing --tar FILE' })
      .option('orphans', { type: 'boolean', default: false, describe: 'write vnodes no directory reaches as #orphans/<vnode>.<uniquifier>' })
      .option('same-owner', { type: 'boolean', default: false, describe: 'restore owner ids (only when running as root)' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' }) as unknown as Argv<Args>,
  handler: async (a) => {
    if ((a.directory === undefined) === (a.tar === undefined)) throw new UsageError('extract needs exactly one of -C DIR or --tar FILE');
    if (a.tar === '-' && a.json) throw new UsageError('--json cannot be used with --tar - (standard output carries the archive)');
    if (a['same-owner'] && !(typeof process.getuid === 'function' && process.getuid() === 0)) {
      err('codadump: warning: --same-owner ignored: not running as root');
    }
    const paths = (a.paths ?? []).map((p) => Buffer.from(String(p), 'utf8').toString('latin1'));
    const reader = await openDump(a.dump);
    const r = await extractDump(reader, {
      ...(a.directory !== undefined ? { directory: a.directory } : { tar: a.tar === '-' ? process.stdout : a.tar }),
      paths, force: a.force, orphans: a.orphans, sameOwner: a['same-owner'],
    });
    if (a.json) {
      printJson({
        target: r.target, kind: r.kind, directories: r.dirs, files: r.files, symlinks: r.symlinks, hardLinks: r.links, bytes: r.bytes,
        orphans: r.orphans.map((o) => ({ ...o, path: displayString(o.path) })),
        problems: r.problems.map(problemJson),
      });
    } else {
      for (const p of r.problems) err(problemLine(p));
      const say = a.tar === '-' ? err : out;
      say(summary(r));
      if (r.orphans.length) say(`${r.orphans.length} unreachable vnodes written under ${displayString(topComponent(r.orphans[0].path))}/`);
      if (r.problems.length) say(`${r.problems.length} entries skipped or not placed (listed above)`);
    }
    ctx.exitCode = r.problems.length > 0 ? EXIT_DAMAGED : EXIT_OK;
  },
});

function topComponent(p: string): string {
  const i = p.indexOf('/');
  return i < 0 ? p : p.slice(0, i);
}
