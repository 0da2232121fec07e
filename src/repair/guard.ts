import * as fs from 'node:fs';
import { DumpError } from '../format/errors.js';

/** The output must never replace the input (not even with --force). */
export function refuseSameFile(input: string, output: string): void {
  let a: fs.Stats;
  let b: fs.Stats;
  try {
    a = fs.statSync(input);
    b = fs.statSync(output);
  } catch {
    return; // the output does not exist yet (or the input will fail to open with a clear error)
  }
  if (a.dev === b.dev && a.ino === b.ino) {
    throw new DumpError('USAGE', 'the output is the input file; write the result somewhere else', undefined, output);
  }
}
