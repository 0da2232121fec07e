/**
 * repair's write path: encoded records and ranges of an input file,
 * appended in order to the output.
 *
 * - Adjacent input ranges (the same file, one starting where the last one
 *   ended) are joined into one.
 * - An encoded record that equals the input bytes it was decoded from is
 *   taken as a range of the input, so a run of unchanged records and their
 *   file data becomes one range.
 * - A joined range of KERNEL_MIN bytes or more is copied by the kernel
 *   (AtomicOutput.copyFrom: copy_file_range, the input's holes kept as
 *   holes; a plain read and write where the kernel cannot).
 * - A joined range is copied as soon as it is EARLY_COPY long, and joining
 *   goes on after it: a long run starts going to the output (and to disk)
 *   while the rest of it is still being compared.
 * - Smaller ranges are read through a 1 MiB read-ahead window with
 *   synchronous positional reads (one read serves many small files) into
 *   the output's own 1 MiB buffer: a few large writes.
 *
 * With a file-system seam (tests that make reads fail) or an input without
 * a descriptor, small ranges are read through the source as before
 * (asynchronously, through the seam). The bytes written are the same
 * either way.
 */
import * as nodeFs from 'node:fs';
import { DumpError, ioError } from '../format/errors.js';
import { AtomicOutput, DIRECT_SLOT } from '../io/atomic-output.js';
import type { DumpOutput } from '../io/gzip-output.js';
import type { FileSource } from '../source/file.js';

/** Joined ranges from this size on are copied by the kernel; smaller ones through the window. */
export const KERNEL_MIN = 64 * 1024;
const WINDOW = 1 << 20;
/** A joined range is copied as soon as it is this long (and joining goes on after it). */
export const EARLY_COPY = 64 << 20;

interface Pending<O> {
  src: FileSource;
  start: number;
  end: number;
  /**
   * The vnode each joined piece belongs to (ends[k]: where owners[k]'s
   * pieces end; a vnode's adjacent pieces share one), for the message when
   * the input ends early: two arrays, not an object a piece (a run of
   * unchanged records can join every record of the dump). An owner is
   * whatever the caller names a vnode by (repair: its planned vnode, made
   * a string only for the message: no string a vnode).
   */
  ends: number[];
  owners: O[];
}

export class RangeCopier<O = string> {
  private pending: Pending<O> | null = null;
  private readonly win = Buffer.allocUnsafe(WINDOW);
  private winSrc: FileSource | null = null;
  private winStart = 0;
  private winEnd = 0;

  /**
   * @param out where the bytes go
   * @param direct positional reads on the inputs' descriptors are allowed (no file-system seam)
   * @param inputEnded the error for an input that ends before a range does
   */
  constructor(
    private readonly out: DumpOutput,
    private readonly direct: boolean,
    private readonly inputEnded: (pos: number, vnode: O) => DumpError,
  ) {}

  /** Encoded bytes (a record that changed, or one not read from an input). */
  async bytes(b: Buffer): Promise<void> {
    await this.flush();
    this.out.write(b);
  }

  /**
   * An encoded record that was decoded from `src` at [start, end): where the
   * input holds exactly these bytes there, it joins the ranges copied.
   * `follows`: the bytes of file data that come after it in the input (and
   * are asked for next); where the record and they fill the window, only
   * the record is read (its data is copied by the kernel, and the next
   * record is past the window anyway): not a 1 MiB read for each record of
   * a dump of big files.
   */
  async record(b: Buffer, src: FileSource, start: number, end: number, vnode: O, follows = 0): Promise<void> {
    const want = b.length + follows >= WINDOW ? b.length : WINDOW;
    if (this.direct && src.hasFd && end - start === b.length && b.length <= WINDOW && this.inWindow(src, start, end, want) && b.equals(this.win.subarray(start - this.winStart, end - this.winStart))) {
      await this.range(src, start, end, vnode);
      return;
    }
    await this.bytes(b);
  }

