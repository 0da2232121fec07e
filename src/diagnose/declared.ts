/** The declared size of a dump: from a backup log (--log) or given directly (--declared). */
import { matchLog, readBackupLog } from '../check/backup-log.js';
import { DumpError } from '../format/errors.js';

/** Parse a byte count as printed by Coda (signed or unsigned 32-bit; any whole number is accepted). */
export function parseDeclared(s: string | number): number {
  const str = String(s).trim();
  if (!/^-?\d+$/.test(str)) throw new DumpError('USAGE', `--declared must be a whole number (a byte count as the log prints it), got '${str}'`);
  const n = Number(str);
  if (!Number.isSafeInteger(n)) throw new DumpError('USAGE', `--declared ${str} is out of range`);
  return n;
}

/**
 * The declared count for `dump`: --declared wins; else the entry of the
 * backup log that names the dump (exact path, or the unique longest common
 * path suffix). Null when neither is given.
 */
export async function resolveDeclared(dump: string, opts: { log?: string; declared?: string | number }): Promise<number | null> {
  if (opts.declared !== undefined && opts.log !== undefined) {
    throw new DumpError('USAGE', 'give either --log or --declared, not both');
  }
  if (opts.declared !== undefined) return parseDeclared(opts.declared);
  if (opts.log === undefined) return null;
  const entries = await readBackupLog(opts.log);
  const e = matchLog(entries, [dump]).get(dump);
  if (!e) throw new DumpError('USAGE', `backup log ${opts.log} has no "Dumping ... to" line for ${dump}`, undefined, opts.log);
  if (e.printed === null) throw new DumpError('USAGE', `backup log ${opts.log}:${e.line} has no byte count for ${dump}`, undefined, opts.log);
  return e.printed;
}
