/**
 * LATE_DIRECTORY and UNREPRESENTABLE, from hand-made records (FORMAT.md
 * 3.5) added to the real server-empty-full.dump: two symbolic links in the
 * small index whose targets no file system can hold (a NUL inside, empty),
 * then a directory record after them, where one pass can no longer place
 * its contents.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexBytes, run, sample, tempDir } from '../helpers.js';

const t = tempDir('codadump-unplaceable-');
afterAll(() => t.cleanup());

/** A symbolic link vnode: number = uniquifier = `vnode`, parent the root 1.1, FILEDATA = target. */
function symlinkRecord(vnode: number, target: Buffer): Buffer {
  const i32 = (n: number) => n.toString(16).padStart(8, '0');
  const vv = `56 ${'01234567suf'.split('').map((c) => `${c.charCodeAt(0).toString(16)} 00000000`).join(' ')} 07`;
  return Buffer.concat([hexBytes(`
    05 ${i32(vnode)} ${i32(vnode)}   # VNODE, number, uniquifier
    74 03                             # 't' 3: symbolic link
    62 01ff                           # 'b' 0777
    6c 0001                           # 'l' 1 link
    4c ${i32(target.length)}          # 'L' length
    76 00000001                       # 'v' data version
    ${vv}                             # 'V' version vector, ENDVV
    6d 6553f100                       # 'm' 1700000000
    61 00000000 6f 00000000           # 'a' author, 'o' owner
    70 00000001 71 00000001           # 'p' 'q' parent 1.1
    0c ${i32(target.length)}          # FILEDATA, count
  `), target]);
}

let dump = '';
const L2 = symlinkRecord(2, Buffer.from('a\0b'));
const L4 = symlinkRecord(4, Buffer.alloc(0));
beforeAll(() => {
  const base = readFileSync(sample('server-empty-full.dump'));
  // server-empty-full.dump: header 0, volume 58, LARGEINDEX 322, root directory 1.1 at 333 (2199 bytes),
  // SMALLINDEX 2532 (11 bytes), DUMPEND 2543.
  expect(base.subarray(2532, 2543)).toEqual(hexBytes('03 76 00000000 73 00000100'));
  expect(base.subarray(333, 342)).toEqual(hexBytes('05 00000001 00000001'));
  expect(base.subarray(2543)).toEqual(hexBytes('08 3a214b6e'));
  dump = join(t.dir, 'links.dump');
  writeFileSync(dump, Buffer.concat([base.subarray(0, 2543), L2, L4, base.subarray(333, 2532), base.subarray(2543)]));
});

describe('extract -C of records that cannot be placed', () => {
  it('the hand-made records decode where they were put (verify sees them, nothing fails to parse)', () => {
    const r = run(['verify', '--json', dump]);
    expect(r.code).toBe(1);
    const p = JSON.parse(r.stdout).dumps[0].problems.map((x: { code: string; offset: number }) => `${x.code}@${x.offset}`);
    expect(p).toEqual(['INDEX_COUNT@2532', 'UNREACHABLE@2543', `UNREACHABLE@${2543 + L2.length}`,
      ...['VNODE_CLASS', 'VNODE_CLASS', 'VNODE_ORDER', 'VNODE_DUPLICATE'].map((c) => `${c}@${2543 + L2.length + L4.length}`)]);
  });

  it('UNREPRESENTABLE for a target with a NUL and an empty target, LATE_DIRECTORY for the directory after them; errors, exit 1', () => {
    const out = join(t.dir, 'x');
    const r = run(['extract', '--json', '--orphans', '-C', out, dump]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problems).toEqual([
      { code: 'UNREPRESENTABLE', severity: 'error', message: 'symbolic link target contains a NUL byte; not extracted', vnode: '2.2', path: '#orphans/2.2' },
      { code: 'UNREPRESENTABLE', severity: 'error', message: 'empty symbolic link target; not extracted', vnode: '4.4', path: '#orphans/4.4' },
      { code: 'LATE_DIRECTORY', severity: 'error', message: 'directory 1.1 comes after file data began; its contents cannot be placed in one pass', vnode: '1.1' },
    ]);
    expect(readdirSync(join(out, '#orphans'))).toEqual([]);
    expect(existsSync(join(out, '#orphans', '2.2'))).toBe(false);
  });
});
