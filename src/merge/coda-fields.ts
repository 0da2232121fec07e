/**
 * How Coda's merge program (codamergedump) re-encodes what it copies
 * (FORMAT.md section 4): strings cut to the C buffers it reads them into,
 * exactly seven week-use values, vnode numbers recomputed from the slot,
 * an access list only on directories.
 */
import { MESSAGE_SIZE, PARTITION_SIZE, VNODE_DIR, VOLUME_NAME_SIZE } from '../format/constants.js';
import type { VnodeFields, VolumeFields } from '../format/encoder.js';
import { slotVnode, type IndexClass, type Vnode, type VolumeData } from '../format/types.js';

/** A string as a C reader holding `size` bytes (NUL included) keeps it: up to the first NUL, at most size-1 bytes. */
export function cString(s: string, size = 0): string {
  const nul = s.indexOf('\0');
  const t = nul >= 0 ? s.slice(0, nul) : s;
  return size > 0 && t.length > size - 1 ? t.slice(0, size - 1) : t;
}

/** The volume disk data as codamergedump writes it back. */
export function codaVolume(v: VolumeData): VolumeFields {
  const weekUse = [0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 7 && i < v.weekUse.length; i++) weekUse[i] = v.weekUse[i];
  return {
    id: v.id, stampVersion: v.stampVersion, name: cString(v.name, VOLUME_NAME_SIZE),
    partition: cString(v.partition, PARTITION_SIZE), inService: v.inService, blessed: v.blessed,
    nextUniquifier: v.nextUniquifier, type: v.type, parentId: v.parentId, groupId: v.groupId, cloneId: v.cloneId,
    backupId: v.backupId, maxQuota: v.maxQuota, minQuota: v.minQuota, maxFiles: v.maxFiles, diskUsed: v.diskUsed,
    fileCount: v.fileCount, linkCount: v.linkCount, accountNumber: v.accountNumber, owner: v.owner,
    creationDate: v.creationDate, accessDate: v.accessDate, updateDate: v.updateDate,
    expirationDate: v.expirationDate, backupDate: v.backupDate,
    offlineMessage: cString(v.offlineMessage, MESSAGE_SIZE), motd: cString(v.motd, MESSAGE_SIZE),
    weekUse, dayUseDate: v.dayUseDate, dayUse: v.dayUse, vv: v.vv,
  };
}

/**
 * A vnode's fields as codamergedump writes them: the number recomputed from
 * (slot, class), `'X'` (cut at its first NUL) only for directories. A
 * directory that carried an old raw `'A'` list keeps it (Coda's merge would
 * need the protection database to externalise it; see the README).
 */
export function codaVnode(v: Vnode, slot: number, cls: IndexClass): VnodeFields {
  const f: VnodeFields = {
    vnode: slotVnode(slot, cls), unique: v.unique, type: v.type, mode: v.mode, linkCount: v.linkCount,
    length: v.length, dataVersion: v.dataVersion, vv: v.vv, mtime: v.mtime, author: v.author, owner: v.owner,
    parent: v.parent, parentUnique: v.parentUnique,
  };
  if (v.type === VNODE_DIR) {
    if (v.acl !== undefined) f.acl = cString(v.acl);
    else if (v.rawAcl !== undefined) {
      f.rawAcl = v.rawAcl;
      if (v.rawAclPadding) f.rawAclPadding = v.rawAclPadding;
    }
  }
  return f;
}
