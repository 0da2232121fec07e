/** Render an Analysis as JSON (stable shape) or as text lines. */
import { displayString } from '../format/types.js';
import { describeContainer } from '../source/container.js';
import { CODES } from '../diagnostics/codes.js';
import type { Analysis, LostVnode } from './diagnose.js';

function lostJson(l: LostVnode) {
  return {
    vnode: l.vnode, unique: l.unique, path: l.path === null ? null : displayString(l.path), partial: l.partial, knownBy: l.knownBy,
    ...(l.damage !== undefined ? { damage: l.damage } : {}),
    ...(l.offset !== undefined ? { offset: l.offset } : {}),
  };
}

export function diagnosisJson(a: Analysis) {
  const h = a.header;
  return {
    path: a.path,
    verdict: a.verdict,
    size: a.size,
    ...(a.container ? { container: { compression: a.container.compression, members: a.container.members, compressedSize: a.container.compressedSize, pieces: a.container.pieces, ...(a.container.amanda ? { amanda: a.container.amanda } : {}) } } : {}),
    wrapSize: a.wrapSize,
    declared: a.declared,
    wraparound: a.wraparound,
    suspect: a.suspect,
    header: h ? { volumeId: h.volumeId, parentId: h.parentId, name: displayString(h.name), incremental: h.incremental, backupDate: h.backupDate } : null,
    headerLost: h === null,
    volumeLost: a.volume === null,
    index: a.index,
    lost: { count: a.lost.count, exact: a.lost.exact, vnodes: a.lost.vnodes.map(lostJson) },
    survivors: {
      count: a.survivors.length,
      directories: a.survivors.count((j) => a.survivors.type(j) === 2),
      files: a.survivors.count((j) => a.survivors.type(j) !== 2),
    },
    damage: a.damage,
    problems: a.problems,
    notes: a.notes,
  };
}

const hex8 = (n: number) => '0x' + n.toString(16).padStart(8, '0');

function range(r: { start: number; end: number }): string {
  return `[${r.start}, ${r.end})`;
}

export function diagnosisText(a: Analysis, verbose = false): string[] {
  const out: string[] = [];
  const w = a.wraparound;
  out.push(`${a.path}: ${a.verdict}${w ? ` (model ${w.model})` : ''}, ${a.size} bytes`);
  if (a.container) out.push(`  container   ${describeContainer(a.container)}; positions below are in the decoded dump stream`);
  if (w) {
    if (w.model === 'A1') {
      const how = w.confirmedBy === 'chain'
        ? 'confirmed: the record chain from the header runs through the seam to the end marker'
        : w.confirmedBy === 'resync'
          ? 'confirmed: a record chain from a boundary in [e, F) runs through the seam to the end marker'
          : 'not confirmed by the records (no chain runs through the seam)';
      const from = w.seamEndFrom === 'declared' ? `seam end from the declared size (${a.declared} mod 2^${a.wrapBits})` : 'seam end found from the records';
      out.push(`  seam        file [${w.seamStart}, ${w.seamEnd}) was overwritten by the stream's tail (seamStart ${w.seamStart}, seamEnd ${w.seamEnd})`);
      out.push(`              ${from}; ${how}`);
    } else {
      out.push(`  no header   the file is the tail of the stream${w.streamOffset !== null ? `: stream [${w.streamOffset}, ${w.streamOffset + a.size})` : ''}`);
    }
    out.push(`  stream      true length ${w.streamLength ?? 'unknown'}${w.streamLength !== null ? ' bytes' : ''}; surviving file ranges in stream order:`);
    for (const s of w.segments) {
      const f = `file [${s.fileStart}, ${s.fileEnd})`;
      out.push(`                ${f.padEnd(28)} = ${s.streamStart === null ? 'stream position unknown' : `stream [${s.streamStart}, ${s.streamEnd})`}`);
    }
    for (const l of w.lostStream) out.push(`              lost stream [${l.start}, ${l.end ?? '?'})`);
  } else if (a.suspect) {
    out.push(`  suspect     model ${a.suspect.model}, seam from ${a.suspect.seamStart}${a.suspect.seamEnd !== null ? ` to ${a.suspect.seamEnd}` : ''}: ${a.suspect.reason}`);
  }
  const h = a.header;
  if (h) out.push(`  header      volume ${hex8(h.volumeId)} "${displayString(h.name)}", ${h.incremental ? `incremental (level ${h.incremental})` : 'full dump'}`);
  else out.push('  header      lost');
  if (!a.volume) out.push('  volume      lost');
  for (const cls of ['large', 'small'] as const) {
    const i = a.index[cls];
    const pad = ' '.repeat(5 - cls.length);
    if (i) out.push(`  ${cls} index ${pad}declared ${i.declared}, ${i.surviving} survive${i.lost ? `, ${i.lost} lost` : ''}`);
    else out.push(`  ${cls} index ${pad}${a.indexes[cls] ? 'present' : 'header lost'}; ${a.survivors.count((j) => (a.survivors.vnode(j) % 2 === 1) === (cls === 'large'))} vnodes survive`);
  }
  const lost = a.lost;
  if (lost.count === 0 && lost.vnodes.length === 0) out.push('  lost        nothing');
  else {
    out.push(`  lost        ${lost.exact ? '' : 'at least '}${lost.count} vnode${lost.count === 1 ? '' : 's'}${lost.vnodes.length < lost.count ? ` (${lost.vnodes.length} identified)` : ''}:`);
    for (const l of lost.vnodes) {
      const tag = l.partial ? (l.damage === 'corrupt' ? 'damaged' : l.damage === 'suspect' ? 'suspect' : 'partial') : l.knownBy === 'parent' ? 'lost (named as parent)' : 'lost';
      out.push(`                ${`${l.vnode}.${l.unique}`.padEnd(12)} ${tag.padEnd(8)} ${l.path === null ? '(path unknown)' : displayString(l.path)}`);
    }
  }
  const shown = verbose ? a.damage : a.damage.slice(0, 20);
  if (shown.length) {
    out.push('  damage');
    for (const d of shown) out.push(`                ${d.code} at ${d.offset}${d.fileRanges.length ? ` file ${d.fileRanges.map(range).join(' + ')}` : ''}: ${d.message}`);
    if (shown.length < a.damage.length) out.push(`                ... ${a.damage.length - shown.length} more (--verbose)`);
  }
  for (const n of a.notes) out.push(`  note        ${n}`);
  if (verbose) for (const p of a.problems) out.push(`  ${p.severity.padEnd(11)} ${p.code} at ${a.container && CODES[p.code].area === 'container' ? 'compressed byte ' : ''}${p.offset}${p.vnode ? ` (vnode ${p.vnode})` : ''}: ${p.message}`);
  return out;
}
