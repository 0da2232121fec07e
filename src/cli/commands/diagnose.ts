import type { Argv, CommandModule } from 'yargs';
import { diagnoseFile, type Analysis } from '../../diagnose/diagnose.js';
import { AtomicOutput } from '../../io/atomic-output.js';
import { diagnoseHtml } from '../../report/html.js';
import { diagnoseSvg } from '../../report/svg.js';
import { resolveDeclared } from '../../diagnose/declared.js';
import { diagnosisJson, diagnosisText } from '../../diagnose/report.js';
import { EXIT_DAMAGED, EXIT_OK, UsageError, out, printJson, type Ctx, favourMemory } from '../context.js';

interface Args {
  dump: string;
  json: boolean;
  log?: string;
  declared?: string;
  verbose: boolean;
  'wrap-bits': number;
  'decompress-with'?: string;
  tmpdir?: string;
  html?: string;
  svg?: string;
  force: boolean;
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
      .option('html', { type: 'string', requiresArg: true, describe: 'also write a self-contained HTML page with the to-scale map of the file and the stream' })
      .option('svg', { type: 'string', requiresArg: true, describe: 'also write the map alone as an SVG image' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing --html or --svg file' })
      .option('wrap-bits', { type: 'number', default: 32, hidden: true, describe: 'wrap size 2^N (testing)' })
      .conflicts('log', 'declared') as unknown as Argv<Args>,
  handler: async (a) => {
    favourMemory();
    const declared = await resolveDeclared(a.dump, { log: a.log, declared: a.declared });
    if (a.html !== undefined && a.html === a.svg) throw new UsageError('--html and --svg must name different files');
    // Opened first: an existing output without --force fails before the analysis.
    const outputs: [AtomicOutput, (d: Analysis) => string][] = [];
    try {
      if (a.html !== undefined) outputs.push([new AtomicOutput(a.html, { force: a.force }), (d) => diagnoseHtml(d, { generated: new Date().toISOString() })]);
      if (a.svg !== undefined) outputs.push([new AtomicOutput(a.svg, { force: a.force }), (d) => diagnoseSvg(d)]);
    } catch (e) {
      for (const [o] of outputs) o.abort();
      throw e;
    }
    let d: Analysis;
    try {
      d = await diagnoseFile(a.dump, { wrapBits: a['wrap-bits'], declared, tmpdir: a.tmpdir, decompressWith: a['decompress-with'] });
      for (const [o, render] of outputs) {
        o.write(Buffer.from(render(d)));
        o.commit();
      }
    } catch (e) {
      for (const [o] of outputs) if (!o.committed) o.abort();
      throw e;
    }
    if (a.json) printJson(diagnosisJson(d));
    else for (const l of diagnosisText(d, a.verbose)) out(l);
    ctx.exitCode = d.verdict === 'ok' ? EXIT_OK : EXIT_DAMAGED;
  },
});
