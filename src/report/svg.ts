/**
 * A to-scale map of a dump file and of its true stream, from diagnose's
 * Analysis: the regions that survive, the overwritten range, the seam, the
 * moved tail, truncation and trailing data; and the layout of the records
 * (headers, large index = directories, small index = files, end marker) and
 * of the surviving vnodes by top-level directory.
 *
 * `diagnoseMap` is the model (plain data, tested), `diagnoseSvg` draws it.
 * All bands share one scale (bytes per pixel), so the file and the stream
 * compare at a glance; a region narrower than a pixel is drawn 1 px wide.
 */
import type { Analysis } from '../diagnose/diagnose.js';
import type { FileRange } from '../diagnose/vstream.js';
import { K_HEADER, K_INDEX, K_NULLVNODE, K_RMVNODE, K_VNODE, K_VOLUME } from '../diagnose/records.js';
import type { IndexHeader } from '../format/types.js';
import { displayString } from '../format/types.js';
import { esc, groupDigits } from './common.js';

export type RegionKind =
  | 'survive' // bytes that are where they belong
  | 'moved' // the stream's tail, written over the file at the seam
  | 'lost' // stream bytes that exist nowhere in the file (overwritten, or the lost head)
  | 'damage' // readable bytes no sound record accounts for
  | 'trailing' // bytes after the end marker
  | 'unknown' // stream bytes of unknown extent
  | 'header'
  | 'volume'
  | 'large' // large index: directory vnodes
  | 'small' // small index: file and symbolic link vnodes
  | 'end'
  | 'dir'; // by top-level directory (its label names it)

export interface MapRegion {
  start: number;
  end: number;
  kind: RegionKind;
  label: string;
  /** Fill colour for 'dir' regions. */
  colour?: string;
}

export interface MapMark {
  at: number;
  kind: 'seam' | 'truncation' | 'end';
  label: string;
}

export interface MapBand {
  id: 'file' | 'stream' | 'layout' | 'dirs';
  label: string;
  length: number;
  regions: MapRegion[];
  marks: MapMark[];
  /** The band goes on past `length` by an unknown amount (a truncated dump). */
  open: boolean;
}

/** A surviving piece: file range [fileStart, fileEnd) is stream range [streamStart, streamEnd). */
export interface MapLink {
  fileStart: number;
  fileEnd: number;
  streamStart: number;
  streamEnd: number;
  kind: 'survive' | 'moved';
}

export interface DirLayout {
  path: string;
  vnodes: number;
  bytes: number;
  first: number;
}

export interface DumpMap {
  /** Bytes the full width stands for. */
  scale: number;
  file: MapBand;
  stream: MapBand | null;
  layout: MapBand;
  dirs: MapBand;
  links: MapLink[];
  directories: DirLayout[];
}

const DIR_PALETTE = ['#f76707', '#7048e8', '#d6336c', '#1098ad', '#74b816', '#a0522d', '#fab005', '#364fc7'];

/** Subtract ranges from [0, length): what is left, in order. */
function minus(length: number, holes: FileRange[]): FileRange[] {
  const hs = holes.filter((h) => h.end > h.start).sort((a, b) => a.start - b.start);
  const out: FileRange[] = [];
  let pos = 0;
  for (const h of hs) {
    if (h.start > pos) out.push({ start: pos, end: Math.min(h.start, length) });
    pos = Math.max(pos, h.end);
  }
  if (pos < length) out.push({ start: pos, end: length });
  return out;
}

/** Append a region, merging it with the last one when contiguous and alike. */
function push(list: MapRegion[], r: MapRegion): void {
  const last = list[list.length - 1];
  if (last && last.kind === r.kind && last.label === r.label && last.end === r.start) last.end = r.end;
  else list.push(r);
}

const range = (a: number, b: number) => `[${groupDigits(a)}, ${groupDigits(b)})`;

