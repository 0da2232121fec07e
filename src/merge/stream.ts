/**
 * The streaming merge (issue #17): the merged dump written while the full
 * dump is scanned, so that the full dump is read once, not twice, and its
 * bytes leave from the scan's own window (large writes) instead of being
 * copied again range by range.
 *
 * 1. predict(): the incrementals (small) are read first, leniently: what
 *    each does to each slot (changes, additions, RMVNODEs), the last one's
 *    header, volume and list counts. Nothing is checked or reported here.
 * 2. planMerge (merge.ts) reads the full dump exactly as always, and hands
 *    every record it accepted to a MergeStream (FullObserver): once the
 *    scan has passed a slot, that slot's vnodes are written. A slot no
 *    incremental names is the full dump's vnode, written from the scan's
 *    window as it is (runs of them in one write; file data the scan
 *    skipped, 1 MiB and more, copied in the kernel); a slot an incremental
 *    names is worked out as planMerge does it (the same stack of entries,
 *    reversed between two incrementals) and written entry by entry as the
 *    write pass does. The index headers' vnode counts are known only at the
 *    end: they are written with the full dump's, and patched in the
 *    temporary output before its fsync (AtomicOutput.patch).
 * 3. planMerge then reads the incrementals again, with every check,
 *    refusal and warning of the present code, in the same order; any error
 *    aborts the output (nothing is left behind).
 * 4. finish(): the plan's entries, in the order the write pass writes them,
 *    must be the ones streamed (a 64-bit hash of their numbers), and the
 *    header, volume and list counts the ones written; otherwise the output
 *    is dropped and the present write pass writes it from the plan.
 *
 * The stream gives up (the output is aborted, planMerge carries on, and the
 * present write pass writes the plan) where it cannot write in slot order as
 * the scan goes: a full dump whose vnodes are not in ascending slots (one
 * per slot), records out of the usual order (header, volume, large index,
 * small index, end), a record the scan's fast path hands to the reader
 * (damage, a record too long for its window), or an incremental that cannot
 * be read leniently. It is not used for gzip output or with a file-system
 * seam (tests): those keep the present path.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { VOLUME_NAME_SIZE } from '../format/constants.js';
import { Cursor } from '../format/decoder.js';
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeVolume, type HeaderFields } from '../format/encoder.js';
import { vnodeClass, vnodeSlot, type DumpHeader, type DumpRecord, type IndexClass, type Vnode, type VolumeData } from '../format/types.js';
import type { AtomicOutput } from '../io/atomic-output.js';
import { codaVolume, cString } from './coda-fields.js';
import { applyToSlot, type EntryFields } from './columns.js';
import { COPY_DIRECT, Window, vnodePieces } from './pieces.js';
import { scanDump, type ScanBytes, type ScanVisitor, type VnodeRef } from './scan.js';

/** What planMerge hands the stream: the full dump's records it accepted, as the scan reads them. */
export interface FullObserver extends Pick<ScanVisitor, 'window' | 'beforeFill' | 'room' | 'handover'> {
  record(r: Exclude<DumpRecord, Vnode>): void;
  vnode(r: VnodeRef, slot: number, cls: IndexClass): void;
}

/**
 * What the incrementals do to the slots, in typed-array columns (about 30
 * bytes a record, not an object each): one row per vnode or RMVNODE record,
 * in the order read (input, then place in it).
 */
export class OpColumns {
  length = 0;
  cls = new Uint8Array(1024);
  slot = new Uint32Array(1024);
  unique = new Uint32Array(1024);
  src = new Uint16Array(1024);
  /** Bit 0: canonical; bit 1: an RMVNODE. */
  flags = new Uint8Array(1024);
  offset = new Float64Array(1024);
  size = new Uint32Array(1024);
  data = new Uint32Array(1024);

  push(cls: IndexClass, slot: number, unique: number, src: number, offset: number, size: number, data: number, canonical: boolean, rm: boolean): void {
    if (this.length === this.slot.length) this.grow();
    const i = this.length++;
    this.cls[i] = cls === 'large' ? 0 : 1;
    this.slot[i] = slot;
    this.unique[i] = unique;
    this.src[i] = src;
    this.flags[i] = (canonical ? 1 : 0) | (rm ? 2 : 0);
    this.offset[i] = offset;
    this.size[i] = size;
    this.data[i] = data;
  }

