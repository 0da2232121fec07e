/**
 * Shared pieces of the HTML and SVG pages: escaping, verdict colours, byte
 * formatting. Pages are pure strings: no network, no external scripts,
 * fonts or images (a Content-Security-Policy in every page says so).
 */
import type { Verdict } from '../diagnostics/verdict.js';

/** Escape text for HTML/SVG element content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** JSON safe to place inside a <script> element (no `</script>`, no `<!--`, no line separators). */
const JSON_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '\u2028': '\\u2028', '\u2029': '\\u2029' };

export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>\u2028\u2029]/g, (c) => JSON_ESCAPES[c]);
}

/** A cell's verdict: a dump's, or `missing` for a dump the backup log names that is not on disk. */
export type CellVerdict = Verdict | 'missing';

/** Worst first wins a cell with several dumps: the order of badness. */
export const VERDICT_RANK: Record<CellVerdict, number> = {
  ok: 0,
  'trailing-data': 1,
  truncated: 2,
  corrupt: 3,
  wraparound: 4,
  'not-a-dump': 5,
  unreadable: 6,
  missing: 7,
};

/** Cell colours (also used by the legend and the tests). */
export const VERDICT_COLOUR: Record<CellVerdict, string> = {
  ok: '#2e9d4f',
  'trailing-data': '#e3b008',
  truncated: '#e8590c',
  corrupt: '#c92a2a',
  wraparound: '#9c36b5',
  'not-a-dump': '#495057',
  unreadable: '#868e96',
  missing: '#ffffff',
};

/** Text colour on top of each cell colour. */
export const VERDICT_INK: Record<CellVerdict, string> = {
  ok: '#ffffff',
  'trailing-data': '#212529',
  truncated: '#ffffff',
  corrupt: '#ffffff',
  wraparound: '#ffffff',
  'not-a-dump': '#ffffff',
  unreadable: '#ffffff',
  missing: '#c92a2a',
};

export function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Thousands separated with thin spaces: 4294967296 -> 4 294 967 296 (offsets stay readable). */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
}

export function isoDay(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** The policy every page carries: nothing may be loaded from anywhere. */
export const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

export const BASE_CSS = `
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;padding:16px 20px;color:#212529;background:#f8f9fa}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:18px 0 6px}
code,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
.muted{color:#6c757d}
table.list{border-collapse:collapse;background:#fff}
table.list th,table.list td{border:1px solid #dee2e6;padding:2px 6px;text-align:left;vertical-align:top}
table.list td.num{text-align:right;font-variant-numeric:tabular-nums}
.chip{display:inline-block;min-width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px;border:1px solid #adb5bd}
`;
