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
import { D_FILEDATA, FoundRecords, K_HEADER, K_VNODE, type FoundRecord } from './records.js';

export { FoundRecords };

export type { FoundRecord } from './records.js';

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
  /** Every record found, in stream order (columns: see records.ts). */
  records: FoundRecords;
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

export function walkStream(vs: VStream, opts: WalkOptions = {}): Promise<WalkResult> {
  return new StreamWalk(vs, opts).walk();
}

/**
 * One walk of a stream: the position, the run being followed and whether the
 * walk is past the end marker, with the steps that move them. Used once.
 */
class StreamWalk {
  private readonly res: WalkResult;
  private readonly start: number;
  /** Where the chain stands: the next record boundary to decode. */
  private pos: number;
  /** The run being followed, if any. */
  private run: Run | null = null;
  /** Past the accepted end marker (scanning for what follows it). */
  private afterEnd = false;
  private done = false;

  constructor(
    private readonly vs: VStream,
    private readonly opts: WalkOptions,
  ) {
    this.start = opts.start ?? 0;
    this.pos = this.start;
    this.res = { records: new FoundRecords(vs), cuts: [], broken: [], runs: [], damage: [], sawHeader: false, endAt: null, trailing: 0 };
  }

  async walk(): Promise<WalkResult> {
    await this.begin();
    while (!this.done && (await this.step()));
    if (this.run) this.closeRun(this.pos, 'eof');
    return this.res;
  }

  /** The dump header, or a resynchronisation from the start. */
  private async begin(): Promise<void> {
    if (this.opts.expectHeader ?? true) {
      const d = await this.vs.decodeAt(this.start);
      if (d.ok && d.rec.kind === 'header' && d.rec.magic === DUMP_BEGIN_MAGIC) {
        this.res.sawHeader = true;
        this.openRun(this.start, false);
      } else {
        await this.resync(this.start, 'NOT_A_DUMP', 'no dump header: the stream starts in the middle of a record');
      }
    } else {
      await this.resync(this.start, 'CORRUPT', 'bytes before the first record boundary');
    }
  }

  /** One record (or one break) at pos; false when the walk stops. */
  private async step(): Promise<boolean> {
    const { vs, opts, res } = this;
    const pos = this.pos;
    if (pos >= vs.length) {
      this.closeRun(pos, 'eof');
      return false;
    }
    if (!vs.readable(pos)) {
      // The chain ran into a gap at a record boundary.
      this.closeRun(pos, 'gap');
      await this.resync(vs.nextReadable(pos), 'CORRUPT', LOST_START);
      return true;
    }
    const d = await vs.decodeAt(pos);
    if (d.ok) {
      const r = d.rec;
      const why = await this.rejection(r, pos, d.end);
      if (why !== null) {
        await this.breakAt('NOT_SOUND', why);
        return true;
      }
      if (r.kind === 'end' && !this.afterEnd) {
        if (opts.expectedEnd !== undefined && d.end !== opts.expectedEnd) {
          this.closeRun(pos, 'false-end');
          await this.resync(pos + 1, 'FALSE_END', `an end marker at ${pos}, not where the stream must end (${opts.expectedEnd - 5})`, pos);
          return true;
        }
        this.add({ rec: r, at: pos, end: d.end, run: this.run!.index, complete: true });
        res.endAt = d.end;
        this.closeRun(d.end, 'end');
        res.trailing = vs.readableBytes(d.end, vs.length);
        if (!opts.scanAfterEnd || res.trailing === 0) return false;
        this.afterEnd = true;
        await this.resync(d.end, 'TRAILING_DATA', 'bytes after the end marker');
        return true;
      }
      if (r.kind === 'end') {
        // Another end marker while scanning past the first.
        this.add({ rec: r, at: pos, end: d.end, run: this.run!.index, complete: true, afterEnd: true });
        this.closeRun(d.end, 'end');
        await this.resync(d.end, 'TRAILING_DATA', 'bytes after an end marker');
        return true;
      }
      const rEnd = vs.readableEnd(pos);
      const f: FoundRecord = { rec: r, at: pos, end: d.end, run: this.run!.index, complete: d.end <= rEnd };
      if (this.afterEnd) f.afterEnd = true;
      if (r.kind === 'vnode' && r.data.kind === 'filedata') {
        f.dataReadable = Math.max(0, Math.min(rEnd, d.end) - r.data.start);
      }
      this.add(f);
      this.pos = d.end;
      if (f.complete) return true;
      // Data runs into a gap or past the end of the input.
      if (d.end < vs.length && vs.readable(d.end)) {
        this.run!.crossedGap = true; // the chain carries on past the gap
        return true;
      }
      this.closeRun(rEnd, d.end >= vs.length ? 'cut' : 'gap');
      if (d.end >= vs.length) return false;
      await this.resync(vs.nextReadable(d.end), 'CORRUPT', LOST_START);
      return true;
    }
    if (d.cut) {
      res.cuts.push({ at: pos, readableEnd: d.readableEnd, tag: d.head.tag, vnode: d.head.vnode, unique: d.head.unique, run: this.run?.index ?? -1 });
      this.closeRun(d.readableEnd, 'cut');
      const nr = d.readableEnd >= vs.length ? null : vs.nextReadable(d.readableEnd);
      if (nr === null) return false;
      await this.resync(nr, 'CORRUPT', LOST_START);
      return true;
    }
    await this.breakAt(d.error.code, d.error.message);
    return true;
  }

  private openRun(at: number, resynced: boolean): void {
    this.run = { index: this.res.runs.length, start: at, end: at, resynced, crossedGap: false, endedBy: 'eof', records: 0 };
    this.res.runs.push(this.run);
  }