  private grow(): void {
    const n = this.slot.length * 2;
    const g = <T extends { length: number; set(a: T): void }>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.cls = g(this.cls, (k) => new Uint8Array(k));
    this.slot = g(this.slot, (k) => new Uint32Array(k));
    this.unique = g(this.unique, (k) => new Uint32Array(k));
    this.src = g(this.src, (k) => new Uint16Array(k));
    this.flags = g(this.flags, (k) => new Uint8Array(k));
    this.offset = g(this.offset, (k) => new Float64Array(k));
    this.size = g(this.size, (k) => new Uint32Array(k));
    this.data = g(this.data, (k) => new Uint32Array(k));
  }
}

/** One index's slots the incrementals name: slots[j] ascending, its records order[start[j]..start[j + 1]) (rows of OpColumns, in the order read). */
export interface SlotOps {
  slots: Uint32Array;
  start: Int32Array;
}

/** What the incrementals do, read before the full dump. */
export interface Prediction {
  inputs: number;
  /** The last incremental's header and volume (the merged dump's). */
  header: DumpHeader;
  volume: VolumeData;
  /** Each index's list count in the last incremental (the merged dump's). */
  lists: Record<IndexClass, number>;
  ops: OpColumns;
  /** Rows of `ops` by index, then slot, then the order read. */
  order: Int32Array;
  bySlot: Record<IndexClass, SlotOps>;
}

/**
 * The stream's read-ahead per input (records and small files an incremental
 * names) and its output buffer: smaller than the write pass's, since the
 * full dump's window, the output and these are all held at once.
 */
export const STREAM_WINDOW = 256 << 10;

/** How many merges this process streamed, and how many streams gave up (tests read them). */
export const streamCounts = { streamed: 0, gaveUp: 0 };

/** Most incremental records kept for the stream; beyond, the present path. */
export const MAX_OPS = 1 << 20;

/**
 * Read the incrementals (`reals`: their dump streams) leniently: null where
 * one cannot be read so (planMerge reads them again and says what is wrong)
 * or they hold more than MAX_OPS vnode and RMVNODE records.
 */
