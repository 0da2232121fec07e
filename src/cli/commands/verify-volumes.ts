/** Rendering of verify's archive-level results: walk and log findings, the per-volume table, their --json. */
import chalk from 'chalk';
import type { ArchiveReport } from '../../check/archive.js';
import type { ChainReport, RestorePoint, VolumeChains } from '../../archive/chains.js';
import type { FixityReport } from '../../archive/manifest.js';
import type { Finding } from '../../diagnostics/finding.js';

const SEVERITY: Record<Finding['severity'], (s: string) => string> = { error: chalk.red, warning: chalk.yellow, info: chalk.gray };

/** One line per archive finding (links, loops, unreadable entries, log claims); aliases and missing dumps have lines of their own. */
export function findingLines(report: ArchiveReport): string[] {
  return report.findings
    .filter((f) => f.code !== 'ARCHIVE_ALIAS' && f.code !== 'LOG_MISSING') // shown with their dump, and as 'missing' lines
    .map((f) => `${SEVERITY[f.severity](f.severity.padEnd(13))} ${f.code}: ${f.message}`);
}

function files(p: RestorePoint): string {
  if (p.full === null) return `(full missing) + ${p.incremental}`;
  return p.incremental ? `${p.full} + ${p.incremental}` : p.full;
}

function volumeLine(v: VolumeChains, w: { name: number }): string {
  const head = `${v.volume}  ${v.name.padEnd(w.name)}  ${String(v.replicas.length).padStart(8)}  `;
  if (v.restorable) return head + `${v.newestRestorable!.date}  ${files(v.newestRestorable!)}`;
  if (!v.newest) return head + chalk.red('NO DUMP HERE') + `: the log names ${(v.missing ?? []).join(', ')}`;
  const newest = v.newest!;
  const older = v.newestRestorable ? `; newest restorable: ${v.newestRestorable.date}  ${files(v.newestRestorable)}` : '; no restorable point';
  return head + chalk.red(`NOT RESTORABLE as of ${newest.date}`) + ` (${files(newest)}: ${newest.reason ?? 'an older day is restorable, this one is not'})${older}`;
}

/** The per-volume table: volumes not restorable as of their newest day first. */
export function volumeTable(chains: ChainReport): string[] {
  if (chains.volumes.length === 0 && chains.unplaced.length === 0) return [];
  const w = { name: Math.max(4, ...chains.volumes.map((v) => v.name.length)) };
  const lines = ['', `volume    ${'name'.padEnd(w.name)}  replicas  newest restorable point`];
  for (const v of chains.volumes) lines.push(volumeLine(v, w));
  for (const u of chains.unplaced) lines.push(`${chalk.red('unplaced'.padEnd(13))} ${u.path}: ${u.reason}`);
  const bad = chains.volumes.filter((v) => !v.restorable).length;
  lines.push('');
  lines.push(`${chains.volumes.length} volumes: ${chalk.green(`${chains.volumes.length - bad} restorable`)} as of their newest day, ${bad ? chalk.red(`${bad} not`) : '0 not'}`);
  return lines;
}

/** `volumes: [ { volume, name, restorable, replicas: [ { replica, server?, points: [ { date, full, incremental?, restorable, reason?, code? } ] } ] } ]`. */
export function volumesJson(chains: ChainReport) {
  return chains.volumes.map((v) => ({
    volume: v.volume,
    name: v.name,
    restorable: v.restorable,
    ...(v.missing ? { missing: v.missing } : {}),
    replicas: v.replicas.map((r) => ({
      replica: r.replica,
      ...(r.server ? { server: r.server } : {}),
      points: r.points.map((p) => ({
        date: p.date, full: p.full, ...(p.incremental ? { incremental: p.incremental } : {}), restorable: p.restorable,
        ...(p.reason ? { reason: p.reason, code: p.code } : {}),
      })),
    })),
  }));
}

/** One line per dump whose bytes changed, added or gone since the manifest. */
export function fixityLines(f: FixityReport): string[] {
  return f.findings.map((x) => `${SEVERITY[x.severity](x.severity.padEnd(13))} ${x.code}: ${x.message}`);
}

/** Where replicas of a volume disagree (warnings). */
export function replicaLines(findings: Finding[]): string[] {
  return findings.map((x) => `${SEVERITY[x.severity](x.severity.padEnd(13))} ${x.code}: ${x.message}`);
}
