/**
 * The decoder's soft findings on hand-written bytes (FORMAT.md 1 and 3.1):
 * a string longer than Coda keeps, and a field given twice. The record is
 * still decoded; the notes carry the offset of the field's tag.
 */
import { describe, expect, it } from 'vitest';
import { Cursor, decodeRecord } from '../../src/format/decoder.js';
import { hexBytes } from '../helpers.js';

function decode(bytes: Buffer) {
  const c = new Cursor(bytes);
  c.end = bytes.length;
  return decodeRecord(c);
}

describe('decoder notes', () => {
  // DUMPHEADER (01), begin magic B3A11322, version 2 (bytes 0-8); then fields from byte 9; VOLUMEDISKDATA's tag (09) ends them.
  // 'v' at 9 (value 10-13), 'n' at 14 (length 15-18, bytes from 19).
  const head = '01 b3a11322 00000002';

  it("STRING_TOO_LONG: a volume name of 40 bytes (Coda keeps 32), at the 'n' tag's offset", () => {
    const name = Buffer.from('a'.repeat(39)).toString('hex');
    const r = decode(hexBytes(`${head}  76 01000002  6e 00000028 ${name} 00  09`));
    expect(r.kind).toBe('header');
    expect(r.notes).toEqual([{ code: 'STRING_TOO_LONG', severity: 'warning', offset: 14, message: "string field 'n' is 40 bytes, Coda keeps only 32" }]);
  });

  it("DUPLICATE_FIELD: 'v' given twice, at the second 'v'", () => {
    const r = decode(hexBytes(`${head}  76 01000002  6e 00000002 61 00  76 01000003  09`));
    expect(r.notes).toEqual([{ code: 'DUPLICATE_FIELD', severity: 'warning', offset: 21, message: "field 'v' appears twice" }]);
    expect((r as { volumeId: number }).volumeId).toBe(0x01000003);
  });
});