export function diagnoseMap(a: Analysis): DumpMap {
  const F = a.size;
  const w = a.wraparound;
  const L = w?.streamLength ?? null;
  const damageRanges = a.damage.filter((d) => d.code !== 'OVERWRITTEN' && d.code !== 'CUT').flatMap((d) => d.fileRanges);
  const trailing: FileRange | null = !w && a.walk.endAt !== null && a.walk.trailing > 0 ? { start: a.walk.endAt, end: F } : null;

  // The file as it is.
  const file: MapBand = { id: 'file', label: 'file', length: F, regions: [], marks: [], open: false };
  const fileBase: MapRegion[] = [];
  if (w?.model === 'A1') {
    const s = w.seamStart!;
    const e = w.seamEnd!;
    fileBase.push({ start: 0, end: s, kind: 'survive', label: `stream ${range(0, s)}` });
    fileBase.push({ start: s, end: e, kind: 'moved', label: `the stream's tail ${range(F, L!)}, written over stream ${range(s, e)}` });
    fileBase.push({ start: e, end: F, kind: 'survive', label: `stream ${range(e, F)}` });
    file.marks.push({ at: s, kind: 'seam', label: `seam at ${groupDigits(s)}` });
  } else if (w) {
    for (const seg of w.segments) {
      fileBase.push({ start: seg.fileStart, end: seg.fileEnd, kind: 'survive', label: seg.streamStart === null ? 'stream position unknown' : `stream ${range(seg.streamStart, seg.streamEnd!)}` });
    }
  } else {
    fileBase.push({ start: 0, end: trailing ? trailing.start : F, kind: 'survive', label: 'dump stream' });
    if (trailing) fileBase.push({ start: trailing.start, end: trailing.end, kind: 'trailing', label: `${groupDigits(trailing.end - trailing.start)} bytes of trailing data after the end marker` });
  }
  // Damage on top: cut the base regions around it.
  for (const r of fileBase) {
    const inside = damageRanges.filter((d) => d.end > r.start && d.start < r.end).map((d) => ({ start: Math.max(d.start, r.start), end: Math.min(d.end, r.end) }));
    const keep = minus(r.end, [{ start: 0, end: r.start }, ...inside]);
    const pieces: MapRegion[] = [
      ...keep.map((k) => ({ ...r, start: k.start, end: k.end })),
      ...inside.map((d) => ({ start: d.start, end: d.end, kind: 'damage' as const, label: `damaged ${range(d.start, d.end)}` })),
    ].sort((x, y) => x.start - y.start);
    for (const p of pieces) push(file.regions, p);
  }
  const truncated = !w && a.walk.endAt === null;
  if (truncated) {
    file.open = true;
    file.marks.push({ at: F, kind: 'truncation', label: `truncated at ${groupDigits(F)}` });
  } else if (!w && a.walk.endAt !== null) {
    file.marks.push({ at: a.walk.endAt, kind: 'end', label: `end marker ends at ${groupDigits(a.walk.endAt)}` });
  }

  // The true stream (wraparound only: otherwise the file is the stream).
  let stream: MapBand | null = null;
  const links: MapLink[] = [];
  if (w) {
    const len = L ?? (w.streamOffset !== null ? w.streamOffset + F : F);
    stream = { id: 'stream', label: 'true stream', length: len, regions: [], marks: [], open: L === null };
    if (w.model === 'A1') {
      const s = w.seamStart!;
      const e = w.seamEnd!;
      stream.regions.push({ start: 0, end: s, kind: 'survive', label: `in the file at ${range(0, s)}` });
      stream.regions.push({ start: s, end: e, kind: 'lost', label: `lost: overwritten by the tail ${range(s, e)}` });
      stream.regions.push({ start: e, end: F, kind: 'survive', label: `in the file at ${range(e, F)}` });
      stream.regions.push({ start: F, end: L!, kind: 'moved', label: `the tail: in the file at ${range(s, e)}` });
      stream.marks.push({ at: F, kind: 'seam', label: `wrapped at ${groupDigits(F)}` });
    } else {
      const off = w.streamOffset;
      if (off !== null) {
        stream.regions.push({ start: 0, end: off, kind: 'lost', label: `lost head ${range(0, off)}` });
        stream.regions.push({ start: off, end: off + F, kind: 'survive', label: `the whole file, ${range(0, F)}` });
      } else {
        stream.regions.push({ start: 0, end: len, kind: 'unknown', label: 'stream positions unknown: a lost head of unknown length, then the file' });
      }
    }
    for (const seg of w.segments) {
      if (seg.streamStart === null || seg.streamEnd === null) continue;
      const moved = w.model === 'A1' && seg.fileStart === w.seamStart;
      links.push({ fileStart: seg.fileStart, fileEnd: seg.fileEnd, streamStart: seg.streamStart, streamEnd: seg.streamEnd, kind: moved ? 'moved' : 'survive' });
    }
  }

  // Record layout (file positions) and surviving vnodes by top-level directory.
  const layout: MapBand = { id: 'layout', label: 'records', length: F, regions: [], marks: [], open: false };
  let cls: 'large' | 'small' | null = null;
  const recs = a.walk.records;
  for (let i = 0; i < recs.length; i++) {
    const k = recs.kind(i);
    let kind: RegionKind;
    let label: string;
    if (k === K_INDEX) {
      const r = recs.rec(i) as IndexHeader;
      cls = r.index;
      kind = r.index;
      label = r.index === 'large' ? 'large index: directories' : 'small index: files and links';
    } else if (k === K_VNODE || k === K_RMVNODE || k === K_NULLVNODE) {
      kind = cls ?? (k !== K_NULLVNODE && recs.vnode(i) % 2 === 1 ? 'large' : 'small');
      label = kind === 'large' ? 'large index: directories' : 'small index: files and links';
    } else if (k === K_HEADER) {
      kind = 'header';
      label = 'dump header';
    } else if (k === K_VOLUME) {
      kind = 'volume';
      label = 'volume header';
    } else {
      kind = 'end';
      label = 'end marker';
    }
    for (const fr of a.vs.fileRanges(recs.at(i), Math.min(recs.end(i), a.vs.length))) push(layout.regions, { start: fr.start, end: fr.end, kind, label });
  }
  layout.regions.sort((x, y) => x.start - y.start);
  // Bytes no record accounts for (damage, trailing data, a seam's debris): shown as such.
  const filled: MapRegion[] = [];
  let at = 0;
  for (const r of [...layout.regions, { start: F, end: F, kind: 'end' as const, label: '' }]) {
    if (r.start > at) {
      const after = !w && a.walk.endAt !== null && at >= a.walk.endAt;
      push(filled, { start: at, end: r.start, kind: after ? 'trailing' : 'damage', label: after ? 'trailing data' : 'no record accounts for these bytes' });
    }
    if (r.end > r.start) push(filled, { ...r, start: Math.max(r.start, at) });
    at = Math.max(at, r.end);
  }
  layout.regions = filled.filter((r) => r.end > r.start);

  const dirs: MapBand = { id: 'dirs', label: 'by directory', length: F, regions: [], marks: [], open: false };
  const top = new Map<string, number>();
  const byDir = new Map<string, DirLayout>();
  const pieces: MapRegion[] = [];
  const survivors = a.survivors;
  for (let j = 0; j < survivors.length; j++) {
    const s = { path: survivors.path(j), from: survivors.from(j) };
    const p = s.path === null ? null : displayString(s.path);
    const first = p === null ? '(path unknown)' : p === '.' ? '.' : p.includes('/') ? p.slice(0, p.indexOf('/')) : survivors.type(j) === 2 ? p : '.';
    if (!top.has(first)) top.set(first, top.size);
    const ti = top.get(first)!;
    const colour = first === '(path unknown)' ? '#adb5bd' : ti < DIR_PALETTE.length ? DIR_PALETTE[ti] : '#ced4da';
    const label = first === '.' ? 'files at the top' : first === '(path unknown)' ? 'path unknown' : `${first}/`;
    for (const fr of s.from) pieces.push({ start: fr.start, end: fr.end, kind: 'dir', label: ti < DIR_PALETTE.length || first === '(path unknown)' ? label : 'other directories', colour });
    const parent = p === null ? '(path unknown)' : p === '.' ? '.' : p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.';
    const bytes = s.from.reduce((n, fr) => n + fr.end - fr.start, 0);
    const at = s.from.length ? s.from[0].start : 0;
    const d = byDir.get(parent);
    if (d) {
      d.vnodes++;
      d.bytes += bytes;
      d.first = Math.min(d.first, at);
    } else byDir.set(parent, { path: parent, vnodes: 1, bytes, first: at });
  }
  pieces.sort((x, y) => x.start - y.start);
  for (const p of pieces) push(dirs.regions, p);
  const directories = [...byDir.values()].sort((x, y) => x.first - y.first || (x.path < y.path ? -1 : 1));

  const scale = Math.max(F, stream?.length ?? 0, 1);
  return { scale, file, stream, layout, dirs, links, directories };
}

