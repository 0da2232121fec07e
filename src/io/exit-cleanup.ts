/**
 * Work to undo when the process exits before it is finished: temporary
 * output files to unlink (AtomicOutput), dump commands still running to stop
 * (redump --exec). The library never hooks the process itself, so importing
 * codadump changes nothing global: the command line calls
 * `process.on('exit', runExitCleanups)` once, and a program that embeds the
 * library may do the same (or call runExitCleanups from its own shutdown).
 */

const pending = new Set<() => void>();

/** Register `undo`; the returned function unregisters it (call it when the work finished or was undone). */
export function registerExitCleanup(undo: () => void): () => void {
  pending.add(undo);
  return () => {
    pending.delete(undo);
  };
}

/** Run every registered cleanup once (synchronously: fit for an 'exit' handler); never throws. */
export function runExitCleanups(): void {
  const all = [...pending];
  pending.clear();
  for (const undo of all) {
    try {
      undo();
    } catch {
      /* exiting anyway */
    }
  }
}

/** How many cleanups are registered (tests). */
export function pendingExitCleanups(): number {
  return pending.size;
}
