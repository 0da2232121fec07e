/**
 * Test helper: find the directory pages in a dump without a dump reader.
 * A DIRPAGES record is the byte 0x0b, an int32 page count, then per page
 * 'P' (0x50) and 2048 bytes, each page starting with the tag 00 00 04 d2.
 */
import { readFileSync } from 'node:fs';

import { SAMPLES } from '../helpers.js';

export { SAMPLES };

export interface SampleDir {
  /** File offset of the DIRPAGES tag. */
  offset: number;
  pages: Buffer;
}

export function sampleDirectories(file: string): SampleDir[] {
  const b = readFileSync(`${SAMPLES}/${file}`);
  const dirs: SampleDir[] = [];
  const isPage = (at: number): boolean => at + 2049 <= b.length && b[at] === 0x50 && b.readUInt32BE(at + 1) === 1234;
  for (let i = 0; i + 10 <= b.length; i++) {
    if (b[i] !== 0x0b || !isPage(i + 5)) continue;
    const n = b.readUInt32BE(i + 1);
    if (n < 1 || n > 128) continue;
    const pages = Buffer.alloc(n * 2048);
    let at = i + 5;
    let k = 0;
    for (; k < n && isPage(at); k++, at += 2049) b.copy(pages, k * 2048, at + 1, at + 2049);
    if (k !== n) continue;
    dirs.push({ offset: i, pages });
    i = at - 1;
  }
  return dirs;
}
