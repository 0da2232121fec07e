/**
 * Walk a (virtual) dump stream record by record, skipping file data by its
 * length, and resynchronise after every break: a record that does not
 * decode, a record cut by a gap or by the end of the input, a chain that
 * runs into a gap. The result says which records survive, which were cut,
 * and which bytes no record accounts for.
 *
 * A *run* is a chain of records linked by their lengths: it starts at the
 * dump header or at a resynchronised boundary, and ends at the end marker,
 * a break, or the end of the input. A chain that crosses a gap inside a
 * record's file data (the record's length says where the next record is)
 * stays one run: that is how a wraparound seam is confirmed by the chain.
 */
import type { Code } from '../diagnostics/codes.js';
import { DUMP_BEGIN_MAGIC, DUMP_END_MAGIC } from '../format/constants.js';
import type { DumpRecord, Vnode } from '../format/types.js';
import { canFollow, findResync, soundIndex, usableVnode } from './resync.js';
import type { VStream } from './vstream.js';

export interface FoundRecord {
  rec: DumpRecord;
  /** Virtual start of the record and its end (including file data). */
  at: number;
  end: number;
  run: number;
  /** Every byte of the record, file data included, is readable. */
  complete: boolean;
  /** For a vnode with file data: readable bytes from the start of its data (contiguous). */
  dataReadable?: number;
  /** Found after the end marker (only when scanning past it). */
  afterEnd?: boolean;
  /**
   * Whole as far as its length goes, but not to be trusted: a sound record
   * starts inside its data ('overlap'), or the chain breaks right after it
   * where a seam of unknown position is known to exist ('seam').
   */
  suspect?: 'overlap' | 'seam';
}

/** A record whose own fields (not just its data) run into a gap or the end of the input. */
export interface CutRecord {
  at: number;
  readableEnd: number;
  tag: number;
  vnode?: number;
  unique?: number;
  run: number;
}

export interface Run {
  index: number;
  start: number;
  end: number;
  /** Started at a resynchronised boundary (not at the dump header). */
  resynced: boolean;
  /** The chain crossed unreadable bytes inside a record's file data. */
  crossedGap: boolean;
  endedBy: 'end' | 'error' | 'cut' | 'gap' | 'eof' | 'false-end';
  records: number;
}

/** Readable bytes no record accounts for (virtual), or a record that failed to decode. */
export interface DamageSpan {
  start: number;
  end: number;
  code: Code;
  message: string;
}

/** A record at a chain position that does not decode, but whose first bytes name a vnode. */
export interface BrokenRecord {
  at: number;
  vnode: number;
  unique: number;
}

export interface WalkResult {
  records: FoundRecord[];
  cuts: CutRecord[];
  broken: BrokenRecord[];
  runs: Run[];
  damage: DamageSpan[];
  sawHeader: boolean;
  /** Virtual position just past the end marker the walk accepted, if any. */
  endAt: number | null;
  /** Readable bytes after that end marker. */
  trailing: number;
}

export interface WalkOptions {
  /** Where to start (default 0). */
  start?: number;
  /** Expect a dump header at `start` (otherwise resynchronise from it). */
  expectHeader?: boolean;
  /** When known: the end marker must end exactly here; one elsewhere is a false end. */
  expectedEnd?: number;
  /** Keep looking for sound records after the end marker (default false). */
  scanAfterEnd?: boolean;
  /**
   * The stream is known to contain a seam at an unknown place (model B):
   * the record before a break of the chain may run across it, so it is
   * marked suspect.
   */
  suspectBeforeBreak?: boolean;
  /** Called with every record found, in stream order. */
  onRecord?: (f: FoundRecord) => void;
}

