import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicOutput } from '../../src/io/atomic-output.js';
import { pendingExitCleanups, registerExitCleanup, runExitCleanups } from '../../src/io/exit-cleanup.js';
import { CommandInput } from '../../src/redump/exec.js';
import { tempDir } from '../helpers.js';

describe('exit cleanups: the library registers, only the program hooks the process', () => {
  const t = tempDir();
  afterEach(() => runExitCleanups());

  it('a pending AtomicOutput registers its abort, no process listener; runExitCleanups removes the temporary file', () => {
    const hooks = process.listenerCount('exit');
    const before = pendingExitCleanups();
    const out = new AtomicOutput(join(t.dir, 'a.dump'));
    out.write(Buffer.from('partial'));
    expect(process.listenerCount('exit')).toBe(hooks);
    expect(pendingExitCleanups()).toBe(before + 1);
    expect(existsSync(out.tempPath)).toBe(true);
    runExitCleanups();
    expect(existsSync(out.tempPath)).toBe(false);
    expect(readdirSync(t.dir)).toEqual([]);
    expect(pendingExitCleanups()).toBe(0);
  });

  it('commit and abort unregister', () => {
    const before = pendingExitCleanups();
    const a = new AtomicOutput(join(t.dir, 'b.dump'));
    const b = new AtomicOutput(join(t.dir, 'c.dump'));
    expect(pendingExitCleanups()).toBe(before + 2);
    a.write(Buffer.from('done'));
    a.commit();
    b.abort();
    expect(pendingExitCleanups()).toBe(before);
    runExitCleanups();
    expect(readdirSync(t.dir)).toEqual(['b.dump']);
  });

  it('a running dump command is stopped by runExitCleanups, and unregisters when it exits', async () => {
    const hooks = process.listenerCount('exit');
    const before = pendingExitCleanups();
    const c = new CommandInput('sleep 30');
    expect(process.listenerCount('exit')).toBe(hooks);
    expect(pendingExitCleanups()).toBe(before + 1);
    runExitCleanups();
    const st = await c.status();
    expect(st.signal).toBe('SIGTERM');
    expect(st.stoppedByUs).toBe(true);
    expect(pendingExitCleanups()).toBe(0);
  });

  it('a cleanup that throws does not stop the others', () => {
    const ran: string[] = [];
    registerExitCleanup(() => ran.push('a'));
    registerExitCleanup(() => {
      throw new Error('boom');
    });
    registerExitCleanup(() => ran.push('c'));
    runExitCleanups();
    expect(ran).toEqual(['a', 'c']);
    expect(pendingExitCleanups()).toBe(0);
  });
});
