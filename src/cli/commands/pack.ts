import type { Argv, CommandModule } from 'yargs';
import { packTree } from '../../pack/pack.js';
import { checkOutputNotBase, incrementalItems, planIncremental } from '../../pack/incremental.js';
import { walkTree } from '../../pack/tree.js';
import { writeDumpFile } from '../../io/write-dump.js';
import { displayString } from '../../format/types.js';
import { EXIT_OK, err, out, parseHexId, type Ctx } from '../context.js';

interface Args {
  dir: string;
  output: string;
  force: boolean;
  'volume-id'?: string;
  'parent-id'?: string;
  name?: string;
  'backup-date'?: number;
  'incremental-from'?: string;
  gzip: boolean;
}

export const packCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'pack <dir>',
  describe: 'Build a full dump of a directory tree (or, with --incremental-from, an incremental one)',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'directory tree to dump' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'dump file to write' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output file' })
      .option('volume-id', { type: 'string', describe: 'volume id in hex (default 01000002)' })
      .option('parent-id', { type: 'string', describe: 'parent volume id in hex (default 01000001)' })
      .option('gzip', { type: 'boolean', default: false, describe: 'write gzip (also when the output name ends in .gz)' })
      .option('name', { type: 'string', describe: 'volume name (default <dir>.backup)' })
      .option('backup-date', { type: 'number', describe: 'backup date, Unix seconds (default now)' })
      .option('incremental-from', {
        type: 'string',
        describe: 'write an incremental dump against BASE, a full dump of an earlier state of DIR (ids and name default to BASE\'s)',
      }) as unknown as Argv<Args>,
  handler: async (a) => {
    const layout = await walkTree(a.dir);
    for (const p of layout.skipped) err(`codadump: skipped ${displayString(p)}: not a file, directory or symbolic link`);
    const opts = {
      volumeId: parseHexId(a['volume-id'], '--volume-id'),
      parentId: parseHexId(a['parent-id'], '--parent-id'),
      name: a.name,
      backupDate: a['backup-date'],
    };
    if (a['incremental-from'] !== undefined) {
      checkOutputNotBase(a.output, a['incremental-from']);
      const plan = await planIncremental(a.dir, a['incremental-from'], opts, layout);
      const res = await writeDumpFile(a.output, incrementalItems(plan), { force: a.force, gzip: a.gzip });
      const s = plan.stats;
      out(`${a.output}: ${res.bytes} bytes, incremental (level ${plan.header.incremental}) against ${a['incremental-from']}, order ${plan.header.oldest}..${plan.header.latest}`);
      out(`  directories: ${s.changed.dirs} changed, ${s.added.dirs} added, ${s.removed.dirs} removed; files and links: ${s.changed.files} changed, ${s.added.files} added, ${s.removed.files} removed; ${s.unchanged} unchanged`);
      ctx.exitCode = EXIT_OK;
      return;
    }
    const res = await writeDumpFile(a.output, packTree(a.dir, opts, layout), { force: a.force, gzip: a.gzip });
    out(`${a.output}: ${res.bytes} bytes, ${layout.dirs.length} directories, ${layout.files.length} files and links`);
    ctx.exitCode = EXIT_OK;
  },
});
