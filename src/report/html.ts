/**
 * Self-contained HTML pages rendered from the same result objects as the
 * text and JSON reports: verify's archive result (`archiveHtml`) and
 * diagnose's Analysis (`diagnoseHtml`). Inline CSS and JS only; a
 * Content-Security-Policy forbids every load, so a page works from a mail
 * attachment or a file:// URL and never touches the network.
 */
import type { Analysis } from '../diagnose/diagnose.js';
import { displayString } from '../format/types.js';
import { BASE_CSS, CSP, VERDICT_COLOUR, VERDICT_INK, VERDICT_RANK, esc, groupDigits, humanBytes, isoTime, scriptJson, type CellVerdict } from './common.js';
import { archiveGrid, markOf, volumeKey, type ArchiveView } from './grid.js';
import { diagnoseMap, diagnoseSvg } from './svg.js';

export interface PageOptions {
  /** Shown under the title (e.g. the paths verified). */
  subtitle?: string;
  /** When the page was made (ISO); left out when not given, so pages are reproducible. */
  generated?: string;
}

/** Problems kept per dump in the page (the rest are counted; --json has them all). */
export const PAGE_PROBLEMS_PER_DUMP = 100;

function page(title: string, css: string, body: string, script = ''): string {
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${esc(title)}</title>\n<style>${BASE_CSS}${css}</style>\n</head>\n<body>\n${body}\n` +
    (script ? `<script>${script}</script>\n` : '') +
    '</body>\n</html>\n'
  );
}

function legend(verdicts: CellVerdict[]): string {
  return verdicts
    .map((v) => `<span class="lg"><span class="chip" style="background:${VERDICT_COLOUR[v]}"></span>${esc(v)}</span>`)
    .join(' ');
}

const ARCHIVE_CSS = `
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.tile{background:#fff;border:1px solid #dee2e6;border-radius:4px;padding:6px 10px;min-width:110px}
.tile b{display:block;font-size:18px}
.norest{background:#fff5f5;border:1px solid #ffc9c9;border-radius:4px;padding:6px 10px;margin:8px 0}
.norest a{margin-right:10px;color:#c92a2a}
.controls{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:8px 0}
.controls input[type=search]{width:260px;padding:4px 6px}
.lg{margin-right:8px;white-space:nowrap}
.wrap{overflow:auto;max-height:calc(100vh - 40px);border:1px solid #dee2e6;background:#fff}
table.grid{border-collapse:separate;border-spacing:0;table-layout:fixed;width:max-content}
table.grid th,table.grid td{border-right:1px solid #e9ecef;border-bottom:1px solid #e9ecef;padding:0}
table.grid thead th{position:sticky;top:0;background:#f1f3f5;z-index:2;font-weight:500;font-size:11px;height:74px;vertical-align:bottom;white-space:nowrap}
table.grid thead th.d{writing-mode:vertical-rl;transform:rotate(180deg);padding:4px 0;width:28px;text-align:left}
table.grid th.v{position:sticky;left:0;background:#fff;z-index:1;text-align:left;padding:2px 8px;font-weight:normal;white-space:nowrap;width:260px;overflow:hidden;text-overflow:ellipsis}
table.grid thead th.v{z-index:3;background:#f1f3f5;vertical-align:bottom}
table.grid th.v .id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:#495057;margin-right:6px}
table.grid th.v .bad{color:#c92a2a;font-size:11px;margin-left:4px}
table.grid tr.nr th.v{box-shadow:inset 4px 0 #c92a2a}
table.grid td{width:28px;min-width:28px;height:22px;text-align:center;font:600 11px/22px ui-monospace,Menlo,Consolas,monospace;cursor:pointer}
table.grid td.e{cursor:default;background:#fff}
table.grid td.sel{outline:3px solid #1c7ed6;outline-offset:-3px}
table.grid td.missing{box-shadow:inset 0 0 0 2px #c92a2a}
#detail{position:fixed;right:12px;bottom:12px;width:min(560px,calc(100vw - 24px));max-height:70vh;overflow:auto;background:#fff;border:1px solid #adb5bd;border-radius:6px;box-shadow:0 4px 18px rgba(0,0,0,.18);padding:10px 14px;z-index:10}
#detail h2{margin-top:0}
#detail .close{float:right;border:0;background:none;font-size:18px;cursor:pointer}
#detail .dump{border-top:1px solid #dee2e6;padding-top:6px;margin-top:6px}
#detail table.list{font-size:12.5px;width:100%}
#detail .cur{background:#e7f5ff}
`;

/** The data the page's script reads (details, chains): compact arrays. */
function archiveData(view: ArchiveView, grid: ReturnType<typeof archiveGrid>) {
  const times = new Map<number, string>();
  const when = (t: number) => {
    let s = times.get(t);
    if (s === undefined) times.set(t, (s = isoTime(t)));
    return s;
  };
  const dumps = view.dumps.map((r) => {
    const shown = r.problems.slice(0, PAGE_PROBLEMS_PER_DUMP);
    return {
      p: r.path,
      v: r.verdict,
      s: r.size ?? r.bytesChecked,
      k: markOf(r),
      h: r.header
        ? { id: r.header.volumeId, par: r.header.parentId, n: displayString(r.header.name), inc: r.header.incremental, at: when(r.header.backupDate) }
        : null,
      pr: shown.map((x) => [x.severity, x.code, x.offset, x.message, x.vnode ?? '']),
      more: r.problems.length - shown.length,
      sup: r.suppressed,
      log: r.log ? `${r.log.file}:${r.log.line}` : '',
    };
  });
  const missing = view.missing.map((m) => ({ p: m.path, vol: m.volume, log: `${m.log}:${m.line}`, printed: m.printed }));
  const rows = grid.rows.map((row) => {
    const chain = row.chainsKnown ? null : row.points.map((p) => [p.column, p.restorable ? 1 : 0]);
    return { vol: row.volume, n: row.name, ch: chain };
  });
  const chains: Record<string, unknown> = {};
  for (const v of view.volumes ?? []) chains[volumeKey(v.volume)] = v;
  return { dates: grid.dates, dumps, missing, rows, chains };
}

export function archiveHtml(view: ArchiveView, opts: PageOptions = {}): string {
  const grid = archiveGrid(view);
  const s = view.summary;
  const present = (Object.keys(VERDICT_RANK) as CellVerdict[]).filter((v) => (v === 'missing' ? s.missing > 0 : (s.byVerdict[v] ?? 0) > 0));
  const tiles = [
    `<div class="tile" id="t-dumps"><b>${s.dumps}</b>dumps</div>`,
    `<div class="tile" id="t-bytes" title="${s.bytesChecked} bytes"><b>${esc(humanBytes(s.bytesChecked))}</b>checked in ${s.seconds.toFixed(2)} s</div>`,
    `<div class="tile" id="t-volumes"><b>${grid.rows.length}</b>volumes × ${grid.dates.length} run dates</div>`,
    ...present.map(
      (v) =>
        `<div class="tile" data-verdict="${v}"><b><span class="chip" style="background:${VERDICT_COLOUR[v]}"></span>${v === 'missing' ? s.missing : s.byVerdict[v]}</b>${esc(v)}</div>`,
    ),
    `<div class="tile"><b>${s.skippedFiles}</b>other files skipped</div>`,
  ];
  const noRest = grid.rows.filter((r) => !r.restorable);
  const norestHtml = noRest.length
    ? `<div class="norest" id="norest"><b>${noRest.length} volume${noRest.length === 1 ? '' : 's'} with no restorable point</b>${
      grid.rows.some((r) => !r.chainsKnown) ? ' <span class="muted">(judged by the dumps alone: a full dump that verifies, and every later run verifying)</span>' : ''
    }:<br>${noRest.slice(0, 200).map((r) => `<a href="#v-${esc(r.volume)}" data-vol="${esc(r.volume)}">${esc(r.volume)} ${esc(r.name)}</a>`).join('')}${noRest.length > 200 ? ` … and ${noRest.length - 200} more (sort: no restorable point first)` : ''}</div>`
    : '<div class="tile" id="norest-none">every volume has a restorable point</div>';

  const head = grid.dates.map((d, i) => `<th class="d" data-col="${i}" title="${esc(d)}">${esc(d)}</th>`).join('');
  const body: string[] = [];
  grid.rows.forEach((row, ri) => {
    const cells: string[] = [];
    for (let c = 0; c < grid.dates.length; c++) {
      const cell = row.cells.get(c);
      if (!cell) {
        cells.push('<td class="e"></td>');
        continue;
      }
      const first = cell.dumps.map((i) => view.dumps[i]).find((d) => d.verdict !== 'ok');
      const err = first?.problems.find((p) => p.severity === 'error') ?? first?.problems[0];
      const tip = `${grid.dates[c]} · ${cell.verdict} · ${cell.dumps.length} dump${cell.dumps.length === 1 ? '' : 's'}${cell.missing.length ? `, ${cell.missing.length} missing` : ''}${err ? ` · ${err.code} at byte ${err.offset}` : ''}`;
      cells.push(
        `<td class="c ${cell.verdict}" data-r="${ri}" data-c="${c}" data-d="${cell.dumps.join(',')}" data-m="${cell.missing.join(',')}" data-verdict="${cell.verdict}" tabindex="0" title="${esc(tip)}">${esc(cell.mark)}</td>`,
      );
    }
    body.push(
      `<tr id="v-${esc(row.volume)}" data-vol="${esc(row.volume)}" data-name="${esc(row.name.toLowerCase())}" data-bad="${row.damaged}" data-nr="${row.restorable ? 0 : 1}" data-i="${ri}"${row.restorable ? '' : ' class="nr"'}>` +
        `<th class="v" title="${esc(`${row.volume} ${row.name}`)}"><span class="id">${esc(row.volume)}</span>${esc(row.name)}${row.damaged ? `<span class="bad">${row.damaged}✗</span>` : ''}</th>${cells.join('')}</tr>`,
    );
  });

  const html = `
<h1>Archive health</h1>
<div class="muted">${opts.subtitle ? esc(opts.subtitle) : ''}${opts.generated ? ` · made ${esc(opts.generated)}` : ''} · codadump verify</div>
<div class="summary">${tiles.join('')}</div>
${norestHtml}
<div class="controls">
<input type="search" id="filter" placeholder="filter volumes: id or name" aria-label="filter volumes">
<label>sort <select id="sort"><option value="problems">no restorable point first</option><option value="name">name</option><option value="volume">volume id</option><option value="damaged">most damaged first</option></select></label>
<label><input type="checkbox" id="onlybad"> only volumes with damage</label>
<span id="shown" class="muted">${grid.rows.length} of ${grid.rows.length} volumes</span>
</div>
<div class="controls">${legend(Object.keys(VERDICT_RANK) as CellVerdict[])} <span class="muted">F full · I incremental (I2: level 2) · ? header lost · − named by the log, not on disk · red bar: no restorable point</span></div>
<div class="wrap"><table class="grid" id="grid"><thead><tr><th class="v">volume</th>${head}</tr></thead><tbody>
${body.join('\n')}
</tbody></table></div>
<aside id="detail" hidden></aside>
<script type="application/json" id="data">${scriptJson(archiveData(view, grid))}</script>`;
  const colours = (Object.keys(VERDICT_RANK) as CellVerdict[]).map((v) => `table.grid td.${v}{background:${VERDICT_COLOUR[v]};color:${VERDICT_INK[v]}}`).join('\n');
  return page('codadump: archive health', ARCHIVE_CSS + colours, html, ARCHIVE_JS);
}

/** The archive page's script: details on click (or Enter), filter, sort. Plain ES2017, no libraries. */
const ARCHIVE_JS = `
(function(){
'use strict';
var D=JSON.parse(document.getElementById('data').textContent);
var grid=document.getElementById('grid'),tbody=grid.tBodies[0],panel=document.getElementById('detail');
var rows=Array.prototype.slice.call(tbody.rows);
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return{'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
function num(n){return String(n).replace(/\\B(?=(\\d{3})+(?!\\d))/g,'\\u2009');}
function ids(s){return s?s.split(',').map(Number):[];}
var selected=null;
function chainHtml(ri,col){
  var row=D.rows[ri],h='<h3>Restore chain</h3>',ch=D.chains[row.vol];
  if(ch){
    ch.replicas.forEach(function(rep){
      h+='<div><b>replica '+esc(rep.replica)+'</b>'+(rep.server?' on '+esc(rep.server):'')+'</div><table class="list chain"><tr><th>date</th><th>kind</th><th>restorable</th><th>reason</th></tr>';
      rep.points.forEach(function(p){
        var cur=String(p.date).slice(0,10)===D.dates[col];
        h+='<tr'+(cur?' class="cur"':'')+'><td>'+esc(p.date)+'</td><td>'+(p.incremental?'full + incremental':'full')+'</td><td>'+(p.restorable?'yes':'<b style="color:#c92a2a">no</b>')+'</td><td>'+esc(p.reason||'')+'</td></tr>';
      });
      h+='</table>';
    });
    return h;
  }
  h+='<div class="muted">from the dumps alone: the last full dump up to this run and the runs after it</div><table class="list chain"><tr><th>date</th><th>dumps</th><th>restorable here</th></tr>';
  var pts=row.ch||[],upto=[];
  for(var i=0;i<pts.length&&pts[i][0]<=col;i++)upto.push(pts[i]);
  var start=0;
  for(var j=upto.length-1;j>=0;j--){var td=cellAt(ri,upto[j][0]);if(td&&/F/.test(td.textContent)){start=j;break;}}
  upto.slice(start).forEach(function(p){
    var td=cellAt(ri,p[0]);
    h+='<tr'+(p[0]===col?' class="cur"':'')+'><td>'+esc(D.dates[p[0]])+'</td><td><span class="chip" style="background:'+COLOURS[td.getAttribute('data-verdict')]+'"></span>'+esc(td.textContent)+' '+esc(td.getAttribute('data-verdict'))+'</td><td>'+(p[1]?'yes':'<b style="color:#c92a2a">no</b>')+'</td></tr>';
  });
  return h+'</table>';
}
function cellAt(ri,col){var tr=document.querySelector('tr[data-i="'+ri+'"]');return tr?tr.querySelector('td[data-c="'+col+'"]'):null;}
function show(td){
  if(selected)selected.classList.remove('sel');
  selected=td;td.classList.add('sel');
  var ri=+td.getAttribute('data-r'),col=+td.getAttribute('data-c'),row=D.rows[ri];
  var h='<button class="close" title="close" aria-label="close">×</button><h2>'+esc(row.vol)+' '+esc(row.n)+' · '+esc(D.dates[col])+'</h2>';
  ids(td.getAttribute('data-d')).forEach(function(i){
    var d=D.dumps[i];
    h+='<div class="dump"><div><span class="chip" style="background:'+esc(COLOURS[d.v])+'"></span><b class="verdict">'+esc(d.v)+'</b> <code class="path">'+esc(d.p)+'</code></div>';
    h+='<div class="muted">'+num(d.s)+' bytes · '+(d.h?(d.h.inc?'incremental (level '+d.h.inc+')':'full dump')+' · volume 0x'+(d.h.id>>>0).toString(16)+' (parent 0x'+(d.h.par>>>0).toString(16)+') "'+esc(d.h.n)+'" · backup '+esc(d.h.at):'header lost')+(d.log?' · log '+esc(d.log):'')+'</div>';
    if(d.pr.length){
      h+='<table class="list problems"><tr><th>severity</th><th>code</th><th>byte offset</th><th>message</th></tr>';
      d.pr.forEach(function(p){h+='<tr><td>'+esc(p[0])+'</td><td><code>'+esc(p[1])+'</code></td><td class="num offset">'+num(p[2])+'</td><td>'+esc(p[3])+(p[4]?' (vnode '+esc(p[4])+')':'')+'</td></tr>';});
      h+='</table>';
      if(d.more)h+='<div class="muted">'+d.more+' more problems: see verify --json</div>';
    }else h+='<div>no problems</div>';
    var sup=Object.keys(d.sup||{});
    if(sup.length)h+='<div class="muted">also '+sup.map(function(k){return d.sup[k]+' × '+esc(k);}).join(', ')+' (not listed)</div>';
    h+='</div>';
  });
  ids(td.getAttribute('data-m')).forEach(function(i){
    var m=D.missing[i];
    h+='<div class="dump"><b class="verdict" style="color:#c92a2a">missing</b> <code class="path">'+esc(m.p)+'</code><div class="muted">named by '+esc(m.log)+' (volume '+esc(m.vol)+(m.printed!==null?', Transferred '+esc(m.printed)+' bytes':'')+'), not found</div></div>';
  });
  h+=chainHtml(ri,col);
  panel.innerHTML=h;panel.hidden=false;
  panel.querySelector('.close').onclick=function(){panel.hidden=true;if(selected)selected.classList.remove('sel');selected=null;};
}
var COLOURS=${JSON.stringify(VERDICT_COLOUR)};
grid.addEventListener('click',function(e){var td=e.target.closest('td.c');if(td)show(td);});
grid.addEventListener('keydown',function(e){if(e.key==='Enter'){var td=e.target.closest('td.c');if(td)show(td);}});
document.addEventListener('keydown',function(e){if(e.key==='Escape')panel.hidden=true;});
var filter=document.getElementById('filter'),sort=document.getElementById('sort'),onlybad=document.getElementById('onlybad'),shown=document.getElementById('shown');
function apply(){
  var q=filter.value.trim().toLowerCase(),n=0;
  rows.forEach(function(tr){
    var ok=(!q||tr.getAttribute('data-vol').indexOf(q)>=0||tr.getAttribute('data-name').indexOf(q)>=0)&&(!onlybad.checked||+tr.getAttribute('data-bad')>0);
    tr.hidden=!ok;if(ok)n++;
  });
  shown.textContent=n+' of '+rows.length+' volumes';
}
function order(){
  var k=sort.value,key={
    problems:function(tr){return +tr.getAttribute('data-i');},
    name:function(tr){return tr.getAttribute('data-name')+'\\u0000'+tr.getAttribute('data-vol');},
    volume:function(tr){return tr.getAttribute('data-vol');},
    damaged:function(tr){return -tr.getAttribute('data-bad');}
  }[k];
  var s=rows.slice().sort(function(a,b){var x=key(a),y=key(b);return x<y?-1:x>y?1:(+a.getAttribute('data-i'))-(+b.getAttribute('data-i'));});
  var f=document.createDocumentFragment();s.forEach(function(tr){f.appendChild(tr);});tbody.appendChild(f);
}
var pending=0;filter.addEventListener('input',function(){clearTimeout(pending);pending=setTimeout(apply,120);});filter.addEventListener('keydown',function(e){if(e.key==='Enter'){clearTimeout(pending);apply();}});onlybad.addEventListener('change',apply);sort.addEventListener('change',order);
document.querySelectorAll('#norest a').forEach(function(a){a.addEventListener('click',function(){filter.value='';onlybad.checked=false;apply();});});
})();
`;

/* ------------------------------------------------------------------------ */

const DIAG_CSS = `
.map{background:#fff;border:1px solid #dee2e6;padding:8px;margin:8px 0;overflow-x:auto}
.map svg{display:block;max-width:100%;height:auto}
.kv{border-collapse:collapse}
.kv th{text-align:left;padding:1px 10px 1px 0;font-weight:500;color:#495057;vertical-align:top}
.kv td{padding:1px 0}
.verdict{display:inline-block;padding:1px 8px;border-radius:3px;font-weight:600}
`;

export function diagnoseHtml(a: Analysis, opts: PageOptions = {}): string {
  const w = a.wraparound;
  const h = a.header;
  const kv: [string, string][] = [
    ['file', `<code>${esc(a.path)}</code>, ${groupDigits(a.size)} bytes`],
    ['verdict', `<span class="verdict" id="verdict" style="background:${VERDICT_COLOUR[a.verdict]};color:${VERDICT_INK[a.verdict]}">${esc(a.verdict)}</span>${w ? ` model ${w.model}` : ''}`],
  ];
  if (w?.model === 'A1') {
    kv.push(['seam', `<span id="seam">file [${groupDigits(w.seamStart!)}, ${groupDigits(w.seamEnd!)})</span> was overwritten by the stream's tail; ${w.confirmedBy ? `confirmed by the ${w.confirmedBy === 'chain' ? 'record chain from the header' : 'record chain from a resynchronised boundary'}` : 'not confirmed by the records'}; seam end from ${w.seamEndFrom === 'declared' ? 'the declared size' : 'the records'}`]);
  } else if (w) {
    kv.push(['no header', `the file is the tail of the stream${w.streamOffset !== null ? `: stream [${groupDigits(w.streamOffset)}, ${groupDigits(w.streamOffset + a.size)})` : ''}`]);
  }
  if (w) kv.push(['true length', w.streamLength === null ? 'unknown' : `${groupDigits(w.streamLength)} bytes`]);
  if (a.suspect) kv.push(['suspect', esc(`model ${a.suspect.model}, seam from ${a.suspect.seamStart}${a.suspect.seamEnd !== null ? ` to ${a.suspect.seamEnd}` : ''}: ${a.suspect.reason}`)]);
  kv.push(['header', h ? esc(`volume 0x${(h.volumeId >>> 0).toString(16).padStart(8, '0')} "${displayString(h.name)}", ${h.incremental ? `incremental (level ${h.incremental})` : 'full dump'}, backup ${isoTime(h.backupDate)}`) : 'lost']);
  for (const cls of ['large', 'small'] as const) {
    const i = a.index[cls];
    kv.push([`${cls} index`, i ? `declared ${i.declared}, ${i.surviving} survive${i.lost ? `, <b>${i.lost} lost</b>` : ''}` : a.indexes[cls] ? 'present' : 'header lost']);
  }
  if (a.declared !== null) kv.push(['declared size', `${a.declared} (mod 2^32)`]);
  const model = diagnoseMap(a);
  const lost = a.lost;
  const lostHtml =
    lost.vnodes.length === 0 && lost.count === 0
      ? '<p id="lost-none">nothing lost</p>'
      : `<p>${lost.exact ? '' : 'at least '}${lost.count} vnode${lost.count === 1 ? '' : 's'} lost${lost.vnodes.length < lost.count ? ` (${lost.vnodes.length} identified)` : ''}</p>
<table class="list" id="lost"><tr><th>vnode</th><th>state</th><th>path</th><th>record at byte</th></tr>${lost.vnodes
        .map(
          (l) =>
            `<tr><td class="mono">${l.vnode}.${l.unique}</td><td>${l.partial ? (l.damage === 'corrupt' ? 'damaged' : l.damage === 'suspect' ? 'suspect' : 'partial') : l.knownBy === 'parent' ? 'lost (named as parent)' : 'lost'}</td><td class="mono">${l.path === null ? '<span class="muted">(path unknown)</span>' : esc(displayString(l.path))}</td><td class="num">${l.offset !== undefined ? groupDigits(l.offset) : ''}</td></tr>`,
        )
        .join('')}</table>`;
  const damage = a.damage.slice(0, 500);
  const damageHtml = damage.length
    ? `<table class="list" id="damage"><tr><th>code</th><th>at byte</th><th>file ranges</th><th>message</th></tr>${damage
      .map((d) => `<tr><td><code>${esc(d.code)}</code></td><td class="num">${groupDigits(d.offset)}</td><td class="mono">${d.fileRanges.map((r) => `[${r.start}, ${r.end})`).join(' + ')}</td><td>${esc(d.message)}</td></tr>`)
      .join('')}</table>${a.damage.length > damage.length ? `<p class="muted">${a.damage.length - damage.length} more: see diagnose --json</p>` : ''}`
    : '<p>no damage</p>';
  const problems = a.problems.slice(0, 500);
  const problemsHtml = problems.length
    ? `<table class="list" id="problems"><tr><th>severity</th><th>code</th><th>at byte</th><th>message</th></tr>${problems
      .map((p) => `<tr><td>${esc(p.severity)}</td><td><code>${esc(p.code)}</code></td><td class="num">${groupDigits(p.offset)}</td><td>${esc(p.message)}${p.vnode ? ` (vnode ${esc(p.vnode)})` : ''}</td></tr>`)
      .join('')}</table>`
    : '<p>no problems</p>';
  const dirs = model.directories.slice(0, 200);
  const dirHtml = dirs.length
    ? `<h2>Layout by directory</h2><table class="list" id="dirs"><tr><th>directory</th><th>vnodes</th><th>bytes of records</th><th>first at byte</th></tr>${dirs
      .map((d) => `<tr><td class="mono">${esc(d.path)}</td><td class="num">${d.vnodes}</td><td class="num">${groupDigits(d.bytes)}</td><td class="num">${groupDigits(d.first)}</td></tr>`)
      .join('')}</table>${model.directories.length > dirs.length ? `<p class="muted">${model.directories.length - dirs.length} more directories</p>` : ''}`
    : '';
  const body = `
<h1>Dump map</h1>
<div class="muted">${opts.subtitle ? esc(opts.subtitle) : esc(a.path)}${opts.generated ? ` · made ${esc(opts.generated)}` : ''} · codadump diagnose</div>
<table class="kv">${kv.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>
<div class="map">${diagnoseSvg(a, { model })}</div>
<h2>Lost vnodes</h2>
${lostHtml}
<h2>Damage</h2>
${damageHtml}
${dirHtml}
<h2>Problems</h2>
${problemsHtml}
${a.notes.length ? `<h2>Notes</h2><ul>${a.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}`;
  return page(`codadump: dump map of ${a.path}`, DIAG_CSS, body);
}
