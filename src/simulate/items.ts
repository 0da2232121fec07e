/**
 * Cut a record's encoded bytes into the items a Coda server writes one at a
 * time. The server reserves room in its 512,000-byte buffer per field
 * (DumpTag, DumpByte, DumpShort, DumpLong, DumpDouble, DumpString,
 * DumpByteString, DumpVV = tag, eleven longs, ENDVV), so each field is one
 * item and a chunk can end between any two fields. Splitting the original
 * bytes (rather than re-encoding) keeps the replayed stream byte-identical
 * to the input whatever its field order.
 *
 * Layout per record (each [...] one item):
 *   header   [tag magic version] then one item per field ('I' is a double)
 *   volume   [tag] then one item per field; 'V' = [V] [0]..[f] [ENDVV]
 *   index    [tag] ['v' n] ['s' n]
 *   vnode    [tag vnode uniquifier] then one item per field, then
 *            [DIRPAGES n] ['P' page]... | [FILEDATA n] | [BADINODE]
 *   rmvnode  [tag vnode uniquifier]; nullvnode [tag]; end [tag magic]
 */
import { D_BADINODE, D_DIRPAGES, D_ENDVV, D_FILEDATA, D_MAX, DIR_PAGE_SIZE } from '../format/constants.js';
import { RAW_ACL_SIZE } from '../format/decoder.js';
import { DumpError } from '../format/errors.js';
import type { DumpRecord } from '../format/types.js';

type Kind = 'int' | 'short' | 'byte' | 'string' | 'double' | 'array' | 'vv' | 'rawacl';

const HEADER_FIELDS: Record<string, Kind> = { v: 'int', p: 'int', n: 'string', b: 'int', i: 'int', I: 'double' };
const VOLUME_FIELDS: Record<string, Kind> = {
  i: 'int', v: 'int', n: 'string', P: 'string', s: 'byte', '+': 'byte', u: 'int', t: 'byte', p: 'int', g: 'int', c: 'int',
  b: 'int', q: 'int', m: 'int', x: 'int', d: 'int', f: 'int', l: 'short', a: 'int', o: 'int', C: 'int', A: 'int', U: 'int',
  E: 'int', B: 'int', O: 'string', M: 'string', W: 'array', D: 'int', Z: 'int', V: 'vv',
};
const INDEX_FIELDS: Record<string, Kind> = { v: 'int', s: 'int' };
const VNODE_FIELDS: Record<string, Kind> = {
  t: 'byte', b: 'short', l: 'short', L: 'int', v: 'int', V: 'vv', m: 'int', a: 'int', o: 'int', p: 'int', q: 'int',
  X: 'string', A: 'rawacl',
};

function bad(what: string): never {
  throw new DumpError('BAD_VALUE', `internal: cannot split ${what} into items`);
}

/** Items of one record's bytes (for a vnode with file data: through the FILEDATA count). */
export function recordItems(rec: DumpRecord, raw: Buffer): Buffer[] {
  const items: Buffer[] = [];
  let p = 0;
  const take = (n: number) => {
    if (p + n > raw.length) bad(`a ${rec.kind} record`);
    items.push(raw.subarray(p, p + n));
    p += n;
  };
  const fields = (table: Record<string, Kind>) => {
    while (p < raw.length && raw[p] > D_MAX) {
      const kind = table[String.fromCharCode(raw[p])];
      if (!kind) bad(`field ${raw[p]} of a ${rec.kind} record`);
      switch (kind) {
        case 'byte': take(2); break;
        case 'short': take(3); break;
        case 'int': take(5); break;
        case 'double': take(9); break;
        case 'string': take(5 + raw.readUInt32BE(p + 1)); break;
        case 'array': take(5 + 4 * raw.readUInt32BE(p + 1)); break;
        case 'rawacl': {
          let n = 1 + RAW_ACL_SIZE;
          while (p + n < raw.length && raw[p + n] === 0 && n < 1 + RAW_ACL_SIZE + 16) n++;
          take(n);
          break;
        }
        case 'vv': {
          take(1);
          while (p < raw.length && raw[p] > D_MAX) take(5);
          if (raw[p] !== D_ENDVV) bad('a version vector');
          take(1);
          break;
        }
      }
    }
  };
  switch (rec.kind) {
    case 'header':
      take(9);
      fields(HEADER_FIELDS);
      break;
    case 'volume':
      take(1);
      fields(VOLUME_FIELDS);
      break;
    case 'index':
      take(1);
      fields(INDEX_FIELDS);
      break;
    case 'vnode':
      take(9);
      fields(VNODE_FIELDS);
      if (p < raw.length) {
        const t = raw[p];
        if (t === D_DIRPAGES) {
          const n = raw.readUInt32BE(p + 1);
          take(5);
          for (let i = 0; i < n; i++) take(1 + DIR_PAGE_SIZE);
        } else if (t === D_FILEDATA) take(5);
        else if (t === D_BADINODE) take(1);
      }
      break;
    case 'rmvnode':
      take(9);
      break;
    case 'nullvnode':
      take(1);
      break;
    case 'end':
      take(5);
      break;
    case 'trailing':
      bad('trailing data');
  }
  if (p !== raw.length) bad(`a ${rec.kind} record (${raw.length - p} bytes left over)`);
  return items;
}
