/**
 * Read the donors of `repair --donor` (see repair/donors.ts): each full dump
 * given starts a donor; the incremental dumps given after it are merged onto
 * it on the fly with merge's own table (planMerge: the same refusals, the
 * same order of application), nothing written. Every vnode of the merged
 * state is decoded once (its record read by position from whichever input
 * holds it); file data stays in the inputs, read by position when repair
 * copies it. The inputs stay open until `close`.
 */
import { DumpError, ioError } from '../format/errors.js';
import { Cursor } from '../format/decoder.js';
import { DumpReader } from '../format/reader.js';
import type { DumpHeader, VolumeData } from '../format/types.js';
import { FileSource } from '../io/source.js';
import { openPositional, type PositionalInput } from '../io/positional-input.js';
import type { Donor, DonorVnode } from '../repair/donors.js';
import { planMerge, recordAt, tableOrder } from './merge.js';

export interface LoadedDonors {
  donors: Donor[];
  close(): Promise<void>;
}

async function headOf(path: string): Promise<{ header: DumpHeader; volume: VolumeData | null }> {
  const src = await FileSource.open(path);
  const reader = new DumpReader(src);
  try {
    const h = await reader.next();
    if (!h || h.kind !== 'header') throw new DumpError('NOT_A_DUMP', 'no dump header', 0, path);
    const v = await reader.next();
    return { header: h, volume: v && v.kind === 'volume' ? v : null };
  } finally {
    await reader.close();
  }
}

/**
 * Group the donors as given: a full dump, then its incrementals in order. A
 * compressed donor (gzip, Amanda...) is decoded once into a temporary file
 * (io/positional-input.ts, under `tmpdir`) that is read by position like a
 * raw one and removed by `close`.
 */
export async function loadDonors(paths: readonly string[], opts: { tmpdir?: string; decompressWith?: string } = {}): Promise<LoadedDonors> {
  const sources: FileSource[] = [];
  const inputs: PositionalInput[] = [];
  /** The file that holds each donor's dump stream (itself, or its decoded copy). */
  const real = new Map<string, string>();
  const at = (p: string) => real.get(p) ?? p;
  const close = async () => {
    for (const s of sources) await s.close();
    for (const i of inputs) await i.close().catch(() => undefined);
  };
  try {
    for (const p of paths) {
      if (real.has(p)) continue;
      const input = await openPositional(p, opts);
      inputs.push(input);
      real.set(p, input.path);
    }
    const chains: { files: string[]; heads: Awaited<ReturnType<typeof headOf>>[] }[] = [];
    for (const p of paths) {
      const head = await headOf(at(p));
      if (head.header.incremental === 0) chains.push({ files: [p], heads: [head] });
      else {
        const c = chains[chains.length - 1];
        if (!c) throw new DumpError('USAGE', `the incremental dump ${p} needs its full dump as a --donor before it`, undefined, p);
        c.files.push(p);
        c.heads.push(head);
      }
    }
    const donors: Donor[] = [];
    for (const c of chains) {
      const last = c.heads[c.heads.length - 1];
      const first = c.heads[0];
      const vnodes = new Map<string, DonorVnode>();
      if (c.files.length === 1) {
        const src = await FileSource.open(at(c.files[0]), { name: c.files[0] });
        sources.push(src);
        // A second source for the scan: `src` stays open for the file data.
        const reader = new DumpReader(await FileSource.open(at(c.files[0]), { name: c.files[0] }));
        try {
          for await (const r of reader.records()) if (r.kind === 'vnode') vnodes.set(`${r.vnode}.${r.unique}`, { rec: r, source: src });
        } catch (e) {
          throw e instanceof DumpError ? (e.file ??= c.files[0], e) : ioError(e, c.files[0]);
        } finally {
          await reader.close();
        }
      } else {
        const plan = await planMerge(at(c.files[0]), c.files.slice(1).map(at));
        const srcs: FileSource[] = [];
        for (const f of plan.inputs) {
          const s = await FileSource.open(f);
          sources.push(s);
          srcs.push(s);
        }
        const cursor = new Cursor(Buffer.allocUnsafe(64 << 10));
        for (const t of [plan.large, plan.small]) {
          for (const e of tableOrder(t)) {
            const r = await recordAt(srcs[e.src], cursor, e, plan.inputs[e.src]);
            if (r.kind !== 'vnode') continue;
            vnodes.set(`${r.vnode}.${r.unique}`, { rec: r, source: srcs[e.src] });
          }
        }
      }
      donors.push({
        name: c.files.join(' + '), files: c.files, date: last.header.backupDate,
        volumeId: first.header.volumeId, parentId: first.header.parentId, groupId: first.volume?.groupId ?? 0, vnodes,
      });
    }
    return { donors, close };
  } catch (e) {
    await close();
    throw e;
  }
}
