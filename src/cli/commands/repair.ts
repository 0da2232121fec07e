import type { Argv, CommandModule } from 'yargs';
import { isoDate, repairFile, type RepairReport } from '../../repair/repair.js';
import { loadDonors } from '../../merge/donors.js';
import { resolveDeclared } from '../../diagnose/declared.js';
import { displayString } from '../../format/types.js';
import type { FileRange } from '../../diagnose/vstream.js';
import { EXIT_DAMAGED, EXIT_OK, out, parseHexId, printJson, type Ctx } from '../context.js';
import { manifestOption, recordOutput } from './manifest-option.js';

interface Args {
  dump: string;
  output: string;
  manifest?: string;
  json: boolean;
  force: boolean;
  'keep-partial': boolean;
  log?: string;
  declared?: string;
  'volume-id'?: string;
  'volume-name'?: string;
  verbose: boolean;
  'wrap-bits': number;
  gzip: boolean;
  direct: boolean;
  'decompress-with'?: string;
  tmpdir?: string;
  donor?: string[];
  'exact-only': boolean;
}

const show = (p: string | null) => (p === null ? '(path unknown)' : displayString(p));
const ranges = (rs: FileRange[]) => rs.map((r) => `[${r.start}, ${r.end})`).join(' + ');

export function repairJson(r: RepairReport) {
  const d = (p: string | null) => (p === null ? null : displayString(p));
  return {
    ...r,
    dropped: r.dropped.map((x) => ({ ...x, path: d(x.path) })),
    keptPartial: r.keptPartial.map((x) => ({ ...x, path: d(x.path) })),
    removedEntries: r.removedEntries.map((x) => ({ ...x, name: displayString(x.name) })),
    vnodes: r.vnodes.map((x) => ({ ...x, path: d(x.path) })),
    ...(r.restored ? { restored: r.restored.map((x) => ({ ...x, path: d(x.path) })) } : {}),
    ...(r.findings ? { findings: r.findings.map((f) => ({ ...f, ...(f.path !== undefined ? { path: displayString(f.path) } : {}) })) } : {}),
  };
}

export function repairText(r: RepairReport, verbose: boolean): string[] {
  const l: string[] = [];
  l.push(`repaired ${r.input} -> ${r.output}: ${r.bytesWritten} bytes; verify: ${r.verify.verdict}`);
  l.push(`  input       ${r.verdictBefore}${r.model ? ` (model ${r.model})` : ''}`);
  l.push(`  written     ${r.written.large} directories, ${r.written.small} files and links`);
  for (const s of r.synthesized) l.push(`  synthesized ${s}`);
  for (const s of r.volumeChanges) l.push(`  volume      ${s}`);
  if (r.dropped.length) {
    l.push(`  dropped     ${r.dropped.length} vnode${r.dropped.length === 1 ? '' : 's'}:`);
    for (const d of r.dropped) l.push(`                ${`${d.vnode}.${d.unique}`.padEnd(12)} ${show(d.path)}: ${d.reason}`);
  } else l.push('  dropped     nothing');
  for (const k of r.keptPartial) l.push(`  truncated   ${`${k.vnode}.${k.unique}`.padEnd(12)} ${show(k.path)}: kept ${k.kept} of ${k.of} bytes, in lost+found`);
  if (r.restored && r.counts) {
    for (const d of r.donors ?? []) l.push(`  donor       ${d.name}: ${isoDate(d.date)}, ${d.relation}${d.sameRun ? ' of the same run (every vnode it gives is exact)' : ''}`);
    l.push(`  restored    ${r.counts.exact} exact, ${r.counts.older} older, ${r.counts.lost} lost:`);
    for (const x of r.restored) {
      const how = x.outcome === 'lost'
        ? x.olderIn ? `lost (an older version is in ${x.olderIn}; --exact-only)` : 'lost (no donor has it)'
        : `${x.outcome}, from ${x.donor} as of ${isoDate(x.date!)}`;
      l.push(`                ${`${x.vnode}.${x.unique}`.padEnd(12)} ${show(x.path)}: ${how}`);
    }
  }
  for (const e of r.removedEntries) l.push(`  unlinked    "${displayString(e.name)}" (${e.vnode}.${e.unique}) from directory ${e.dir}`);
  for (const h of r.rehomed) l.push(`  rehomed     ${`${h.vnode}.${h.unique}`.padEnd(12)} -> ${displayString(h.name)} (its directory ${h.oldParent} was lost)`);
  // Where the survivors came from, in output order: runs of vnodes contiguous in the input.
  l.push('  sources');
  // The last vnode of a group as numbers (a string only for the lines printed: none a vnode of a long run).
  type Group = { first: string; lastVnode: number; lastUnique: number; n: number; start: number; end: number } | { joined: string };
  const groups: Group[] = [];
  const source = (vnode: number, unique: number, from: FileRange[]) => {
    if (from.length === 0) return;
    const g = groups[groups.length - 1];
    if (from.length > 1) {
      groups.push({ joined: `${`${vnode}.${unique}`.padEnd(12)} from file ${ranges(from)} (joined across the seam)` });
    } else if (!verbose && g && !('joined' in g) && g.end === from[0].start) {
      g.lastVnode = vnode;
      g.lastUnique = unique;
      g.n++;
      g.end = from[0].end;
    } else {
      groups.push({ first: `${vnode}.${unique}`, lastVnode: vnode, lastUnique: unique, n: 1, start: from[0].start, end: from[0].end });
    }
  };
  // The sources without the per-vnode list where the report can give them (a list of every vnode is big).
  if (r.sources) r.sources(source);
  else for (const v of r.vnodes) source(v.vnode, v.unique, v.from);
  for (const g of groups) {
    if ('joined' in g) l.push(`                ${g.joined}`);
    else l.push(`                file [${g.start}, ${g.end}): ${g.n === 1 ? `vnode ${g.first}` : `${g.n} vnodes ${g.first} .. ${g.lastVnode}.${g.lastUnique}`}`);
  }
  if (r.verify.verdict !== 'ok') {
    for (const p of r.verify.problems.filter((x) => x.severity === 'error').slice(0, 10)) l.push(`  verify      ${p.code} at ${p.offset}: ${p.message}`);
  }
  return l;
}

