import type { Argv, CommandModule } from 'yargs';
import { packDirectory } from '../../pack/pack-file.js';
import { displayString } from '../../format/types.js';
import { EXIT_OK, UsageError, err, out, parseHexId, printJson, type Ctx, favourMemory } from '../context.js';
import { manifestOption, recordOutput } from './manifest-option.js';

interface Args {
  dir: string;
  output: string;
  manifest?: string;
  force: boolean;
  'volume-id'?: string;
  'parent-id'?: string;
  name?: string;
  'backup-date'?: number;
  'incremental-from'?: string;
  json: boolean;
  gzip: boolean;
  tmpdir?: string;
  'decompress-with'?: string;
}

export const packCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'pack <dir>',
  describe: 'Build a full dump of a directory tree (or, with --incremental-from, an incremental one)',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'directory tree to dump' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'dump file to write' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output file' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('manifest', manifestOption)
      .option('volume-id', { type: 'string', describe: 'volume id in hex (default 01000002)' })
      .option('parent-id', { type: 'string', describe: 'parent volume id in hex (default 01000001)' })
      .option('gzip', { type: 'boolean', default: false, describe: 'write gzip (also when the output name ends in .gz)' })
      .option('name', { type: 'string', describe: 'volume name (default <dir>.backup)' })
      .option('backup-date', { type: 'number', describe: 'backup date, Unix seconds (default now)' })
      .option('incremental-from', {
        type: 'string',
        describe: 'write an incremental dump against BASE, a full dump of an earlier state of DIR (ids and name default to BASE\'s); BASE may be compressed',
      })
      .option('tmpdir', { type: 'string', requiresArg: true, describe: '--incremental-from: where a compressed BASE is decoded for positional reading (default: the system temporary directory)' })
      .option('decompress-with', { type: 'string', requiresArg: true, describe: '--incremental-from: shell command that decodes a compressed BASE (stdin to stdout)' }) as unknown as Argv<Args>,
  handler: async (a) => {
    if (a['incremental-from'] === undefined && (a.tmpdir !== undefined || a['decompress-with'] !== undefined)) {
      throw new UsageError('--tmpdir and --decompress-with go with --incremental-from only');
    }
    favourMemory();
    const r = await packDirectory(a.dir, a.output, {
      volumeId: parseHexId(a['volume-id'], '--volume-id'),
      parentId: parseHexId(a['parent-id'], '--parent-id'),
      name: a.name,
      backupDate: a['backup-date'],
      force: a.force,
      incrementalFrom: a['incremental-from'],
      gzip: a.gzip,
      tmpdir: a.tmpdir,
      decompressWith: a['decompress-with'],
      onSkipped: (p) => err(`codadump: skipped ${displayString(p)}: not a file, directory or symbolic link`),
    });
    await recordOutput(a.manifest, a.output);
    if (a.json) {
      const inc = r.incremental;
      printJson({
        output: r.output, bytes: r.bytes, directories: r.dirs, files: r.files, skipped: r.skipped.map(displayString),
        ...(inc ? { incremental: { base: inc.base, level: inc.header.incremental, oldest: inc.header.oldest, latest: inc.header.latest, ...inc.stats } } : {}),
      });
    } else if (r.incremental) {
      const { header: h, stats: s, base } = r.incremental;
      out(`${a.output}: ${r.bytes} bytes, incremental (level ${h.incremental}) against ${base}, order ${h.oldest}..${h.latest}`);
      out(`  directories: ${s.changed.dirs} changed, ${s.added.dirs} added, ${s.removed.dirs} removed; files and links: ${s.changed.files} changed, ${s.added.files} added, ${s.removed.files} removed; ${s.unchanged} unchanged`);
    } else {
      out(`${a.output}: ${r.bytes} bytes, ${r.dirs} directories, ${r.files} files and links`);
    }
    ctx.exitCode = EXIT_OK;
  },
});
