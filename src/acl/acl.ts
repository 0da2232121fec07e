/**
 * Access lists in their external text form (FORMAT.md 3.7, Coda's
 * AL_Externalize / AL_Internalize):
 *
 *     <positive count>\n<negative count>\n{<name>\t<rights>\n}*
 *
 * positive entries first. The text here is the `'X'` string without its
 * terminating NUL. Rights are a decimal bit mask (see RIGHTS).
 */
import type { Code } from '../diagnostics/codes.js';
import { finding, type DumpFinding } from '../diagnostics/finding.js';

import { DumpError } from '../diagnostics/errors.js';

export interface AclEntry {
  name: string;
  rights: number;
}

export interface Acl {
  positive: AclEntry[];
  negative: AclEntry[];
}

/** The access-list codes (src/diagnostics/codes.ts, area `acl`, each explained there). */
export type AclProblemCode = Extract<Code, `ACL_${string}`>;

/** An access-list finding; its offset is within the text. */
export type AclProblem = DumpFinding & { code: AclProblemCode };

export const RIGHTS = {
  read: 1,
  write: 2,
  insert: 4,
  lookup: 8,
  delete: 16,
  lock: 32,
  administer: 64,
} as const;
export const ALL_RIGHTS = 127;
/** Coda's AL_MAXEXTENTRIES: a server refuses an access list with more entries (positive plus negative). */
export const ACL_MAX_ENTRIES = 20;
/** Coda's PRS_MAXNAMELEN. */
export const ACL_MAX_NAME = 100;

/** The usual letters, in bit order: r w i l d k a. */
const LETTERS = 'rwildka';

const ANYUSER = 'System:AnyUser';
const ADMINS = 'System:Administrators';

/**
 * System:AnyUser may read and look up (rl = 9), System:Administrators has
 * all rights (127); in the order a server writes them (AnyUser first).
 * Frozen: copy it before changing it.
 */
export const DEFAULT_ACL: Acl = Object.freeze({
  positive: Object.freeze([
    Object.freeze({ name: ANYUSER, rights: RIGHTS.read | RIGHTS.lookup }),
    Object.freeze({ name: ADMINS, rights: ALL_RIGHTS }),
  ]) as AclEntry[],
  negative: Object.freeze([]) as unknown as AclEntry[],
});

/** `127` -> `rwildka`, `9` -> `rl`; bits above 127 are ignored, 0 gives ''. */
export function rightsToLetters(rights: number): string {
  let s = '';
  for (let i = 0; i < LETTERS.length; i++) if ((rights >> i) & 1) s += LETTERS[i];
  return s;
}

/** Why `name` cannot stand in an access list, or null if it can. */
function nameFault(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.length > ACL_MAX_NAME) return `name of ${name.length} bytes; Coda allows ${ACL_MAX_NAME}`;
  if (/[ \t\n\v\f\r\0]/.test(name)) return 'name contains whitespace or NUL';
  return null;
}

/** The exact external form, e.g. "2\n0\nSystem:AnyUser\t9\nSystem:Administrators\t127\n". Throws a DumpError for an entry that cannot be written. */
export function formatAcl(acl: Acl): string {
  let s = `${acl.positive.length}\n${acl.negative.length}\n`;
  for (const e of [...acl.positive, ...acl.negative]) {
    const fault = nameFault(e.name);
    if (fault) throw new DumpError('BAD_VALUE', `access list entry ${JSON.stringify(e.name)}: ${fault}`);
    if (!Number.isInteger(e.rights) || e.rights < 0 || e.rights > ALL_RIGHTS) {
      throw new DumpError('BAD_VALUE', `access list entry ${JSON.stringify(e.name)}: rights ${e.rights} not in 0..${ALL_RIGHTS}`);
    }
    s += `${e.name}\t${e.rights}\n`;
  }
  return s;
}

/**
 * Parse the external form strictly. `acl` is null when the text cannot be
 * read as an access list at all; otherwise problems (if any) are faults
 * Coda would not write or a server would refuse, and `acl` holds what the
 * text says.
 */
export function parseAcl(text: string): { acl: Acl | null; problems: AclProblem[] } {
  const problems: AclProblem[] = [];
  const add = (code: AclProblemCode, offset: number, message: string): void => {
    problems.push(finding(code, offset, message) as AclProblem);
  };
  const fail = (code: AclProblemCode, offset: number, message: string): { acl: null; problems: AclProblem[] } => {
    add(code, offset, message);
    return { acl: null, problems };
  };
  let pos = 0;

  // Digits at pos: [value, end], or null if there are none.
  const digits = (): [number, number] | null => {
    let end = pos;
    while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
    if (end === pos) return null;
    return [Number(text.slice(pos, end)), end];
  };

  const counts: number[] = [];
  for (const what of ['positive', 'negative']) {
    const d = digits();
    if (!d) return fail('ACL_COUNT', pos, pos >= text.length ? `text ends where the ${what} count should be` : `${what} count is not a decimal number`);
    const [value, end] = d;
    if (text[end] !== '\n') return fail('ACL_COUNT', end, `${what} count not followed by a newline`);
    if (end - pos > 1 && text[pos] === '0') add('ACL_COUNT', pos, `${what} count ${text.slice(pos, end)} has leading zeros`);
    counts.push(value);
    pos = end + 1;
  }
  const [np, nm] = counts;
  if (np + nm > ACL_MAX_ENTRIES) add('ACL_TOO_MANY', 0, `${np} + ${nm} entries; a Coda server accepts at most ${ACL_MAX_ENTRIES}`);

  const acl: Acl = { positive: [], negative: [] };
  for (let i = 0; i < np + nm; i++) {
    const list = i < np ? acl.positive : acl.negative;
    const which = i < np ? `positive entry ${i + 1}` : `negative entry ${i - np + 1}`;
    if (pos >= text.length) return fail('ACL_TRUNCATED', pos, `text ends before ${which} (${np} positive and ${nm} negative declared)`);
    const tab = text.indexOf('\t', pos);
    const nl = text.indexOf('\n', pos);
    if (tab < 0 || (nl >= 0 && nl < tab)) return fail('ACL_ENTRY', pos, `${which}: no tab between name and rights`);
    const name = text.slice(pos, tab);
    const fault = nameFault(name);
    if (fault) add('ACL_NAME', pos, `${which}: ${fault}`);
    if (list.some((e) => e.name === name)) add('ACL_DUPLICATE', pos, `${which}: ${JSON.stringify(name)} is listed twice`);
    pos = tab + 1;
    const d = digits();
    if (!d) return fail('ACL_RIGHTS', pos, `${which}: rights are not a decimal number`);
    const [rights, end] = d;
    if (text[end] !== '\n') return fail('ACL_ENTRY', end, `${which}: rights not followed by a newline`);
    if (end - pos > 1 && text[pos] === '0') add('ACL_RIGHTS', pos, `${which}: rights ${text.slice(pos, end)} have leading zeros`);
    if (rights > ALL_RIGHTS) add('ACL_RIGHTS', pos, `${which}: rights ${rights} outside 0..${ALL_RIGHTS}`);
    list.push({ name, rights });
    pos = end + 1;
  }
  if (pos < text.length) add('ACL_TRAILING', pos, `${text.length - pos} bytes after the last entry`);
  return { acl, problems };
}
