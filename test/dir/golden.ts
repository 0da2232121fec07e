/**
 * Test fixture: one directory page written out by hand from FORMAT.md 3.6
 * (not produced by encodeDirectory).
 *
 * Directory 3.2 (vnode 3, uniquifier 2) in parent 1.1, holding, in creation
 * order: "." -> 3.2, ".." -> 1.1, "golden-entry-name-47" -> 10.7.
 *
 *   "."                    hash 46, 1 + ((1+1+15)>>5)  = 1 blob:  blob 13
 *   ".."                   hash 68, 1 + ((2+1+15)>>5)  = 1 blob:  blob 14
 *   "golden-entry-name-47" hash 46, 1 + ((20+1+15)>>5) = 2 blobs: blobs 15, 16
 *       (20 name bytes fill bytes 12..31 of blob 15; its NUL is byte 0 of blob 16)
 *
 * The third entry shares chain 46 with "." and went on the chain's head:
 * slot 46 -> blob 15, whose next -> blob 13 (".") -> 0.
 * Blobs in use: 0..12 (headers) + 13..16 = 17; free = 64 - 17 = 47 = 0x2f.
 */
export const GOLDEN_ENTRIES = [
  { name: '.', vnode: 3, unique: 2 },
  { name: '..', vnode: 1, unique: 1 },
  { name: 'golden-entry-name-47', vnode: 10, unique: 7 },
];

export function goldenPage(): Buffer {
  const page = Buffer.alloc(2048); // every byte not written below is 0
  const put = (offset: number, hex: string): void => {
    Buffer.from(hex.replace(/\s+/g, ''), 'hex').copy(page, offset);
  };
  // --- page header, blob 0 (bytes 0x000..0x01f)
  put(0x000, '00 00 04 d2'); // tag 1234
  put(0x004, '2f'); // free count 47
  // bitmap, blob j = byte j>>3, bit j&7 (LSB first):
  //   byte 0 = blobs 0..7   all in use -> ff
  //   byte 1 = blobs 8..15  all in use -> ff
  //   byte 2 = blob 16 (bit 0)         -> 01
  put(0x005, 'ff ff 01 00 00 00 00 00');
  // 0x00d..0x01f: 19 bytes of padding, 0
  // --- allocation map (0x020..0x09f): page 0 has 47 free, pages 1..127 absent (64 = 0x40)
  put(0x020, '2f' + '40'.repeat(127));
  // --- hash table (0x0a0..0x19f), slot i at 0x0a0 + 2*i
  put(0x0a0 + 2 * 46, '00 0f'); // 0x0fc: chain 46 -> blob 15
  put(0x0a0 + 2 * 68, '00 0e'); // 0x128: chain 68 -> blob 14
  // --- blob 13 at 13*32 = 0x1a0: "."
  //    flag  len  next   vnode        unique       name
  put(0x1a0, '01 00 00 00 00 00 00 03 00 00 00 02 2e 00');
  // --- blob 14 at 0x1c0: ".."
  put(0x1c0, '01 00 00 00 00 00 00 01 00 00 00 01 2e 2e 00');
  // --- blob 15 at 0x1e0: "golden-entry-name-47", next = 13 (".")
  put(0x1e0, '01 00 00 0d 00 00 00 0a 00 00 00 07');
  put(0x1ec, Buffer.from('golden-entry-name-47', 'latin1').toString('hex')); // 0x1ec..0x1ff
  // --- blob 16 at 0x200: the name's NUL, then an unused tail of zeros
  put(0x200, '00');
  return page;
}
