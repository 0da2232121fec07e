/**
 * Extract straight from a damaged dump file, as tar and restore do:
 * everything before the damage, everything after the next sound record, and
 * a report of what was skipped and why.
 *
 * The dump is diagnosed first (the walk reads record headers and skips file
 * data by length, so a sound dump costs little more than its metadata). A
 * sound one is extracted as it is. A damaged one whose damage the diagnosis
 * explains (truncated, trailing data, corrupt stretches, the wraparound
 * models A1, A2 and B) is extracted from the repaired stream, in stream
 * order, made on the fly (repair's plan, its bytes read by position from the
 * input, nothing written): so the result is exactly `repair` then `extract`,
 * without the intermediate file.
 */
import { statSync } from 'node:fs';
import { analyzeSource, type Analysis, type DiagnoseOptions } from '../diagnose/diagnose.js';
import { DumpError } from '../format/errors.js';
import { dumpFromStream, openDump } from '../format/open.js';
import { FileSource } from '../io/source.js';
import { planRepair, repairedBytes } from '../repair/repair.js';
import { extractDump, type ExtractOptions, type ExtractResult } from './extract.js';
import { Selection, extractProblem, type ProblemReport } from './plan.js';

export interface ExtractFileOptions extends ExtractOptions, DiagnoseOptions {
  /**
   * Called when the dump was diagnosed sound, once nothing refers to the
   * diagnosis any more, before the extraction starts: a caller may give its
   * memory back then (the command line does: a forced collection and
   * malloc_trim).
   */
  afterAnalysis?: () => void;
}

/** The diagnosis of a damaged dump; null for a sound one (nothing of the diagnosis is kept then). */
async function damageOf(src: FileSource, opts: DiagnoseOptions): Promise<Analysis | null> {
  const a = await analyzeSource(src, opts);
  return streamDamaged(a) ? a : null;
}

/** True when the stream itself is damaged (not merely odd content a sound stream carries). */
export function streamDamaged(a: Analysis): boolean {
  if (a.verdict === 'ok') return false;
  if (a.verdict === 'truncated' || a.verdict === 'trailing-data' || a.verdict === 'wraparound') return true;
  const w = a.walk;
  return !w.sawHeader || w.endAt !== a.size || w.damage.length > 0 || w.cuts.length > 0 || w.runs.length !== 1;
}

/**
 * Extract the dump file at `path`. Throws DumpError for unusable input (not
 * a dump, an incremental dump) or target; damage is reported in `problems`
 * (first the damage found, then every vnode skipped, then what the
 * extraction itself could not place) with `damaged` set.
 */
export async function extractFile(path: string, opts: ExtractFileOptions): Promise<ExtractResult> {
  // A pipe or device (`<(cmd)`, /dev/stdin) cannot be diagnosed: it is read once, up to any damage.
  let regular = true;
  try {
    regular = statSync(path).isFile();
  } catch {
    // FileSource.open names the failure
  }
  if (!regular) return extractDump(await openDump(path), opts);
  const src = await FileSource.open(path);
  let a: Analysis | null;
  try {
    a = await damageOf(src, opts);
  } catch (e) {
    await src.close();
    throw e;
  }
  if (a === null) {
    await src.close();
    opts.afterAnalysis?.();
    return extractDump(await openDump(path), opts);
  }
  try {
    if (a.verdict === 'not-a-dump') throw new DumpError('NOT_A_DUMP', 'no dump header and no sound record to start from', 0, path);
    const plan = planRepair(a, {});
    const r = await extractDump(dumpFromStream(path, repairedBytes(plan, src)), opts);
    const skipped: ProblemReport[] = [];
    const w = a.wraparound;
    if (w) {
      const at = w.seamStart ?? 0;
      const how = w.model === 'A1'
        ? `file [${w.seamStart}, ${w.seamEnd}) was overwritten by the stream's tail; the tail is read in its place`
        : 'the file is the tail of the stream, its head lost';
      skipped.push({ code: 'WRAPAROUND', offset: at, message: `at byte ${at}: 4 GiB wraparound, model ${w.model}: ${how}` });
    }
    for (const d of a.damage) skipped.push({ code: d.code, offset: d.offset, message: `at byte ${d.offset}: ${d.message}` });
    const selection = new Selection(opts.paths ?? []);
    for (const d of plan.report.dropped) {
      // Only what was asked for: a vnode outside the named paths was not going to be extracted anyway.
      const path = d.path;
      if (!selection.all && (path === null || !selection.paths.some((s) => path === s || path.startsWith(s + '/')))) continue;
      skipped.push({
        code: 'SKIPPED', vnode: d.vnode, unique: d.unique, ...(d.path !== null ? { path: d.path } : {}),
        message: `${d.path === null ? `vnode ${d.vnode}.${d.unique}: ` : ''}${d.reason}; not extracted`,
      });
    }
    r.problems.unshift(...skipped.map(extractProblem));
    r.damaged = true;
    if (r.problems.length === 0) r.problems.push(extractProblem({ code: a.damage[0]?.code ?? 'CORRUPT', message: `the dump is ${a.verdict}; everything in it was extracted` }));
    return r;
  } finally {
    await src.close();
  }
}
