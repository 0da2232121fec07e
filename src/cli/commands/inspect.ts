import type { Argv, CommandModule } from 'yargs';
import { openDump } from '../../format/open.js';
import { describeContainer } from '../../source/container.js';
import { summarizeDump, type DumpSummary } from '../../format/summary.js';
import { displayString } from '../../format/types.js';
import { EXIT_OK, hex8, isoDate, modeString, out, printJson, typeName, type Ctx, favourMemory } from '../context.js';

interface Args {
  dump: string;
  json: boolean;
  vnodes: boolean;
}

export function inspectJson(s: DumpSummary, fileSize: number | null, withVnodes: boolean) {
  const h = s.header;
  const { kind: _k, offset: _o, size: _s, fields: _f, notes: _n, ...volume } = s.volume ?? ({} as Record<string, unknown>);
  const idx = (i: DumpSummary['large']) => (i ? { declared: i.declared, lists: i.lists, records: i.records, removed: i.removed } : null);
  return {
    header: {
      version: h.version, volumeId: h.volumeId, parentId: h.parentId, name: displayString(h.name), backupDate: h.backupDate,
      incremental: h.incremental, oldest: h.oldest, latest: h.latest,
    },
    volume: s.volume ? { ...volume, name: displayString(s.volume.name), partition: displayString(s.volume.partition) } : null,
    large: idx(s.large),
    small: idx(s.small),
    streamLength: s.streamLength,
    fileSize,
    trailing: s.trailing,
    ...(withVnodes
      ? {
          vnodes: s.vnodes.map((v) => ({
            vnode: v.vnode, unique: v.unique, type: typeName(v.type), mode: v.mode, size: v.size, length: v.length,
            mtime: v.mtime, parent: v.parent, parentUnique: v.parentUnique, owner: v.owner, offset: v.offset, data: v.data,
          })),
          removed: s.removed,
        }
      : {}),
  };
}

const VOLUME_TYPES = ['read-write', 'read-only', 'backup'];

export const inspectCommand = (ctx: Ctx): CommandModule<object, Args> => ({
  command: 'inspect <dump>',
  describe: 'Show the dump header, volume data and index counts of a dump (- for stdin)',
  builder: (y: Argv) =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'dump file, or - for standard input' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('vnodes', { type: 'boolean', default: false, describe: 'one line per vnode' }) as Argv<Args>,
  handler: async (a) => {
    favourMemory();
    const reader = await openDump(a.dump);
    const fileSize = reader.source.size ?? null;
    const s = await summarizeDump(reader, { vnodes: a.vnodes });
    if (a.json) {
      printJson(inspectJson(s, fileSize, a.vnodes));
      ctx.exitCode = EXIT_OK;
      return;
    }
    const h = s.header;
    out(`dump ${a.dump}`);
    const c = reader.source.container;
    if (c) out(`  container   ${describeContainer(c)}; offsets are in the decoded dump stream`);
    out(`  header      version ${h.version}, volume ${hex8(h.volumeId)} "${displayString(h.name)}", parent ${hex8(h.parentId)}`);
    out(`              ${h.incremental ? `incremental (level ${h.incremental})` : 'full dump'}, backup date ${isoDate(h.backupDate)}, order ${h.oldest}..${h.latest}`);
    if (s.volume) {
      const v = s.volume;
      out(`  volume      id ${hex8(v.id)} "${displayString(v.name)}" ${VOLUME_TYPES[v.type] ?? `type ${v.type}`} on ${displayString(v.partition)}, parent ${hex8(v.parentId)}`);
      out(`              ${v.fileCount} files, ${v.diskUsed} KB used, next uniquifier ${v.nextUniquifier}, created ${isoDate(v.creationDate)}, updated ${isoDate(v.updateDate)}`);
    }
    for (const [name, i] of [['large', s.large], ['small', s.small]] as const) {
      if (i) out(`  ${name} index ${' '.repeat(5 - name.length)}declared ${i.declared}, lists ${i.lists}, records ${i.records}${i.removed ? `, removed ${i.removed}` : ''}`);
      else out(`  ${name} index ${' '.repeat(5 - name.length)}missing`);
    }
    out(`  stream      ${s.streamLength} bytes${fileSize !== null ? `; file ${fileSize} bytes` : c?.decodedSize != null ? `; decoded ${c.decodedSize} bytes` : ''}${s.trailing ? `; ${s.trailing} bytes after the end marker` : ''}`);
    if (a.vnodes) {
      out('');
      for (const v of s.vnodes) {
        out(`  ${`${v.vnode}.${v.unique}`.padEnd(12)} ${typeName(v.type).padEnd(7)} ${modeString(v.type, v.mode)} ${String(v.size).padStart(10)} ${isoDate(v.mtime)} parent ${v.parent}.${v.parentUnique}${v.data === 'badinode' ? ' BADINODE' : ''}`);
      }
      for (const r of s.removed) out(`  ${`${r.vnode}.${r.unique}`.padEnd(12)} removed`);
    }
    ctx.exitCode = EXIT_OK;
  },
});