  private closeRun(at: number, why: Run['endedBy']): void {
    if (this.run) {
      this.run.end = at;
      this.run.endedBy = why;
    }
    this.run = null;
  }

  private add(f: FoundRecord): void {
    this.res.records.push(f);
    if (this.run) this.run.records++;
    this.opts.onRecord?.(f);
  }

  /** The index of the last record found, when it belongs to the run being followed (else -1). */
  private lastInRun(): number {
    const recs = this.res.records;
    const prev = recs.length - 1;
    return prev >= 0 && this.run !== null && recs.run(prev) === this.run.index ? prev : -1;
  }

  /** Where resynchronisation may expect the end marker (nowhere in particular once past the first). */
  private resyncOptions(): { expectedEnd: number | undefined } {
    return { expectedEnd: this.afterEnd ? undefined : this.opts.expectedEnd };
  }

  /**
   * Resynchronise: search from q; the readable bytes from `from` (default q)
   * to the boundary found are damage. Sets pos, or done when none is found.
   */
  private async resync(q: number | null, code: Code, message: string, from?: number): Promise<void> {
    const { vs, res } = this;
    if (q === null || q >= vs.length) {
      if (from !== undefined && q !== null) res.damage.push({ start: from, end: Math.max(from, Math.min(q, vs.length)), code, message });
      this.done = true;
      return;
    }
    const r = await findResync(vs, q, this.resyncOptions());
    const stop = r ?? vs.length;
    const a = from ?? q;
    if (from !== undefined || vs.readableBytes(a, stop) > 0) res.damage.push({ start: a, end: stop, code, message });
    if (r === null) {
      this.done = true;
      return;
    }
    this.pos = r;
    this.openRun(r, true);
  }

  /** Why the chain may not take this record here (null: it may). */
  private async rejection(r: DumpRecord, at: number, end: number): Promise<string | null> {
    const prev = this.lastInRun();
    switch (r.kind) {
      case 'header':
        return at === this.start ? null : 'a dump header in the middle of the stream';
      case 'volume':
        return prev >= 0 && this.res.records.kind(prev) === K_HEADER ? null : 'volume data out of place';
      case 'index':
        return soundIndex(r) ? null : 'an index header that is not sound';
      case 'vnode':
        return usableVnode(r) ? null : `vnode ${r.vnode}.${r.unique} is not usable (type ${r.type}, data ${r.data.kind})`;
      case 'end':
        return r.magic === DUMP_END_MAGIC ? null : `end marker with magic 0x${r.magic.toString(16)}`;
      case 'rmvnode':
      case 'nullvnode': {
        // One or nine bytes carry no check of their own: the next record must decode.
        if (!this.vs.readable(end)) return null;
        const n = await this.vs.decodeAt(end);
        return n.ok && canFollow(n.rec) ? null : `a ${r.kind.toUpperCase()} not followed by a sound record`;
      }
      default:
        return 'unexpected record';
    }
  }

  /**
   * The chain breaks at pos. If the record before it has file data, look for
   * a sound boundary from the start of that data: one found before pos means
   * the record's length does not fit what follows (it overlaps the next
   * record: a seam or a damaged length), so the record is suspect.
   */
  private async breakAt(code: Code, message: string): Promise<void> {
    const { vs, opts, res } = this;
    const recs = res.records;
    const pos = this.pos;
    const prev = this.lastInRun();
    const prevVnode = prev >= 0 && recs.kind(prev) === K_VNODE && !recs.afterEnd(prev);
    if (prevVnode && recs.dataKind(prev) === D_FILEDATA && recs.complete(prev)) {
      const dataStart = recs.dataStart(prev);
      const t = await findResync(vs, dataStart, this.resyncOptions());
      if (t !== null && t < pos) {
        recs.setSuspect(prev, 'overlap', 0);
        this.closeRun(dataStart, 'error');
        res.damage.push({ start: dataStart, end: t, code: 'OVERLAP', message: `vnode ${recs.vnode(prev)}.${recs.unique(prev)}: a sound record starts at ${t}, inside its data (which would end at ${recs.end(prev)}); ${message}` });
        this.pos = t;
        this.openRun(t, true);
        return;
      }
      if (opts.suspectBeforeBreak) {
        recs.setSuspect(prev, 'seam', 0);
      } else {
        await this.noteBroken(prev);
      }
      this.closeRun(pos, 'error');
      res.damage.push({ start: pos, end: t ?? vs.length, code, message });
      if (t === null) {
        this.done = true;
        return;
      }
      this.pos = t;
      this.openRun(t, true);
      return;
    }
    if (opts.suspectBeforeBreak && prevVnode) recs.setSuspect(prev, 'seam');
    if (!opts.suspectBeforeBreak) await this.noteBroken(prev);
    this.closeRun(pos, 'error');
    await this.resync(pos + 1, code, message, pos);
  }

  /** The record that fails at pos may still name itself (tag, vnode, uniquifier intact). */
  private async noteBroken(prev: number): Promise<void> {
    const head = await this.vs.bytes(this.pos, 9);
    if (head.length < 9 || head[0] !== 5) return;
    const vnode = head.readUInt32BE(1);
    const recs = this.res.records;
    const lastVnode = prev >= 0 && recs.kind(prev) === K_VNODE ? recs.vnode(prev) : 0;
    if (vnode >= 1 && vnode < 2 ** 31 && vnode >= lastVnode) this.res.broken.push({ at: this.pos, vnode, unique: head.readUInt32BE(5) });
  }
}

const LOST_START = 'the surviving rest of a record whose start was lost, up to the next sound record';
