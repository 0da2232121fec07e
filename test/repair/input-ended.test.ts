/**
 * The write names the vnode being copied when the input ends early (issue
 * #17: the copier's owners are the planned vnodes, the name is made only
 * for the message). The plan is made from the whole sample; the bytes are
 * then read from a copy of it cut inside one file's data: the message
 * names that file's vnode and the byte where the copy ends.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample, tempDir } from '../helpers.js';
import { layoutOf, type RecInfo } from '../diagnose/fixtures.js';
import { analyzeSource } from '../../src/diagnose/diagnose.js';
import { FileSource } from '../../src/io/source.js';
import { DumpError } from '../../src/format/errors.js';
import { planRepair, repairedBytes } from '../../src/repair/repair.js';

const SAMPLE = sample('server-sample-full.dump');
let t: { dir: string; cleanup: () => void };
let records: RecInfo[];

beforeAll(async () => {
  t = tempDir('codadump-input-ended-');
  records = (await layoutOf(SAMPLE)).records;
});
afterAll(() => t.cleanup());

describe('input ended while copying', () => {
  it('names the file whose data the input ends in, and the byte', async () => {
    // The last file with at least 2 bytes of data: cut one byte before its end.
    const file = [...records].reverse().find((r) => r.kind === 'vnode' && r.vnode! % 2 === 0 && r.type !== 2 && r.sha !== undefined && r.end - r.offset > 200)!;
    const cutAt = file.end - 1;
    const cut = join(t.dir, 'cut.dump');
    fs.writeFileSync(cut, fs.readFileSync(SAMPLE).subarray(0, cutAt));
    const whole = await FileSource.open(SAMPLE);
    const short = await FileSource.open(cut);
    try {
      const plan = planRepair(await analyzeSource(whole, {}), {});
      let error: unknown;
      try {
        for await (const _ of repairedBytes(plan, short)) void _;
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DumpError);
      expect((error as DumpError).message).toBe(`input ended at ${cutAt} while copying vnode ${file.vnode}.${file.unique}`);
      expect((error as DumpError).offset).toBe(cutAt);
    } finally {
      await whole.close();
      await short.close();
    }
  });
});
