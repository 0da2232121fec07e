import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Argv, CommandModule } from 'yargs';
import { fixMmapThreshold, trimMalloc } from '../../io/native.js';
import { extractDump, type ExtractResult } from '../../extract/extract.js';
import { extractFile } from '../../extract/salvage.js';
import { resolveDeclared } from '../../diagnose/declared.js';
import type { ExtractProblem } from '../../extract/plan.js';
import { openDump } from '../../format/open.js';
import { displayString } from '../../format/types.js';
import { EXIT_DAMAGED, EXIT_OK, UsageError, err, out, printJson, type Ctx, favourMemory } from '../context.js';

interface Args {
  dump: string;
  paths?: string[];
  directory?: string;
  tar?: string;
  force: boolean;
  orphans: boolean;
  'same-owner': boolean;
  json: boolean;
  log?: string;
  declared?: string;
  'wrap-bits': number;
}

/** Buffers of 128 KiB and more in mappings of their own (glibc's default, kept fixed: see io/native.ts). */
const MMAP_THRESHOLD = 128 << 10;

/**
 * Between the diagnosis of a sound dump and its extraction: collect the
 * diagnosis' tables now (a forced collection: V8 offers one only with
 * --expose-gc, which can be set at run time for a new context) and give
 * the memory back to the system. Issue #17, a million vnodes: `extract
 * FILE --tar -` peaked at 166 MB, the extraction alone at 145 MB.
 */
function releaseMemory(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // no forced collection: the extraction only peaks higher
  }
  trimMalloc();
}

function problemJson(p: ExtractProblem) {
  return { ...p, ...(p.path !== undefined ? { path: displayString(p.path) } : {}) };
}

export function problemLine(p: ExtractProblem): string {
  const where = p.path !== undefined ? `${displayString(p.path)}: ` : '';
  if (p.offset !== undefined) return `codadump: ${p.code}: ${p.message}`;
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
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('log', { type: 'string', describe: 'damaged dump: backup log whose "Transferred N bytes" pins the seam' })
      .option('declared', { type: 'string', describe: 'damaged dump: the declared byte count as printed (may be negative)' })
      .option('wrap-bits', { type: 'number', default: 32, hidden: true, describe: 'wrap size 2^N (testing)' })
      .conflicts('log', 'declared') as unknown as Argv<Args>,
  handler: async (a) => {
    favourMemory();
    // Before the diagnosis allocates (see releaseMemory).
    fixMmapThreshold(MMAP_THRESHOLD);
    if ((a.directory === undefined) === (a.tar === undefined)) throw new UsageError('extract needs exactly one of -C DIR or --tar FILE');
    if (a.tar === '-' && a.json) throw new UsageError('--json cannot be used with --tar - (standard output carries the archive)');
    if (a['same-owner'] && !(typeof process.getuid === 'function' && process.getuid() === 0)) {
      err('codadump: warning: --same-owner ignored: not running as root');
    }
    const paths = (a.paths ?? []).map((p) => Buffer.from(String(p), 'utf8').toString('latin1'));
    const opts = {
      ...(a.directory !== undefined ? { directory: a.directory } : { tar: a.tar === '-' ? process.stdout : a.tar }),
      paths, force: a.force, orphans: a.orphans, sameOwner: a['same-owner'],
    };
    // A file is diagnosed first and, when damaged, extracted around the damage; standard input up to it.
    const r = a.dump === '-'
      ? await extractDump(await openDump(a.dump), opts)
      : await extractFile(a.dump, {
        ...opts, wrapBits: a['wrap-bits'], declared: await resolveDeclared(a.dump, { log: a.log, declared: a.declared }), afterAnalysis: releaseMemory,
      });
    if (a.json) {
      printJson({
        target: r.target, kind: r.kind, damaged: r.damaged ?? false, directories: r.dirs, files: r.files, symlinks: r.symlinks, hardLinks: r.links, bytes: r.bytes,
        orphans: r.orphans.map((o) => ({ ...o, path: displayString(o.path) })),
        problems: r.problems.map(problemJson),
      });
    } else {
      for (const p of r.problems) err(problemLine(p));
      const say = a.tar === '-' ? err : out;
      say(summary(r));
      if (r.orphans.length) say(`${r.orphans.length} unreachable vnodes written under ${displayString(topComponent(r.orphans[0].path))}/`);
      if (r.damaged) say(`the dump is damaged: extracted what survives; ${r.problems.length} problems (listed above)`);
      else if (r.problems.length) say(`${r.problems.length} entries skipped or not placed (listed above)`);
    }
    ctx.exitCode = r.problems.length > 0 ? EXIT_DAMAGED : EXIT_OK;
  },
});

function topComponent(p: string): string {
  const i = p.indexOf('/');
  return i < 0 ? p : p.slice(0, i);
}
