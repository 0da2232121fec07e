import type { Argv, CommandModule } from 'yargs';
import { openDump } from '../../format/open.js';
import { listDump } from '../../format/listing.js';
import { displayString } from '../../format/types.js';
import { EXIT_OK, isoDate, modeString, out, printJson, type Ctx } from '../context.js';

interface Args {
  dump: string;
  json: boolean;
}

export const lsCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'ls <dump>',
  describe: 'List the files of a dump like `tar tv` (- for stdin)',
  builder: (y: Argv) =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'dump file, or - for standard input' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' }) as Argv<Args>,
  handler: async (a) => {
    const listing = await listDump(await openDump(a.dump));
    if (a.json) {
      printJson(listing.entries.map((e) => ({ ...e, path: displayString(e.path), ...(e.target !== undefined ? { target: displayString(e.target) } : {}) })));
    } else {
      for (const e of listing.entries) {
        const t = e.type === 'dir' ? 2 : e.type === 'symlink' ? 3 : 1;
        const link = e.target !== undefined ? ` -> ${displayString(e.target)}` : '';
        out(`${modeString(t, e.mode)} ${String(e.owner).padStart(5)} ${String(e.size).padStart(10)} ${isoDate(e.mtime).replace('T', ' ').replace('Z', '')} ${displayString(e.path)}${link}`);
      }
      for (const u of listing.unreachable) out(`# unreachable: vnode ${u.vnode}.${u.unique} (no directory names it)`);
    }
    ctx.exitCode = EXIT_OK;
  },
});
