/**
 * Run a dump command (e.g. `volutil -h SERVER dump -i 0 VOLID`, which writes
 * the dump to its standard output) through `/bin/sh -c`, and expose its
 * standard output as the dump stream. Its standard error is handed to a
 * callback as it arrives (the CLI passes it through, prefixed) and the last
 * few KiB are kept for the result.
 *
 * The command's standard output is a real pipe (a FIFO), not the socket pair
 * Node gives a child: the volume utility writes its dump to a file NAME, and
 * `volutil dump VOL /dev/stdout` (or `dd of=/dev/stdout`) opens
 * /proc/self/fd/1, which fails with ENXIO on a socket but works on a pipe.
 * The FIFO is made with mkfifo(1) in a private directory (mode 0700) and
 * removed as soon as both ends are open; its read end is read through a
 * net.Socket (libuv reads a pipe descriptor without blocking the loop, so the
 * command's standard error keeps flowing meanwhile).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as C, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DumpError } from '../format/errors.js';
import { registerExitCleanup } from '../io/exit-cleanup.js';
import { enlargePipe } from '../io/pipe.js';

export interface CommandStatus {
  command: string;
  /** Exit status, or null when the command was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the command, if any. */
  signal: string | null;
  /** Bytes of its standard output that redump read (all of them, unless redump stopped it). */
  stdoutBytes: number;
  /** The last STDERR_TAIL bytes of its standard error (latin1 text). */
  stderrTail: string;
  /** True when redump stopped the command itself (the stream had already failed): its exit status is then not its own failure. */
  stoppedByUs: boolean;
}

export const STDERR_TAIL = 4096;

export interface CommandInputOptions {
  /** Each piece of the command's standard error, as it arrives. */
  onStderr?: (chunk: Buffer) => void;
  /** Extra environment for the command. */
  env?: NodeJS.ProcessEnv;
}

/**
 * A FIFO with both ends open: `write` for the command's standard output,
 * `read` for us. The write end is opened O_RDWR (which never blocks on Linux)
 * so the read end can then be opened without waiting; the FIFO's name is
 * gone before the command starts. Null when no FIFO can be made (no
 * mkfifo(1), a read-only temporary directory): the caller falls back to
 * Node's own pipe.
 */
function openFifo(): { read: number; write: number } | null {
  let dir: string | undefined;
  let write = -1;
  try {
    dir = mkdtempSync(join(tmpdir(), 'codadump-exec-'));
    const path = join(dir, 'stdout');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    write = openSync(path, C.O_RDWR);
    const read = openSync(path, C.O_RDONLY);
    return { read, write };
  } catch {
    if (write >= 0) closeSync(write);
    return null;
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** The command as messages name it: at most 60 characters. */
function shortCommand(command: string): string {
  return command.length <= 60 ? command : `${command.slice(0, 57)}...`;
}

export class CommandInput {
  readonly command: string;
  private readonly child: ChildProcess;
  /** The command's standard output, as we read it. */
  private readonly out: Readable;
  private tail: Buffer = Buffer.alloc(0);
  private bytes = 0;
  private stopped = false;
  private spawnError: Error | undefined;
  private readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private readonly closed: Promise<void>;

  constructor(command: string, opts: CommandInputOptions = {}) {
    this.command = command;
    // Its own process group, so stop() ends the whole pipeline the shell
    // runs, not just the shell.
    const fifo = openFifo();
    try {
      this.child = spawn('/bin/sh', ['-c', command], {
        stdio: ['ignore', fifo ? fifo.write : 'pipe', 'pipe'],
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        detached: true,
      });
    } catch (e) {
      // spawn() throws at once for some failures (E2BIG: the command is longer than the kernel takes).
      if (fifo) closeSync(fifo.read);
      throw new DumpError('COMMAND_FAILED', `cannot run the dump command: ${(e as Error).message}`, undefined, shortCommand(command));
    } finally {
      // Only the command holds the write end now: its end (and its children's) is our end of file.
      if (fifo) closeSync(fifo.write);
    }
    const child = this.child;
    if (fifo) {
      enlargePipe(fifo.read);
      this.out = new Socket({ fd: fifo.read, readable: true, writable: false });
    } else {
      this.out = child.stdout!;
    }
    // Still running when the process exits (Ctrl-C, process.exit): stopped by runExitCleanups.
    const unregister = registerExitCleanup(() => this.stop());
    child.once('exit', unregister);
    child.once('error', unregister);
    this.exited = new Promise((resolve) => {
      child.once('error', (e) => {
        this.spawnError = e;
        resolve({ code: null, signal: null });
      });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    // 'close' comes after both pipes ended: all of stderr is in the tail.
    this.closed = new Promise((resolve) => {
      child.once('close', () => resolve());
      child.once('error', () => resolve());
    });
    child.stderr!.on('data', (b: Buffer) => {
      opts.onStderr?.(b);
      this.tail = b.length >= STDERR_TAIL ? b.subarray(b.length - STDERR_TAIL) : Buffer.concat([this.tail, b]).subarray(-STDERR_TAIL);
    });
    child.stderr!.on('error', () => {});
    this.out.on('error', () => {});
  }

  /** The command's standard output, in pieces; a failure to start rejects with DumpError 'COMMAND_FAILED'. */
  async *stdout(): AsyncGenerator<Buffer> {
    const out = this.out;
    try {
      for await (const b of out as AsyncIterable<Buffer>) {
        this.bytes += b.length;
        yield b;
      }
    } finally {
      if (!out.readableEnded) out.destroy();
    }
    await this.exited;
    if (this.spawnError) {
      throw new DumpError('COMMAND_FAILED', `cannot run the dump command: ${this.spawnError.message}`, undefined, shortCommand(this.command));
    }
  }

  /** Stop the command and everything it started (the stream failed, the output could not be written, or we exit). */
  stop(): void {
    // Even if it already ended (e.g. of SIGPIPE, once we closed its output), how it ended is our doing.
    this.stopped = true;
    this.out.destroy();
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      this.child.kill('SIGTERM');
    }
  }

  /**
   * Wait for the command to end. After a normal end of its output this waits
   * for its standard error to end too; after stop() only for the exit, so a
   * grandchild holding the pipe open cannot hold us up.
   */
  async status(): Promise<CommandStatus> {
    const { code, signal } = await this.exited;
    if (!this.stopped) await this.closed;
    else this.child.stderr?.destroy();
    if (this.spawnError) {
      throw new DumpError('COMMAND_FAILED', `cannot run the dump command: ${this.spawnError.message}`, undefined, shortCommand(this.command));
    }
    return {
      command: this.command,
      exitCode: code,
      signal,
      stdoutBytes: this.bytes,
      stderrTail: this.tail.toString('latin1'),
      stoppedByUs: this.stopped,
    };
  }
}

/** One line on how a command ended: `exit status 3`, `killed by signal SIGKILL`. */
export function describeStatus(s: Pick<CommandStatus, 'exitCode' | 'signal'>): string {
  if (s.signal) return `killed by signal ${s.signal}`;
  return `exit status ${s.exitCode}`;
}