export const repairCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'repair <dump>',
  describe: 'Salvage everything that survives of a damaged dump into a new, valid dump',
  builder: (y: Argv) =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'damaged dump file (never modified)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'repaired dump to write' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable report' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output file' })
      .option('manifest', manifestOption)
      .option('keep-partial', { type: 'boolean', default: false, describe: 'keep files whose data was cut, truncated to what survives, in lost+found' })
      .option('donor', { type: 'string', array: true, describe: 'a sound dump of the volume (or of another replica) to restore lost vnodes from; a full dump, then its incrementals in order (repeatable)' })
      .option('exact-only', { type: 'boolean', default: false, describe: 'restore from donors only what they provably hold as it was lost' })
      .option('log', { type: 'string', describe: 'backup log whose "Transferred N bytes" pins the seam' })
      .option('declared', { type: 'string', describe: 'the declared byte count as printed (may be negative)' })
      .option('volume-id', { type: 'string', describe: 'volume id (hex) for a re-created dump header (default 7f000001)' })
      .option('volume-name', { type: 'string', describe: 'volume name for a re-created dump header (default recovered.backup)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'one source line per vnode' })
      .option('gzip', { type: 'boolean', default: false, describe: 'write the repaired dump as gzip (also when the output name ends in .gz)' })
      .option('direct', {
        type: 'boolean',
        default: true,
        describe: 'write with O_DIRECT where the file system allows it, bypassing the page cache (--no-direct: ordinary writes)',
      })
      .option('decompress-with', { type: 'string', requiresArg: true, describe: 'shell command that decodes a compressed input (stdin to stdout)' })
      .option('tmpdir', { type: 'string', requiresArg: true, describe: 'where a compressed input is decoded for positional reading (default: the system temporary directory)' })
      .option('wrap-bits', { type: 'number', default: 32, hidden: true, describe: 'wrap size 2^N (testing)' })
      .conflicts('log', 'declared') as unknown as Argv<Args>,
  handler: async (a) => {
    const declared = await resolveDeclared(a.dump, { log: a.log, declared: a.declared });
    const loaded = a.donor && a.donor.length > 0 ? await loadDonors(a.donor.map(String), { tmpdir: a.tmpdir, decompressWith: a['decompress-with'] }) : null;
    let r: RepairReport;
    try {
      r = await repairFile(a.dump, a.output, {
        wrapBits: a['wrap-bits'], declared, force: a.force, keepPartial: a['keep-partial'],
        gzip: a.gzip, direct: a.direct, tuneHeap: true, tmpdir: a.tmpdir, decompressWith: a['decompress-with'],
        volumeId: parseHexId(a['volume-id'], '--volume-id'), volumeName: a['volume-name'],
        ...(loaded ? { donors: loaded.donors, exactOnly: a['exact-only'] } : {}),
      });
    } finally {
      await loaded?.close();
    }
    await recordOutput(a.manifest, a.output);
    if (a.json) printJson(repairJson(r));
    else out(repairText(r, a.verbose).join('\n')); // one write: a report can run to thousands of lines
    ctx.exitCode = r.verify.verdict === 'ok' ? EXIT_OK : EXIT_DAMAGED;
  },
});