export async function walkStream(vs: VStream, opts: WalkOptions = {}): Promise<WalkResult> {
  const res: WalkResult = { records: [], cuts: [], broken: [], runs: [], damage: [], sawHeader: false, endAt: null, trailing: 0 };
  const start = opts.start ?? 0;
  let afterEnd = false;
  const st: { run: Run | null } = { run: null };
  let pos = start;
  let done = false;

  const openRun = (at: number, resynced: boolean) => {
    st.run = { index: res.runs.length, start: at, end: at, resynced, crossedGap: false, endedBy: 'eof', records: 0 };
    res.runs.push(st.run);
  };
  const closeRun = (at: number, why: Run['endedBy']) => {
    if (st.run) {
      st.run.end = at;
      st.run.endedBy = why;
    }
    st.run = null;
  };
  /**
   * Resynchronise: search from q; the readable bytes from `from` (default q)
   * to the boundary found are damage. Sets pos, or done when none is found.
   */
  const resync = async (q: number | null, code: Code, message: string, from?: number) => {
    if (q === null || q >= vs.length) {
      if (from !== undefined && q !== null) res.damage.push({ start: from, end: Math.max(from, Math.min(q, vs.length)), code, message });
      done = true;
      return;
    }
    const r = await findResync(vs, q, { expectedEnd: afterEnd ? undefined : opts.expectedEnd });
    const stop = r ?? vs.length;
    const a = from ?? q;
    if (from !== undefined || vs.readableBytes(a, stop) > 0) res.damage.push({ start: a, end: stop, code, message });
    if (r === null) {
      done = true;
      return;
    }
    pos = r;
    openRun(r, true);
  };
  const add = (f: FoundRecord) => {
    res.records.push(f);
    if (st.run) st.run.records++;
    opts.onRecord?.(f);
  };

  // The dump header, or a resynchronisation from the start.
  if (opts.expectHeader ?? true) {
    const d = await vs.decodeAt(start);
    if (d.ok && d.rec.kind === 'header' && d.rec.magic === DUMP_BEGIN_MAGIC) {
      res.sawHeader = true;
      openRun(start, false);
    } else {
      await resync(start, 'NOT_A_DUMP', 'no dump header: the stream starts in the middle of a record');
    }
  } else {
    await resync(start, 'CORRUPT', 'bytes before the first record boundary');
  }

  /** Why the chain may not take this record here (null: it may). */
  const rejection = async (r: DumpRecord, at: number, end: number): Promise<string | null> => {
    const prev = res.records[res.records.length - 1];
    const inRun = prev !== undefined && st.run !== null && prev.run === st.run.index;
    switch (r.kind) {
      case 'header':
        return at === start ? null : 'a dump header in the middle of the stream';
      case 'volume':
        return inRun && prev.rec.kind === 'header' ? null : 'volume data out of place';
      case 'index':
        return soundIndex(r) ? null : 'an index header that is not sound';
      case 'vnode':
        return usableVnode(r) ? null : `vnode ${r.vnode}.${r.unique} is not usable (type ${r.type}, data ${r.data.kind})`;
      case 'end':
        return r.magic === DUMP_END_MAGIC ? null : `end marker with magic 0x${r.magic.toString(16)}`;
      case 'rmvnode':
      case 'nullvnode': {
        // One or nine bytes carry no check of their own: the next record must decode.
        if (!vs.readable(end)) return null;
        const n = await vs.decodeAt(end);
        return n.ok && canFollow(n.rec) ? null : `a ${r.kind.toUpperCase()} not followed by a sound record`;
      }
      default:
        return 'unexpected record';
    }
  };

  /**
   * The chain breaks at pos. If the record before it has file data, look for
   * a sound boundary from the start of that data: one found before pos means
   * the record's length does not fit what follows (it overlaps the next
   * record: a seam or a damaged length), so the record is suspect.
   */
  const breakAt = async (code: Code, message: string) => {
    const cur = st.run as Run | null;
    const prev = res.records[res.records.length - 1];
    const inRun = cur !== null && prev !== undefined && prev.run === cur.index;
    // The record that fails here may still name itself (tag, vnode, uniquifier intact).
    const noteBroken = async () => {
      const head = await vs.bytes(pos, 9);
      if (head.length < 9 || head[0] !== 5) return;
      const vnode = head.readUInt32BE(1);
      const lastVnode = inRun && prev.rec.kind === 'vnode' ? prev.rec.vnode : 0;
      if (vnode >= 1 && vnode < 2 ** 31 && vnode >= lastVnode) res.broken.push({ at: pos, vnode, unique: head.readUInt32BE(5) });
    };
    if (inRun && prev.rec.kind === 'vnode' && prev.rec.data.kind === 'filedata' && prev.complete && !prev.afterEnd) {
      const dataStart = prev.rec.data.start;
      const t = await findResync(vs, dataStart, { expectedEnd: afterEnd ? undefined : opts.expectedEnd });
      if (t !== null && t < pos) {
        prev.complete = false;
        prev.suspect = 'overlap';
        prev.dataReadable = 0;
        closeRun(dataStart, 'error');
        res.damage.push({ start: dataStart, end: t, code: 'OVERLAP', message: `vnode ${prev.rec.vnode}.${prev.rec.unique}: a sound record starts at ${t}, inside its data (which would end at ${prev.end}); ${message}` });
        pos = t;
        openRun(t, true);
        return;
      }
      if (opts.suspectBeforeBreak) {
        prev.complete = false;
        prev.suspect = 'seam';
        prev.dataReadable = 0;
      } else {
        await noteBroken();
      }
      closeRun(pos, 'error');
      res.damage.push({ start: pos, end: t ?? vs.length, code, message });
      if (t === null) {
        done = true;
        return;
      }
      pos = t;
      openRun(t, true);
      return;
    }
    if (inRun && opts.suspectBeforeBreak && prev.rec.kind === 'vnode' && !prev.afterEnd) {
      prev.complete = false;
      prev.suspect = 'seam';
    }
    if (!opts.suspectBeforeBreak) await noteBroken();
    closeRun(pos, 'error');
    await resync(pos + 1, code, message, pos);
  };

  while (!done) {
    if (pos >= vs.length) {
      closeRun(pos, 'eof');
      break;
    }
    if (!vs.readable(pos)) {
      // The chain ran into a gap at a record boundary.
      closeRun(pos, 'gap');
      await resync(vs.nextReadable(pos), 'CORRUPT', 'the surviving rest of a record whose start was lost, up to the next sound record');
      continue;
    }
    const d = await vs.decodeAt(pos);
    if (d.ok) {
      const r = d.rec;
      const why = await rejection(r, pos, d.end);
      if (why !== null) {
        await breakAt('NOT_SOUND', why);
        continue;
      }
      if (r.kind === 'end' && !afterEnd) {
        if (opts.expectedEnd !== undefined && d.end !== opts.expectedEnd) {
          closeRun(pos, 'false-end');
          await resync(pos + 1, 'FALSE_END', `an end marker at ${pos}, not where the stream must end (${opts.expectedEnd - 5})`, pos);
          continue;
        }
        add({ rec: r, at: pos, end: d.end, run: st.run!.index, complete: true });
        res.endAt = d.end;
        closeRun(d.end, 'end');
        res.trailing = vs.readableBytes(d.end, vs.length);
        if (!opts.scanAfterEnd || res.trailing === 0) break;
        afterEnd = true;
        await resync(d.end, 'TRAILING_DATA', 'bytes after the end marker');
        continue;
      }
      if (r.kind === 'end') {
        // Another end marker while scanning past the first.
        add({ rec: r, at: pos, end: d.end, run: st.run!.index, complete: true, afterEnd: true });
        closeRun(d.end, 'end');
        await resync(d.end, 'TRAILING_DATA', 'bytes after an end marker');
        continue;
      }
      const rEnd = vs.readableEnd(pos);
      const f: FoundRecord = { rec: r, at: pos, end: d.end, run: st.run!.index, complete: d.end <= rEnd };
      if (afterEnd) f.afterEnd = true;
      if (r.kind === 'vnode' && r.data.kind === 'filedata') {
        f.dataReadable = Math.max(0, Math.min(rEnd, d.end) - r.data.start);
      }
      add(f);
      pos = d.end;
      if (f.complete) continue;
      // Data runs into a gap or past the end of the input.
      if (d.end < vs.length && vs.readable(d.end)) {
        st.run!.crossedGap = true; // the chain carries on past the gap
        continue;
      }
      closeRun(rEnd, d.end >= vs.length ? 'cut' : 'gap');
      if (d.end >= vs.length) break;
      await resync(vs.nextReadable(d.end), 'CORRUPT', 'the surviving rest of a record whose start was lost, up to the next sound record');
      continue;
    }
    if (d.cut) {
      res.cuts.push({ at: pos, readableEnd: d.readableEnd, tag: d.head.tag, vnode: d.head.vnode, unique: d.head.unique, run: st.run?.index ?? -1 });
      closeRun(d.readableEnd, 'cut');
      const nr = d.readableEnd >= vs.length ? null : vs.nextReadable(d.readableEnd);
      if (nr === null) break;
      await resync(nr, 'CORRUPT', 'the surviving rest of a record whose start was lost, up to the next sound record');
      continue;
    }
    await breakAt(d.error.code, d.error.message);
  }
  if (st.run) closeRun(pos, 'eof');
  return res;
}