export async function predict(names: string[], reals: string[]): Promise<Prediction | null> {
  const ops = new OpColumns();
  const lists: Record<IndexClass, number> = { large: -1, small: -1 };
  let header: DumpHeader | null = null;
  let volume: VolumeData | null = null;
  let bad = false;
  try {
    for (let k = 0; k < names.length && !bad; k++) {
      const src = k + 1;
      let cls: IndexClass | null = null;
      const op = (vnode: number, unique: number, offset: number, size: number, data: number, canonical: boolean, rm: boolean): void => {
        if (!cls || vnode === 0 || vnodeClass(vnode) !== cls || ops.length >= MAX_OPS) {
          bad = true;
          return;
        }
        ops.push(cls, vnodeSlot(vnode), unique, src, offset, size, data, canonical, rm);
      };
      await scanDump(names[k], reals[k], true, {
        record(r) {
          if (r.kind === 'header') header = r;
          else if (r.kind === 'volume') volume = r;
          else if (r.kind === 'index') {
            cls = r.index;
            lists[cls] = r.lists;
          } else if (r.kind === 'rmvnode') op(r.vnode, r.unique, 0, 0, 0, false, true);
        },
        vnode(r) {
          op(r.vnode, r.unique, r.offset, r.size, r.dataLength, r.canonical, false);
        },
      }, () => {});
    }
  } catch {
    return null;
  }
  if (bad || !header || !volume || lists.large < 0 || lists.small < 0) return null;
  const order = new Int32Array(ops.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((x, y) => ops.cls[x] - ops.cls[y] || ops.slot[x] - ops.slot[y] || x - y);
  const bySlot = (c: number): SlotOps => {
    const slots: number[] = [];
    const start: number[] = [];
    for (let j = 0; j < order.length; j++) {
      const i = order[j];
      if (ops.cls[i] !== c) continue;
      if (slots.length === 0 || slots[slots.length - 1] !== ops.slot[i]) {
        slots.push(ops.slot[i]);
        start.push(j);
      }
    }
    let end = 0;
    for (let j = 0; j < order.length; j++) if (ops.cls[order[j]] <= c) end = j + 1;
    start.push(end);
    return { slots: Uint32Array.from(slots), start: Int32Array.from(start) };
  };
  return { inputs: names.length, header, volume, lists, ops, order, bySlot: { large: bySlot(0), small: bySlot(1) } };
}

/**
 * A 64-bit hash (two 32-bit lanes) of a sequence of entries: what the
 * stream wrote is compared with what the plan says, in the write pass's order.
 */
export class EntryHash {
  private a = 0x811c9dc5;
  private b = 0x2545f491;

  private mix(x: number): void {
    this.a = Math.imul(this.a ^ x, 0x01000193);
    this.b = Math.imul(this.b ^ x, 0x5bd1e995) ^ (this.b >>> 15);
  }

  add(cls: IndexClass, slot: number, unique: number, src: number, offset: number, size: number, data: number, canonical: boolean): void {
    this.mix(cls === 'large' ? 1 : 2);
    this.mix(slot);
    this.mix(unique);
    this.mix(src);
    this.mix(offset % 0x100000000);
    this.mix(Math.floor(offset / 0x100000000));
    this.mix(size);
    this.mix(data);
    this.mix(canonical ? 1 : 0);
  }

  addEntry(cls: IndexClass, e: EntryFields): void {
    this.add(cls, e.slot, e.unique, e.src, e.offset, e.size, e.data, e.canonical);
  }

  equals(o: EntryHash): boolean {
    return this.a === o.a && this.b === o.b;
  }
}

/** Where the stream stands in the full dump. */
const enum At {
  Start,
  Large,
  Small,
  End,
  Dead,
}

/** What finish() needs of the plan (merge.ts's MergePlan). */
export interface PlanView {
  header: HeaderFields;
  volume: ReturnType<typeof codaVolume>;
  large: { declared: number; lists: number };
  small: { declared: number; lists: number };
  stamps?: ({ size: number; mtimeMs: number } | undefined)[];
}

export class MergeStream implements FullObserver {
  private at = At.Start;
  private fh: DumpHeader | null = null;
  /** The header and volume records written. */
  private head: Buffer | null = null;
  private readonly indexAt: Record<IndexClass, number> = { large: -1, small: -1 };
  private cls: IndexClass = 'large';
  private lastSlot = -1;
  /** Next slot of p.bySlot[cls] not yet written. */
  private ti = 0;
  /** The scan's window. */
  private w: ScanBytes | null = null;
  /** The full dump's bytes [cs, ce) to write as they are (the run gathered), not yet written. */
  private cs = -1;
  private ce = -1;
  private readonly windows: (Window | undefined)[] = [];
  private readonly c = new Cursor(Buffer.alloc(0));
  readonly hash = new EntryHash();

  /** `fds`: every input's dump stream, open for reading ([0] the full dump); the caller closes them. */
  constructor(
    readonly out: AtomicOutput,
    private readonly inputs: string[],
    readonly fds: number[],
    private readonly p: Prediction,
  ) {}

  get dead(): boolean {
    return this.at === At.Dead;
  }

  /** Give up: the output is dropped, and the present write pass writes the plan. */
  kill(): void {
    if (this.at === At.Dead) return;
    this.at = At.Dead;
    streamCounts.gaveUp++;
    this.out.abort();
  }

  /** Run `f` unless dead; any error kills the stream (planMerge's own checks are not the stream's to make). */
  private guard(f: () => void): void {
    if (this.at === At.Dead) return;
    try {
      f();
    } catch {
      this.kill();
    }
  }

  window(w: ScanBytes): void {
    this.w = w;
  }

  beforeFill(): void {
    this.guard(() => {
      const w = this.w!;
      this.flush(Math.min(this.ce, w.base + w.len));
    });
  }

  /** The output's room for the scan's next window (its direct writes' slots). */
  room(): Promise<void> | undefined {
    return this.at === At.Dead ? undefined : this.out.room();
  }

  /** Every direct write of the output finished, before finish() patches it; a failed one kills the stream. */
  async settle(): Promise<void> {
    if (this.at === At.Dead) return;
    try {
      await this.out.drain();
    } catch {
      this.kill();
    }
  }

  handover(): void {
    this.kill();
  }

  record(r: Exclude<DumpRecord, Vnode>): void {
    this.guard(() => {
      switch (r.kind) {
        case 'header':
          if (this.at !== At.Start || this.fh) return this.kill();
          this.fh = r;
          return;
        case 'volume':
        case 'nullvnode':
          return;
        case 'index':
          if (r.index === 'large' && this.at === At.Start && this.fh) {
            this.writeHead(this.fh);
            this.openIndex('large', r.declared);
            this.at = At.Large;
          } else if (r.index === 'small' && this.at === At.Large) {
            this.finishIndex();
            this.openIndex('small', r.declared);
            this.at = At.Small;
          } else this.kill();
          return;
        case 'end':
          if (this.at !== At.Small) return this.kill();
          this.finishIndex();
          this.out.write(encodeEnd());
          this.at = At.End;
          // Not needed any more: freed before planMerge reads the incrementals again (merge's peak memory).
          this.p.ops = new OpColumns();
          this.p.order = new Int32Array(0);
          this.windows.length = 0;
          return;
        default:
          this.kill();
      }
    });
  }

  vnode(r: VnodeRef, slot: number, cls: IndexClass): void {
    if (this.at === At.Dead) return;
    if (this.at !== (cls === 'large' ? At.Large : At.Small) || slot <= this.lastSlot) return this.kill();
    this.lastSlot = slot;
    const slots = this.p.bySlot[cls].slots;
    try {
      if (this.ti < slots.length && slots[this.ti] <= slot) {
        this.flush(this.ce);
        // The slots only incrementals hold, before this one; then this one if an incremental names it.
        while (this.ti < slots.length && slots[this.ti] < slot) this.writeSlot(this.ti++, null);
        if (this.ti < slots.length && slots[this.ti] === slot) {
          this.writeSlot(this.ti++, { slot, unique: r.unique, src: 0, offset: r.offset, size: r.size, data: r.dataLength, canonical: r.canonical });
          return;
        }
      }
      this.fullVnode(r, slot);
    } catch {
      this.kill();
    }
  }

  /** A vnode of the full dump no incremental names: written as the write pass does (its bytes, or re-encoded). */
  private fullVnode(r: VnodeRef, slot: number): void {
    this.hash.add(this.cls, slot, r.unique, 0, r.offset, r.size, r.dataLength, r.canonical);
    if (!r.canonical) {
      this.flush(this.ce);
      this.writeEntry({ slot, unique: r.unique, src: 0, offset: r.offset, size: r.size, data: r.dataLength, canonical: false });
    } else if (r.offset === this.ce) {
      this.ce = r.offset + r.size + r.dataLength;
    } else {
      this.flush(this.ce);
      this.cs = r.offset;
      this.ce = r.offset + r.size + r.dataLength;
    }
  }

  /**
   * Write the run's bytes up to `upTo`: from the scan's window where they
   * are in it, else (file data the scan skipped) copied from the file.
   */
  private flush(upTo: number): void {
    const w = this.w!;
    while (this.cs < upTo) {
      const lim = w.base + w.len;
      if (this.cs >= w.base && this.cs < lim) {
        const n = Math.min(upTo, lim) - this.cs;
        const at = this.cs - w.base;
        this.out.write(w.buf.subarray(at, at + n));
        this.cs += n;
      } else {
        const n = (this.cs < w.base ? Math.min(upTo, w.base) : upTo) - this.cs;
        if (this.out.copyFrom(this.fds[0], this.cs, n) < n) throw new Error('the full dump is shorter than it was');
        this.cs += n;
      }
    }
  }

  private writeHead(fh: DumpHeader): void {
    const p = this.p;
    const header: HeaderFields = {
      volumeId: fh.volumeId, parentId: fh.parentId, name: cString(fh.name, VOLUME_NAME_SIZE), backupDate: p.header.backupDate,
      incremental: fh.incremental, oldest: fh.oldest, latest: p.header.latest,
    };
    this.head = Buffer.concat([encodeHeader(header), encodeVolume(codaVolume(p.volume))]);
    this.out.write(this.head);
  }

  private openIndex(cls: IndexClass, declared: number): void {
    this.cls = cls;
    this.lastSlot = -1;
    this.ti = 0;
    this.indexAt[cls] = this.out.bytesWritten;
    this.out.write(encodeIndexHeader(cls, declared >>> 0, this.p.lists[cls]));
  }

  /** The end of an index: the run, then the slots only incrementals hold. */
  private finishIndex(): void {
    this.flush(this.ce);
    const n = this.p.bySlot[this.cls].slots.length;
    while (this.ti < n) this.writeSlot(this.ti++, null);
  }

  /**
   * A slot an incremental names: its entries as planMerge makes them (a
   * stack, head first: a changed vnode keeps its place, a new one goes on
   * top, an RMVNODE takes one out; reversed between two incrementals).
   */
  private writeSlot(j: number, base: EntryFields | null): void {
    const { slots, start } = this.p.bySlot[this.cls];
    const { ops, order } = this.p;
    const slot = slots[j];
    const list: EntryFields[] = base ? [base] : [];
    const n = this.p.inputs;
    let at = start[j];
    const end = start[j + 1];
    for (let k = 1; k <= n; k++) {
      for (; at < end && ops.src[order[at]] === k; at++) {
        const i = order[at];
        const unique = ops.unique[i];
        const rm = (ops.flags[i] & 2) !== 0;
        applyToSlot(list, unique, rm ? null : { slot, unique, src: k, offset: ops.offset[i], size: ops.size[i], data: ops.data[i], canonical: (ops.flags[i] & 1) !== 0 });
      }
      if (k < n) list.reverse();
    }
    for (const e of list) {
      this.hash.addEntry(this.cls, e);
      this.writeEntry(e);
    }
  }

  private window_(src: number): Window {
    return (this.windows[src] ??= new Window(this.fds[src], this.inputs[src], STREAM_WINDOW));
  }

  /** One entry, as the write pass writes it (runs aside): its bytes as they are, or re-encoded. */
  private writeEntry(e: EntryFields): void {
    if (e.canonical) {
      const len = e.size + e.data;
      if (len < COPY_DIRECT) {
        const v = this.window_(e.src).view(e.offset, len);
        if (v.length < len) throw new Error('an input is shorter than it was');
        this.out.write(v);
      } else if (this.out.copyFrom(this.fds[e.src], e.offset, len) < len) {
        throw new Error('an input is shorter than it was');
      }
      return;
    }
    for (const piece of vnodePieces(e, this.cls, this.window_(e.src), this.c)) {
      if (piece.kind !== 'copy') this.out.write(piece.data);
      else if (this.out.copyFrom(piece.fd, piece.position, piece.length) < piece.length) throw new Error('an input is shorter than it was');
    }
  }

  /**
   * After planMerge: true when what was streamed is the plan's merged dump
   * (then the index headers' counts are patched in, and the caller
   * commits); false (the output dropped) otherwise. `planned` is the hash
   * of the plan's entries in the write pass's order.
   */
  finish(plan: PlanView, planned: EntryHash): boolean {
    if (this.at !== At.End) {
      this.kill();
      return false;
    }
    const head = Buffer.concat([encodeHeader(plan.header), encodeVolume(plan.volume)]);
    let same = this.head !== null && head.equals(this.head) && planned.equals(this.hash) &&
      plan.large.lists === this.p.lists.large && plan.small.lists === this.p.lists.small;
    // The inputs as planMerge read them (the write pass refuses an input changed since).
    for (let i = 0; same && i < this.fds.length; i++) {
      const was = plan.stamps?.[i];
      if (!was) continue;
      const now = fstatSync(this.fds[i]);
      same = now.size === was.size && now.mtimeMs === was.mtimeMs;
    }
    if (!same) {
      this.kill();
      return false;
    }
    for (const cls of ['large', 'small'] as const) {
      const t = plan[cls];
      this.out.patch(this.indexAt[cls], encodeIndexHeader(cls, t.declared >>> 0, t.lists));
    }
    streamCounts.streamed++;
    return true;
  }
}

/** Open `reals` read only (null, none left open, where one cannot be). */
export function openAll(reals: string[]): number[] | null {
  const fds: number[] = [];
  try {
    for (const r of reals) fds.push(openSync(r, 'r'));
    return fds;
  } catch {
    for (const fd of fds) closeSync(fd);
    return null;
  }
}
