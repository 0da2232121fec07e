/**
 * The one vocabulary of findings. Every code any part of codadump reports,
 * fatal or not, is listed here exactly once, with the severity it has unless
 * the emitter says otherwise, the area it belongs to, and one line of meaning.
 * The README's code table (docs/codes.md) is generated from this table, and
 * test/diagnostics/codes.test.ts fails when a code is emitted that is not
 * here, or listed here that nothing emits.
 *
 * One entry a line, so that concurrent additions merge line by line.
 */

export type Severity = 'error' | 'warning' | 'info';

export type Area =
  | 'dump' // the dump stream's structure
  | 'directory' // directory pages
  | 'acl' // access lists
  | 'tree' // the volume tree (entries, parents, reachability)
  | 'wraparound' // what diagnose finds about the 4 GiB bug
  | 'log' // the backup log against the disk
  | 'archive' // a tree of dumps, chains, replicas
  | 'container' // compressed or wrapped containers
  | 'merge' // merging incrementals
  | 'extract' // writing files out
  | 'repair' // salvage
  | 'run'; // the command itself: usage, I/O, outputs

export interface CodeInfo {
  readonly area: Area;
  readonly severity: Severity;
  readonly summary: string;
}

export const CODES = {
  // --- dump structure ---------------------------------------------------------
  NOT_A_DUMP: { area: 'dump', severity: 'error', summary: 'no dump header (tag 1 and begin magic) at the start' },
  TRUNCATED: { area: 'dump', severity: 'error', summary: 'the input ends before the end marker; the offset is where it ends' },
  TRAILING_DATA: { area: 'dump', severity: 'error', summary: 'bytes after the end marker (offset of the first, with the count)' },
  BAD_VERSION: { area: 'dump', severity: 'error', summary: 'dump header version other than 2' },
  BAD_END_MAGIC: { area: 'dump', severity: 'error', summary: 'end marker with the wrong magic' },
  UNEXPECTED_TAG: { area: 'dump', severity: 'error', summary: 'a byte where a record should start that is no record tag' },
  UNKNOWN_FIELD: { area: 'dump', severity: 'error', summary: 'a field tag the record does not define: its length is unknown, so parsing cannot go on' },
  BAD_LENGTH: { area: 'dump', severity: 'error', summary: 'a length or count field out of its sane range' },
  BAD_VALUE: { area: 'dump', severity: 'error', summary: 'a field value out of range' },
  HEADER_VOLUME_ID: { area: 'dump', severity: 'error', summary: 'dump header without a volume id' },
  HEADER_NAME: { area: 'dump', severity: 'error', summary: 'dump header without a volume name' },
  STRING_NOT_TERMINATED: { area: 'dump', severity: 'error', summary: 'a string whose last byte is not NUL' },
  STRING_TOO_LONG: { area: 'dump', severity: 'warning', summary: 'a string longer than Coda keeps (32 for names and partition, 128 for messages)' },
  DUPLICATE_FIELD: { area: 'dump', severity: 'warning', summary: 'a field given twice in a record' },
  OLD_ACL: { area: 'dump', severity: 'info', summary: "an old raw 'A' access list" },
  VOLUME_MISSING: { area: 'dump', severity: 'error', summary: 'no volume disk data record' },
  VOLUME_FIELD_MISSING: { area: 'dump', severity: 'warning', summary: 'a volume disk data field missing' },
  WEEK_USE: { area: 'dump', severity: 'warning', summary: 'week use does not hold 7 values' },
  ORDER: { area: 'dump', severity: 'error', summary: 'sections out of order (large index, then small index, then the end)' },
  INDEX_MISSING: { area: 'dump', severity: 'error', summary: 'a vnode index missing' },
  INDEX_LISTS: { area: 'dump', severity: 'error', summary: "an index with 's' = 0" },
  INDEX_COUNT: { area: 'dump', severity: 'error', summary: "a full dump's index declares 'v' vnodes but another number follows" },
  VNODE_CLASS: { area: 'dump', severity: 'error', summary: 'a vnode in the wrong index (number parity or type)' },
  VNODE_TYPE: { area: 'dump', severity: 'error', summary: 'an unknown vnode type' },
  VNODE_ORDER: { area: 'dump', severity: 'error', summary: 'in a full dump, vnode numbers decrease' },
  VNODE_DUPLICATE: { area: 'dump', severity: 'error', summary: 'a (vnode, uniquifier) repeats' },
  VNODE_SLOT: { area: 'dump', severity: 'warning', summary: "a vnode whose slot lies beyond its index's list count" },
  VNODE_FIELD_MISSING: { area: 'dump', severity: 'error', summary: 'a required vnode field missing (a directory without access list)' },
  VNODE_MODE: { area: 'dump', severity: 'warning', summary: 'mode bits beyond the 12 permission bits' },
  DATA_MISSING: { area: 'dump', severity: 'error', summary: 'a vnode without DIRPAGES / FILEDATA' },
  DATA_KIND: { area: 'dump', severity: 'error', summary: 'a vnode with the wrong kind of data (pages for a file, file data for a directory)' },
  BADINODE: { area: 'dump', severity: 'warning', summary: 'the server could not read the file; a restore creates it empty' },
  SIZE_MISMATCH: { area: 'dump', severity: 'error', summary: "declared 'L' differs from the FILEDATA count" },
  DIR_LENGTH: { area: 'dump', severity: 'warning', summary: "a directory's 'L' is not its page count x 2048" },
  // --- directory pages (offsets are the byte in the dump) --------------------
  DIR_PAGE_COUNT: { area: 'directory', severity: 'error', summary: '0 pages, more than 128, or a length that is not a multiple of 2048' },
  DIR_PAGE_TAG: { area: 'directory', severity: 'error', summary: "a page header's tag is not 1234" },
  DIR_ALLOC_MAP: { area: 'directory', severity: 'error', summary: "allocation map byte wrong for the pages present or their free counts" },
  DIR_FREE_COUNT: { area: 'directory', severity: 'error', summary: "a page's free count is not 64 minus the bits set in its bitmap" },
  DIR_BITMAP: { area: 'directory', severity: 'error', summary: 'a bitmap byte disagrees with the blobs the headers and entries use' },
  DIR_CHAIN_RANGE: { area: 'directory', severity: 'error', summary: 'a chain pointer beyond the last page, or into a page or directory header' },
  DIR_CHAIN_NOT_FIRST: { area: 'directory', severity: 'error', summary: 'a chain pointer to a blob that is not the first blob of an entry' },
  DIR_CHAIN_CYCLE: { area: 'directory', severity: 'error', summary: 'a chain pointer to a blob already reached (a loop, or two chains joining)' },
  DIR_NAME_LENGTH: { area: 'directory', severity: 'error', summary: 'a name longer than 255 bytes, or one that runs past the end of its page' },
  DIR_NAME_EMPTY: { area: 'directory', severity: 'error', summary: 'an empty name' },
  DIR_NAME_DUPLICATE: { area: 'directory', severity: 'error', summary: 'a name twice in one directory' },
  DIR_BLOB_REUSED: { area: 'directory', severity: 'error', summary: 'a blob that belongs to two entries' },
  DIR_WRONG_CHAIN: { area: 'directory', severity: 'error', summary: "an entry threaded on a chain other than its name's hash" },
  DIR_NO_DOT: { area: 'directory', severity: 'error', summary: "no '.' entry" },
  DIR_NO_DOTDOT: { area: 'directory', severity: 'error', summary: "no '..' entry" },
  DIR_DOT_FID: { area: 'directory', severity: 'error', summary: "'.' does not name the directory itself" },
  DIR_DOTDOT_FID: { area: 'directory', severity: 'error', summary: "'..' does not name the parent" },
  // --- access lists -----------------------------------------------------------
  ACL_BAD: { area: 'acl', severity: 'error', summary: 'an access list that does not parse (the message names the ACL_* detail)' },
  ACL_COUNT: { area: 'acl', severity: 'error', summary: 'a count line is not a decimal number followed by a newline' },
  ACL_TOO_MANY: { area: 'acl', severity: 'error', summary: 'more entries than a Coda server accepts' },
  ACL_TRUNCATED: { area: 'acl', severity: 'error', summary: 'the text ends before the declared number of entries' },
  ACL_ENTRY: { area: 'acl', severity: 'error', summary: 'an entry line without a tab, or without a newline after its rights' },
  ACL_NAME: { area: 'acl', severity: 'error', summary: 'an empty name, one over 100 bytes, or one holding whitespace or NUL' },
  ACL_RIGHTS: { area: 'acl', severity: 'error', summary: 'rights not a plain decimal number, or outside 0..127' },
  ACL_DUPLICATE: { area: 'acl', severity: 'error', summary: 'a name listed twice in the same list' },
  ACL_TRAILING: { area: 'acl', severity: 'error', summary: 'bytes after the last declared entry' },
  // --- the volume tree --------------------------------------------------------
  ROOT_MISSING: { area: 'tree', severity: 'error', summary: 'full dump without vnode 1' },
  DANGLING_ENTRY: { area: 'tree', severity: 'error', summary: 'a directory entry naming a vnode not in the dump' },
  PARENT_MISSING: { area: 'tree', severity: 'error', summary: "a vnode's parent is not in the dump" },
  UNREACHABLE: { area: 'tree', severity: 'warning', summary: 'a vnode no directory reaches from the root' },
  DUPLICATE: { area: 'tree', severity: 'warning', summary: 'a second name for a directory, or a second record for one vnode' },
  // --- wraparound and damage as diagnose sees it ------------------------------
  WRAPAROUND: { area: 'wraparound', severity: 'error', summary: 'damage explained by the 4 GiB offset wraparound (model A1, A2 or B)' },
  WRAPAROUND_SUSPECT: { area: 'wraparound', severity: 'warning', summary: 'the size fits a wraparound but the bytes could not confirm it' },
  OVERWRITTEN: { area: 'wraparound', severity: 'error', summary: "stream bytes lost: the receiver wrote the stream's tail over them" },
  CORRUPT: { area: 'wraparound', severity: 'error', summary: 'bytes no sound record accounts for, up to the next sound record' },
  CUT: { area: 'wraparound', severity: 'error', summary: 'a record that runs into lost bytes' },
  SUSPECT: { area: 'wraparound', severity: 'error', summary: "a vnode whose data cannot be trusted: a sound record starts inside it, or the chain breaks right after it" },
  OVERLAP: { area: 'wraparound', severity: 'error', summary: "a sound record starts inside the previous record's file data" },
  NOT_SOUND: { area: 'wraparound', severity: 'error', summary: 'a record that decodes but fails the soundness checks' },
  FALSE_END: { area: 'wraparound', severity: 'error', summary: 'an end marker where the stream cannot end' },
  // --- the backup log ---------------------------------------------------------
  LOG_SIZE_MISMATCH: { area: 'log', severity: 'error', summary: "the backup log's count differs from the size modulo 2^32 (with truncated or trailing data it only confirms them; alone it makes the dump corrupt)" },
  LOG_SIZE_MODULO: { area: 'log', severity: 'info', summary: 'the log matches, but only modulo 2^32 (the dump is over 4 GiB)' },
  LOG_MISSING: { area: 'log', severity: 'error', summary: 'a dump the backup log names is not on disk' },
  // --- #12 archives -----------------------------------------------------------
  LOG_KIND_MISMATCH: { area: 'log', severity: 'warning', summary: "the log's (incremental) marker disagrees with the header's level (i): the server made a full dump instead" },
  LOG_NO_TRANSFER: { area: 'log', severity: 'warning', summary: 'the log has no Transferred line for this dump: the backup program saw it fail' },
  LOG_NOT_SOUND: { area: 'log', severity: 'warning', summary: 'the log calls a volume backed up, but a dump it names is damaged or missing' },
  LOG_PARTIAL: { area: 'log', severity: 'warning', summary: 'the log lists a volume as only partially backed up, or as failed (stage letters per replica)' },
  ARCHIVE_ALIAS: { area: 'archive', severity: 'info', summary: 'a second path to a dump already found (same device and inode): verified once' },
  ARCHIVE_LOOP: { area: 'archive', severity: 'warning', summary: 'a directory link that leads back to a directory above it: not followed' },
  ARCHIVE_OUTSIDE: { area: 'archive', severity: 'warning', summary: 'a link that leaves the tree being verified (a file it reaches is still verified; a directory is not walked)' },
  ARCHIVE_DANGLING: { area: 'archive', severity: 'warning', summary: 'a link whose target does not exist here (an archive moved off its host: see --relocate)' },
  ARCHIVE_UNREADABLE: { area: 'archive', severity: 'warning', summary: 'a file or directory that cannot be read: skipped, the walk goes on' },
  CHAIN_FULL_DAMAGED: { area: 'archive', severity: 'error', summary: 'a restore point whose full dump is damaged' },
  CHAIN_FULL_MISSING: { area: 'archive', severity: 'error', summary: "an incremental whose full dump (the one whose latest stamp is the incremental's oldest) is not in the archive" },
  CHAIN_FULL_OTHER_REPLICA: { area: 'archive', severity: 'error', summary: "an incremental whose matching full belongs to another replica (different parent id)" },
  CHAIN_INCREMENTAL_DAMAGED: { area: 'archive', severity: 'error', summary: 'a restore point whose incremental is damaged' },
  CHAIN_UNKNOWN: { area: 'archive', severity: 'error', summary: 'a dump whose header cannot be read: it cannot be placed in any chain' },
  REPLICA_VNODES_DIFFER: { area: 'archive', severity: 'warning', summary: 'same-day dumps of two replicas of one volume hold different files (vnodes in one only), named by path' },
  REPLICA_CONTENT_DIFFERS: { area: 'archive', severity: 'warning', summary: 'same-day dumps of two replicas hold a file whose content differs (--deep), named by path' },
  MANIFEST_CHANGED: { area: 'archive', severity: 'error', summary: 'a dump whose bytes differ from the fixity manifest (with the files that changed)' },
  MANIFEST_GONE: { area: 'archive', severity: 'error', summary: 'a dump the fixity manifest lists is no longer there' },
  MANIFEST_ADDED: { area: 'archive', severity: 'info', summary: 'a dump not in the fixity manifest' },
  MANIFEST_SYNTAX: { area: 'archive', severity: 'error', summary: 'a fixity manifest line that cannot be read (file and line)' },
  // --- #13 containers (offsets are compressed bytes of the file the finding names) ---
  GZIP_CORRUPT: { area: 'container', severity: 'error', summary: 'a gzip member header or its deflate data does not decode' },
  GZIP_TRUNCATED: { area: 'container', severity: 'error', summary: 'the gzip stream ends inside a member (header, deflate data or trailer)' },
  GZIP_CRC: { area: 'container', severity: 'error', summary: "a gzip member's CRC-32 disagrees with the bytes it decodes to" },
  GZIP_SIZE: { area: 'container', severity: 'error', summary: "a gzip member's trailer size (ISIZE, modulo 2^32) disagrees with the bytes it decodes to" },
  GZIP_TRAILING: { area: 'container', severity: 'warning', summary: 'bytes after the last gzip member (info when all zero: padding)' },
  DECOMPRESSOR_MISSING: { area: 'container', severity: 'error', summary: 'compressed input and no program to decode it on PATH (verdict unreadable)' },
  DECOMPRESSOR_FAILED: { area: 'container', severity: 'error', summary: 'the decompressor exited with an error (its last message is quoted)' },
  AMANDA_PIECE_MISSING: { area: 'container', severity: 'error', summary: "a holding-disk piece named by an Amanda header's CONT_FILENAME=, or a SPLIT_FILE part, is not there" },
  // --- #13 gaps: split parts, orphan pieces ---
  AMANDA_ORPHAN_PIECE: { area: 'container', severity: 'error', summary: 'an Amanda continuation (CONT_FILE, SPLIT_FILE part n>1) read alone: names its first piece when beside it (verdict unreadable)' },
  // --- merge ------------------------------------------------------------------
  MERGE_REFUSED: { area: 'merge', severity: 'error', summary: 'inputs Coda would refuse to merge (not full + incremental of one volume)' },
  NOT_AGAINST_BASE: { area: 'merge', severity: 'warning', summary: "the incremental's oldest ordering uniquifier is not the base's latest" },
  RMVNODE_MISSING: { area: 'merge', severity: 'warning', summary: 'an RMVNODE for a vnode the base does not hold (Coda only logs it)' },
  NO_END_MARKER: { area: 'merge', severity: 'warning', summary: 'the incremental ends without its end marker (Coda only warns)' },
  COUNT_MISMATCH: { area: 'merge', severity: 'warning', summary: "an index's declared count differs from the records that follow it" },
  // --- extract ----------------------------------------------------------------
  UNSAFE_NAME: { area: 'extract', severity: 'error', summary: 'a name that cannot be a single path component' },
  NO_DATA: { area: 'extract', severity: 'warning', summary: 'a file without readable data (BADINODE or none): written empty' },
  LATE_DIRECTORY: { area: 'extract', severity: 'error', summary: 'a directory record after file data began: its contents cannot be placed in one pass' },
  UNREPRESENTABLE: { area: 'extract', severity: 'error', summary: 'a name or link target the output cannot carry' },
  NOT_FOUND: { area: 'extract', severity: 'error', summary: 'a path named on the command line that is not in the dump' },
  DANGLING: { area: 'extract', severity: 'warning', summary: 'an entry names a vnode the dump does not hold' },
  // --- the run itself ---------------------------------------------------------
  IO: { area: 'run', severity: 'error', summary: 'file system trouble: unreadable input, unwritable output' },
  EXISTS: { area: 'run', severity: 'error', summary: 'the output exists (use --force), or the place is taken' },
  USAGE: { area: 'run', severity: 'error', summary: 'a usage error' },
  COMMAND_FAILED: { area: 'run', severity: 'error', summary: 'a command run for input (redump --exec) failed' },
  CHUNK_OFFSET: { area: 'run', severity: 'error', summary: "a chunk arrived with a 32-bit offset that does not match the writer's position" },
  // --- #15: faults -------------------------------------------------------------
  INPUT_CHANGED: { area: 'run', severity: 'error', summary: 'the input file grew or shrank while it was read (verdict unreadable)' },
  SPECIAL_FILE: { area: 'archive', severity: 'error', summary: 'a FIFO, socket or device in a verified tree: named, counted, never opened' },
  // --- issue 11 (package API, errors as data) ---------------------------------
  INTERNAL: { area: 'run', severity: 'error', summary: 'a bug in codadump, not in its input (exit 2; one line naming what was thrown and where; --json prints it as an error document)' },
  // --- #14 salvage -------------------------------------------------------------
  DONOR_MISMATCH: { area: 'repair', severity: 'error', summary: 'a --donor dump that is not of the damaged volume or a replica of it' },
  RESTORED_EXACT: { area: 'repair', severity: 'info', summary: 'a lost vnode put back from a donor that provably holds the lost version' },
  RESTORED_OLDER: { area: 'repair', severity: 'warning', summary: "a lost vnode put back from a donor, as of the donor's date (a later change is lost)" },
  VNODE_LOST: { area: 'repair', severity: 'error', summary: 'a vnode the damaged dump lost that no donor holds' },
  SKIPPED: { area: 'extract', severity: 'error', summary: 'a vnode of a damaged dump that extraction could not write (lost, cut or damaged; the message says which)' },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

export function isCode(s: string): s is Code {
  return Object.prototype.hasOwnProperty.call(CODES, s);
}
