/** Re-encode decoded records (used by round-trip tests, merge and repair). */
import { encodeEnd, encodeHeader, encodeIndexHeader, encodeNullVnode, encodeRmVnode, encodeVnode, encodeVolume } from './encoder.js';
import type { DumpRecord, Vnode } from './types.js';

/** The encoded bytes of a record; for a vnode with file data, through the FILEDATA count. */
export function encodeRecord(r: DumpRecord): Buffer {
  switch (r.kind) {
    case 'header': return encodeHeader(r);
    case 'volume': return encodeVolume(r);
    case 'index': return encodeIndexHeader(r.index, r.declared, r.lists);
    case 'vnode': return encodeVnode(r, vnodeDataSpec(r));
    case 'rmvnode': return encodeRmVnode(r.vnode, r.unique);
    case 'nullvnode': return encodeNullVnode();
    case 'end': return encodeEnd();
    case 'trailing': return Buffer.alloc(0);
  }
}

export function vnodeDataSpec(v: Vnode) {
  switch (v.data.kind) {
    case 'dirpages': return { kind: 'dirpages', pages: v.data.pages } as const;
    case 'filedata': return { kind: 'filedata', length: v.data.length } as const;
    case 'badinode': return { kind: 'badinode' } as const;
    default: return { kind: 'none' } as const;
  }
}