export const REGION_COLOUR: Record<RegionKind, string> = {
  survive: '#2e9d4f',
  moved: '#1c7ed6',
  lost: '#c92a2a',
  damage: '#e8590c',
  trailing: '#e3b008',
  unknown: '#adb5bd',
  header: '#343a40',
  volume: '#868e96',
  large: '#5c7cfa',
  small: '#20c997',
  end: '#343a40',
  dir: '#adb5bd',
};

const LEGEND: Partial<Record<RegionKind, string>> = {
  survive: 'survives in place',
  moved: "the stream's tail, moved to the seam",
  lost: 'lost (overwritten or never kept)',
  damage: 'damaged',
  trailing: 'trailing data',
  unknown: 'extent unknown',
  header: 'headers',
  large: 'directories (large index)',
  small: 'files (small index)',
};

export interface SvgOptions {
  /** A model already made (the HTML page reuses it). */
  model?: DumpMap;
  /** Width in px (default 1000). */
  width?: number;
}

/** A standalone SVG document (also embedded as is in the diagnose page). */
export function diagnoseSvg(a: Analysis, opts: SvgOptions = {}): string {
  const m = opts.model ?? diagnoseMap(a);
  const W = opts.width ?? 1000;
  const left = 110;
  const right = 24;
  const span = W - left - right - (m.file.open || m.stream?.open ? 40 : 0);
  const x = (pos: number) => left + (pos / m.scale) * span;
  const bandH = 26;
  const out: string[] = [];
  let y = 34;
  const ys: Partial<Record<MapBand['id'], number>> = {};
  const used = new Set<RegionKind>();

  const band = (b: MapBand, top: number) => {
    ys[b.id] = top;
    out.push(`<g class="band" id="band-${b.id}" data-length="${b.length}">`);
    out.push(`<text x="${left - 8}" y="${top + 17}" text-anchor="end" class="bl">${esc(b.label)}</text>`);
    out.push(`<rect x="${left}" y="${top}" width="${(x(b.length) - left).toFixed(2)}" height="${bandH}" fill="#f1f3f5" stroke="#ced4da"/>`);
    for (const r of b.regions) {
      if (r.end <= r.start) continue;
      used.add(r.kind === 'volume' || r.kind === 'end' ? 'header' : r.kind);
      const x0 = x(r.start);
      const wd = Math.max(1, x(r.end) - x0);
      const fill = r.colour ?? REGION_COLOUR[r.kind];
      const hatch = r.kind === 'lost' ? ' class="hatch"' : '';
      out.push(
        `<rect${hatch} data-kind="${r.kind}" data-start="${r.start}" data-end="${r.end}" x="${x0.toFixed(2)}" y="${top}" width="${wd.toFixed(2)}" height="${bandH}" fill="${fill}"${r.kind === 'lost' ? ' fill-opacity="0.85"' : ''}><title>${esc(`${r.label}: ${b.id} bytes [${r.start}, ${r.end}), ${r.end - r.start} bytes`)}</title></rect>`,
      );
      if (r.kind === 'lost') out.push(`<rect x="${x0.toFixed(2)}" y="${top}" width="${wd.toFixed(2)}" height="${bandH}" fill="url(#hatch)" pointer-events="none"/>`);
    }
    if (b.open) {
      const xe = x(b.length);
      out.push(`<rect x="${xe.toFixed(2)}" y="${top}" width="36" height="${bandH}" fill="none" stroke="#868e96" stroke-dasharray="4 3"><title>missing: length unknown</title></rect>`);
      out.push(`<text x="${(xe + 18).toFixed(2)}" y="${top + 17}" text-anchor="middle" class="small">?</text>`);
    }
    for (const mk of b.marks) {
      const xm = x(mk.at).toFixed(2);
      const colour = mk.kind === 'seam' ? '#1c7ed6' : mk.kind === 'truncation' ? '#c92a2a' : '#343a40';
      // Labels keep inside the picture: anchored at their end near the right edge, at their start near the left.
      const anchor = x(mk.at) > W - right - 90 ? 'end' : x(mk.at) < left + 90 ? 'start' : 'middle';
      out.push(`<g class="mark" data-kind="${mk.kind}" data-at="${mk.at}"><line x1="${xm}" x2="${xm}" y1="${top - 8}" y2="${top + bandH + 4}" stroke="${colour}" stroke-width="2"/><text x="${xm}" y="${top - 11}" text-anchor="${anchor}" class="ml" fill="${colour}">${esc(mk.label)}</text></g>`);
    }
    out.push(`<text x="${left}" y="${top + bandH + 13}" class="small">0</text><text x="${x(b.length).toFixed(2)}" y="${top + bandH + 13}" text-anchor="end" class="small">${groupDigits(b.length)}</text>`);
    out.push('</g>');
  };

  band(m.file, y);
  y += bandH + 36;
  if (m.stream) {
    y += 60;
    band(m.stream, y);
    const fy = ys.file! + bandH;
    for (const l of m.links) {
      const pts = [[x(l.fileStart), fy], [x(l.fileEnd), fy], [x(l.streamEnd), y], [x(l.streamStart), y]].map(([a, b]) => `${a.toFixed(2)},${b.toFixed(2)}`).join(' ');
      out.push(`<polygon class="link" data-kind="${l.kind}" points="${pts}" fill="${REGION_COLOUR[l.kind]}" fill-opacity="0.22" stroke="${REGION_COLOUR[l.kind]}" stroke-opacity="0.6"><title>${esc(`file [${l.fileStart}, ${l.fileEnd}) = stream [${l.streamStart}, ${l.streamEnd})`)}</title></polygon>`);
    }
    y += bandH + 36;
  }
  band(m.layout, y);
  y += bandH + 30;
  band(m.dirs, y);
  y += bandH + 30;

  // Legend: the kinds drawn, then the directories.
  let lx = left;
  const legendItems: [string, string][] = [];
  for (const k of Object.keys(LEGEND) as RegionKind[]) if (used.has(k)) legendItems.push([REGION_COLOUR[k], LEGEND[k]!]);
  const seen = new Set<string>();
  for (const r of m.dirs.regions) {
    if (seen.has(r.label)) continue;
    seen.add(r.label);
    legendItems.push([r.colour ?? REGION_COLOUR.dir, r.label]);
  }
  for (const [colour, text] of legendItems) {
    const wd = 22 + text.length * 6.3;
    if (lx + wd > W - right) {
      lx = left;
      y += 18;
    }
    out.push(`<rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${colour}"/><text x="${lx + 16}" y="${y}" class="small">${esc(text)}</text>`);
    lx += wd + 10;
  }
  y += 14;

  const title = `${a.path}: ${a.verdict}${a.wraparound ? ` (model ${a.wraparound.model})` : ''}, ${groupDigits(a.size)} bytes`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif" role="img" aria-label="${esc(title)}">` +
    `<title>${esc(title)}</title>` +
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2" stroke-opacity="0.6"/></pattern></defs>' +
    '<style>.bl{font-size:13px;fill:#343a40}.small{font-size:11px;fill:#495057}.ml{font-size:11px;font-weight:600}</style>' +
    `<text x="${left}" y="14" class="small">${esc(title)} · to scale: ${groupDigits(m.scale)} bytes across</text>` +
    out.join('') +
    '</svg>\n'
  );
}
