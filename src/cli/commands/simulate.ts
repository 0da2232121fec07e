import type { Argv, CommandModule } from 'yargs';
import { simulateFile, type SimulateResult } from '../../simulate/simulate.js';
import type { ReceiverModel } from '../../io/receivers.js';
import { EXIT_OK, UsageError, out, printJson, type Ctx, favourMemory } from '../context.js';

interface Args {
  dump: string;
  output: string;
  receiver: string;
  'wrap-bits': number;
  'chunk-size': number;
  force: boolean;
  json: boolean;
  tmpdir?: string;
  'decompress-with'?: string;
}

export function simulateJson(r: SimulateResult) {
  const { spans, ...rest } = r;
  const straddler = spans.find((c) => c.offset < r.wrapSize && c.offset + c.length > r.wrapSize) ?? null;
  return { ...rest, straddler };
}

export function simulateText(r: SimulateResult): string[] {
  const lines = [
    `simulated receiver ${r.receiver}, wrap size 2^${r.wrapBits} = ${r.wrapSize}`,
    `  input       ${r.input}: stream length L = ${r.streamLength}`,
    `  chunks      ${r.chunks} (at most ${r.chunkSize} bytes each)`,
    `  output      ${r.output}: F = ${r.fileSize} bytes`,
  ];
  switch (r.outcome) {
    case 'intact':
      lines.push('  outcome     intact: the file holds the whole stream in order');
      break;
    case 'A1':
      lines.push(`  outcome     A1: s = ${r.s}, e = ${r.e}; stream [${r.s}, ${r.e}) lost, file [${r.s}, ${r.e}) holds stream [${r.fileSize}, ${r.streamLength})`);
      break;
    case 'A2':
      lines.push(`  outcome     A2: a chunk ended exactly at ${r.wrapSize}; the file is stream [${r.wrapSize}, ${r.streamLength}) alone`);
      break;
    case 'B':
      lines.push('  outcome     B: chunks past 2^(N-1) truncated the file; what is left:');
      break;
    case 'A-multiple':
      lines.push('  outcome     A, another layout (the stream wrapped more than once):');
      break;
  }
  if (r.outcome !== 'intact') {
    for (const s of r.segments) {
      lines.push(`                file [${s.fileStart}, ${s.fileStart + s.length}) = stream [${s.streamStart}, ${s.streamStart + s.length})`);
    }
  }
  return lines;
}

export const simulateCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'simulate <dump>',
  describe: 'Replay a sound dump through a receiver model (A, B: the 4 GiB wraparound bug; append: the fix)',
  builder: (y: Argv) =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'a sound dump file (compressed ones are decoded first)' })
      .option('receiver', { type: 'string', demandOption: true, choices: ['A', 'B', 'append'], describe: 'receiver model' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'file the receiver writes' })
      .option('wrap-bits', { type: 'number', default: 32, describe: 'wrap size 2^N (32 is the real bug; smaller for tests)' })
      .option('chunk-size', { type: 'number', default: 512000, hidden: true, describe: 'server buffer size (testing)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output file' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('tmpdir', { type: 'string', requiresArg: true, describe: 'where a compressed input is decoded for positional reading (default: the system temporary directory)' })
      .option('decompress-with', { type: 'string', requiresArg: true, describe: 'shell command that decodes a compressed input (stdin to stdout)' }) as unknown as Argv<Args>,
  handler: async (a) => {
    favourMemory();
    const cs = a['chunk-size'];
    if (!Number.isSafeInteger(cs) || cs < 4096) throw new UsageError('--chunk-size must be a whole number >= 4096');
    const r = await simulateFile(a.dump, a.output, {
      receiver: a.receiver as ReceiverModel, wrapBits: a['wrap-bits'], chunkSize: cs, force: a.force, tmpdir: a.tmpdir, decompressWith: a['decompress-with'],
    });
    if (a.json) printJson(simulateJson(r));
    else for (const l of simulateText(r)) out(l);
    ctx.exitCode = EXIT_OK;
  },
});