  /** A range of an input (file data, or an unchanged record). */
  async range(src: FileSource, start: number, end: number, vnode: O): Promise<void> {
    if (end <= start) return;
    const p = this.pending;
    if (p && p.src === src && p.end === start) {
      p.end = end;
      const last = p.owners.length - 1;
      if (p.owners[last] === vnode) p.ends[last] = end;
      else {
        p.ends.push(end);
        p.owners.push(vnode);
      }
      if (p.end - p.start >= EARLY_COPY) await this.copyAhead(p);
      return;
    }
    await this.flush();
    this.pending = { src, start, end, ends: [end], owners: [vnode] };
  }

  /** Write what is pending; call once at the end. */
  async finish(): Promise<void> {
    await this.flush();
  }

  /**
   * Copy what a long joined range holds so far, and keep joining after it:
   * a run of unchanged records and their data (most of a big dump) starts
   * going to the output, and to disk, while the rest of the run is still
   * being compared, not once all of it has been. The same bytes in the same
   * order as one copy at the end.
   */
  private async copyAhead(p: Pending<O>): Promise<void> {
    if (!(this.out instanceof AtomicOutput) || !p.src.hasFd) return;
    await this.kernelCopy(this.out, p, p.start);
    p.start = p.end;
    // The owners of what is copied are no longer needed (only the last one goes on).
    p.ends.splice(0, p.ends.length - 1);
    p.owners.splice(0, p.owners.length - 1);
  }

  /**
   * Copy [from, p.end) of p's input in the kernel, EARLY_COPY at a time,
   * with a turn of the event loop after each piece: the output's
   * write-behind steps started on libuv's threads call back there, so
   * they go on being started there (AtomicOutput starts them on this
   * thread once 64 wait for their callback). Throws where the input ends
   * first.
   */
  private async kernelCopy(out: AtomicOutput, p: Pending<O>, from: number): Promise<void> {
    for (let pos = from; pos < p.end; ) {
      // With direct I/O, a slot at a time, after waiting for one to be free (room()).
      const room = out.room();
      if (room) await room;
      const len = Math.min(out.directWrites ? DIRECT_SLOT : EARLY_COPY, p.end - pos);
      const n = out.copyFrom(p.src.fd, pos, len);
      if (n < len) {
        this.pending = null;
        throw this.inputEnded(pos + n, this.owner(p, pos + n));
      }
      pos += n;
      if (!out.directWrites && (pos < p.end || p === this.pending)) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private owner(p: Pending<O>, pos: number): O {
    const k = p.ends.findIndex((e) => e > pos);
    return p.owners[k >= 0 ? k : p.owners.length - 1];
  }

  private async flush(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    const { src } = p;
    let pos = p.start;
    if (p.end - pos >= KERNEL_MIN && this.out instanceof AtomicOutput && src.hasFd) {
      await this.kernelCopy(this.out, p, pos);
      return;
    }
    if (this.direct && src.hasFd) {
      while (pos < p.end) {
        if (!this.inWindow(src, pos, pos + 1)) throw this.inputEnded(pos, this.owner(p, pos));
        const upTo = Math.min(p.end, this.winEnd);
        this.out.write(this.win.subarray(pos - this.winStart, upTo - this.winStart));
        pos = upTo;
      }
      return;
    }
    // Through the source (and its file-system seam), a new read each time.
    this.winSrc = null;
    while (pos < p.end) {
      const n = await src.read(this.win, 0, Math.min(WINDOW, p.end - pos), pos);
      if (n === 0) throw this.inputEnded(pos, this.owner(p, pos));
      this.out.write(this.win.subarray(0, n));
      pos += n;
    }
  }

  /**
   * True when the window holds [start, end) of `src` (reading `want` bytes,
   * 1 MiB by default, from `start` when it does not); false where the input
   * ends first.
   */
  private inWindow(src: FileSource, start: number, end: number, want = WINDOW): boolean {
    if (this.winSrc === src && start >= this.winStart && end <= this.winEnd) return true;
    let n = 0;
    try {
      while (n < want) {
        const r = nodeFs.readSync(src.fd, this.win, n, want - n, start + n);
        if (r === 0) break;
        n += r;
      }
    } catch (e) {
      const d = ioError(e, src.name);
      throw d.offset === undefined ? new DumpError(d.code, d.message, start + n, src.name) : d;
    } finally {
      this.winSrc = src;
      this.winStart = start;
      this.winEnd = start + n;
    }
    return end <= this.winEnd;
  }
}
