import type { Argv, CommandModule } from 'yargs';
import { mergeDumps, type MergeWarning } from '../../merge/merge.js';
import { displayString } from '../../format/types.js';
import { EXIT_OK, err, favourMemory, hex8, out, printJson, type Ctx } from '../context.js';
import { manifestOption, recordOutput } from './manifest-option.js';

interface Args {
  full: string;
  incrementals: string[];
  output: string;
  manifest?: string;
  force: boolean;
  gzip: boolean;
  direct: boolean;
  json: boolean;
}

function warningLine(w: MergeWarning): string {
  return `codadump: warning: ${w.file}: ${w.offset !== undefined ? `at byte ${w.offset}: ` : ''}${w.message}`;
}

export const mergeCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'merge <full> <incrementals..>',
  describe: "Apply incremental dumps, in order, onto a full dump (the bytes Coda's codamergedump writes)",
  builder: (y: Argv) =>
    y
      .positional('full', { type: 'string', demandOption: true, describe: 'the full dump (a file)' })
      .positional('incrementals', { type: 'string', array: true, demandOption: true, describe: 'incremental dumps, oldest first (files)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'merged dump to write' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output file' })
      .option('manifest', manifestOption)
      .option('gzip', { type: 'boolean', default: false, describe: 'write gzip (also when the output name ends in .gz)' })
      .option('direct', {
        type: 'boolean',
        default: true,
        describe: 'write with O_DIRECT where the file system allows it, bypassing the page cache (--no-direct: ordinary writes)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' }) as unknown as Argv<Args>,
  handler: async (a) => {
    // The merged table is in typed arrays and the file data moves in the kernel: a small young generation costs no CPU here.
    favourMemory({ reducer: false });
    const r = await mergeDumps(a.full, a.incrementals.map(String), a.output, { force: a.force, gzip: a.gzip, direct: a.direct });
    await recordOutput(a.manifest, a.output);
    if (a.json) {
      printJson({ ...r, header: { ...r.header, name: displayString(r.header.name) } });
    } else {
      for (const w of r.warnings) err(warningLine(w));
      const h = r.header;
      out(`${r.output}: ${r.bytes} bytes, full dump of volume ${hex8(h.volumeId)} "${displayString(h.name)}", order ${h.oldest}..${h.latest}`);
      out(`  large index ${r.large.declared} vnodes in ${r.large.lists} lists; small index ${r.small.declared} vnodes in ${r.small.lists} lists`);
      for (const s of r.incrementals) {
        out(`  ${s.file} (level ${s.level}, order ${s.oldest}..${s.latest}): ${s.changed} changed, ${s.added} added, ${s.removed} removed${s.notFound ? `, ${s.notFound} removals of absent vnodes` : ''}`);
      }
    }
    ctx.exitCode = EXIT_OK;
  },
});
