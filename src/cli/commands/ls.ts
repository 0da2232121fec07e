import type { Argv, CommandModule } from 'yargs';
import { openDump } from '../../format/open.js';
import { forEachListed, type ListEntry } from '../../format/listing.js';
import { displayString } from '../../format/types.js';
import { EXIT_OK, isoDate, modeString, type Ctx, favourMemory } from '../context.js';

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
    favourMemory();
    // Printed as the listing is made (never all of it in memory), in blocks of about 64 KB;
    // a full pipe holds the listing up (a promise), rather than queueing it all.
    let buf = '';
    const write = (s: string): Promise<void> | undefined => {
      buf += s;
      if (buf.length < 1 << 16) return undefined;
      const full = !process.stdout.write(buf);
      buf = '';
      return full ? new Promise((res) => process.stdout.once('drain', res)) : undefined;
    };
    if (a.json) {
      // The text JSON.stringify(array, null, 2) gives, an element at a time.
      let n = 0;
      const json = (e: ListEntry) => ({ ...e, path: displayString(e.path), ...(e.target !== undefined ? { target: displayString(e.target) } : {}) });
      await forEachListed(await openDump(a.dump), (e) =>
        write(`${n++ === 0 ? '[\n' : ',\n'}  ${JSON.stringify(json(e), null, 2).replaceAll('\n', '\n  ')}`),
      );
      await write(n === 0 ? '[]\n' : '\n]\n');
    } else {
      const unreachable = await forEachListed(await openDump(a.dump), (e): Promise<void> | undefined => {
        const t = e.type === 'dir' ? 2 : e.type === 'symlink' ? 3 : 1;
        const link = e.target !== undefined ? ` -> ${displayString(e.target)}` : '';
        return write(`${modeString(t, e.mode)} ${String(e.owner).padStart(5)} ${String(e.size).padStart(10)} ${isoDate(e.mtime).replace('T', ' ').replace('Z', '')} ${displayString(e.path)}${link}\n`);
      });
      for (const u of unreachable) await write(`# unreachable: vnode ${u.vnode}.${u.unique} (no directory names it)\n`);
    }
    process.stdout.write(buf);
    ctx.exitCode = EXIT_OK;
  },
});
