import type { Argv, CommandModule } from 'yargs';
import { diagnoseFile } from '../../diagnose/diagnose.js';
import { resolveDeclared } from '../../diagnose/declared.js';
import { diagnosisJson, diagnosisText } from '../../diagnose/report.js';
import { EXIT_DAMAGED, EXIT_OK, out, printJson, type Ctx } from '../context.js';

interface Args {
  dump: string;
  json: boolean;
  log?: string;
  declared?: string;
  verbose: boolean;
  'wrap-bits': number;
  'decompress-with'?: string;
  tmpdir?: string;
}

export const diagnoseCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'diagnose <dump>',
  describe: 'Explain a damaged dump: truncation, trailing data, corruption, or the 4 GiB wraparound (seam, true length, lost vnodes)',
  builder: (y: Argv) =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'dump file' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('log', { type: 'string', describe: 'backup log whose "Transferred N bytes" pins the seam' })
      .option('declared', { type: 'string', describe: 'the declared byte count as printed (may be negative); pins the seam' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'every damage span and problem' })
      .option('decompress-with', { type: 'string', requiresArg: true, describe: 'shell command that decodes a compressed input (stdin to stdout)' })
      .option('tmpdir', { type: 'string', requiresArg: true, describe: 'where a compressed input is decoded for positional reading (default: the system temporary directory)' })
      .option('wrap-bits', { type: 'number', default: 32, hidden: true, describe: 'wrap size 2^N (testing)' })
      .conflicts('log', 'declared') as unknown as Argv<Args>,
  handler: async (a) => {
    const declared = await resolveDeclared(a.dump, { log: a.log, declared: a.declared });
    const d = await diagnoseFile(a.dump, { wrapBits: a['wrap-bits'], declared, tmpdir: a.tmpdir, decompressWith: a['decompress-with'] });
    if (a.json) printJson(diagnosisJson(d));
    else for (const l of diagnosisText(d, a.verbose)) out(l);
    ctx.exitCode = d.verdict === 'ok' ? EXIT_OK : EXIT_DAMAGED;
  },
});
