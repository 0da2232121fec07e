/**
 * Run a dump command (e.g. `volutil -h SERVER dump -i 0 VOLID`, which writes
 * the dump to its standard output) through `/bin/sh -c`, and expose its
 * standard output as the dump stream. Its standard error is handed to a
 * callback as it arrives (the CLI passes it through, prefixed) and the last
 * few KiB are kept for the result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { DumpError } from '../format/errors.js';
import { registerExitCleanup } from '../io/exit-cleanup.js';

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

export class CommandInput {
  readonly command: string;
  private readonly child: ChildProcess;
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
    this.child = spawn('/bin/sh', ['-c', command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      detached: true,
    });
    const child = this.child;
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
    child.stdout!.on('error', () => {});
  }

  /** The command's standard output, in pieces; a failure to start rejects with DumpError 'COMMAND_FAILED'. */
  async *stdout(): AsyncGenerator<Buffer> {
    const out = this.child.stdout!;
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
      throw new DumpError('COMMAND_FAILED', `cannot run the dump command: ${this.spawnError.message}`);
    }
  }

  /** Stop the command and everything it started (the stream failed, the output could not be written, or we exit). */
  stop(): void {
    // Even if it already ended (e.g. of SIGPIPE, once we closed its output), how it ended is our doing.
    this.stopped = true;
    this.child.stdout?.destroy();
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
      throw new DumpError('COMMAND_FAILED', `cannot run the dump command: ${this.spawnError.message}`);
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
