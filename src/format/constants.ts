/** Structural tags and magic numbers of the Coda volume dump format (FORMAT.md section 2). */

export const D_DUMPHEADER = 1;
export const D_VOLUMEHEADER = 2;
export const D_SMALLINDEX = 3;
export const D_LARGEINDEX = 4;
export const D_VNODE = 5;
export const D_VV = 6;
export const D_ENDVV = 7;
export const D_DUMPEND = 8;
export const D_VOLUMEDISKDATA = 9;
export const D_NULLVNODE = 10;
export const D_DIRPAGES = 11;
export const D_FILEDATA = 12;
export const D_RMVNODE = 13;
export const D_BADINODE = 14;
/** Bytes 1..D_MAX are structural tags; bytes above are field tags. */
export const D_MAX = 20;

export const DUMP_BEGIN_MAGIC = 0xb3a11322;
export const DUMP_END_MAGIC = 0x3a214b6e;
export const DUMP_VERSION = 2;

/** Directory pages are the dir layer's; the dump stream carries them whole. */
export { DIR_MAX_PAGES, DIR_PAGE_SIZE } from '../dir/pages.js';

/** The five bytes that end every dump: DUMPEND then the end magic. */
export const END_MARKER = Buffer.from([D_DUMPEND, 0x3a, 0x21, 0x4b, 0x6e]);
export const END_MARKER_LENGTH = 5;

/** Sizes Coda's readers truncate volume strings to (including the NUL). */
export const VOLUME_NAME_SIZE = 32;
export const PARTITION_SIZE = 32;
export const MESSAGE_SIZE = 128;

export const TWO_32 = 4294967296;

export const VNODE_FILE = 1;
export const VNODE_DIR = 2;
export const VNODE_SYMLINK = 3;

export const TAG_NAMES: Record<number, string> = {
  1: 'DUMPHEADER',
  2: 'VOLUMEHEADER',
  3: 'SMALLINDEX',
  4: 'LARGEINDEX',
  5: 'VNODE',
  6: 'VV',
  7: 'ENDVV',
  8: 'DUMPEND',
  9: 'VOLUMEDISKDATA',
  10: 'NULLVNODE',
  11: 'DIRPAGES',
  12: 'FILEDATA',
  13: 'RMVNODE',
  14: 'BADINODE',
};

export function hex(n: number, width = 2): string {
  return '0x' + n.toString(16).padStart(width, '0');
}
