/**
 * A command's arguments read without yargs, where yargs could only read
 * them one way (issue #17, start-up of merge): loading yargs (a 250 KB
 * chunk, its `assert` and `util`) and building and running its parser is
 * about 20 ms of every start, an eighth of a merge's fixed cost.
 *
 * Only the plainest command lines are read here: the command word first,
 * then its positionals and its declared options, each option once, as
 * `--name VALUE`, `-n VALUE` or a bare boolean `--flag`. Anything else (an
 * unknown or repeated option, `--name=VALUE`, `--no-flag`, `--`, grouped
 * short flags, a value that starts with `-`, a word yargs might read as a
 * number or a boolean, `--help`, a missing argument...) returns null and
 * the caller runs yargs as before: every message, help text and exit code
 * stays yargs' own. test/cli/quick-args.test.ts checks that where this
 * reads a command line, yargs reads the same values from it.
 *
 * What a command accepts is not written twice: its yargs builder is run
 * against a recorder that notes `.positional()` and `.option()`; a builder
 * that calls anything else, or an option of a kind not handled here (a
 * number, an array, choices, coerce...), makes the command unreadable here.
 */
import type { CommandModule } from 'yargs';

type Args = Record<string, unknown> & { _: (string | number)[]; $0: string };

interface Decl {
  key: string;
  type: 'string' | 'boolean';
  aliases: string[];
  demand: boolean;
  hasDefault: boolean;
  dflt: unknown;
}

/** Option settings understood here; any other makes the command yargs' alone. */
const OPTION_KEYS = new Set(['type', 'alias', 'demandOption', 'default', 'describe', 'description', 'desc', 'requiresArg', 'hidden']);
const POSITIONAL_KEYS = new Set(['type', 'array', 'demandOption', 'describe', 'description', 'desc']);

/** A name that yargs keeps as it is (no camel-case or dot expansion). */
const PLAIN_NAME = /^[a-z][a-z0-9]*$/;

/** What yargs-parser reads as a number (its isNumber), or a boolean word. */
const NUMBERISH = /^0x[0-9a-f]+$|^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i;
/** Words yargs may treat specially anywhere on the line. */
const RESERVED = new Set(['true', 'false', 'help', 'version', 'completion']);

interface Recorded {
  positionals: Map<string, Record<string, unknown>>;
  options: Map<string, Record<string, unknown>>;
  ok: boolean;
}

/** Run a command's builder against a stand-in for yargs that records its declarations. */
function record(builder: unknown): Recorded {
  const rec: Recorded = { positionals: new Map(), options: new Map(), ok: typeof builder === 'function' };
  if (!rec.ok) return rec;
  const proxy: unknown = new Proxy(
    {},
    {
      get(_t, prop) {
        if (prop === 'positional' || prop === 'option' || prop === 'options') {
          return (name: unknown, opt: unknown) => {
            const into = prop === 'positional' ? rec.positionals : rec.options;
            if (typeof name !== 'string' || typeof opt !== 'object' || opt === null || into.has(name)) rec.ok = false;
            else into.set(name, opt as Record<string, unknown>);
            return proxy;
          };
        }
        // Anything else a builder might call (check, conflicts, example...): not for this reader.
        rec.ok = false;
        return () => proxy;
      },
    },
  );
  try {
    (builder as (y: unknown) => unknown)(proxy);
  } catch {
    rec.ok = false;
  }
  return rec;
}

function optionDecl(key: string, opt: Record<string, unknown>): Decl | null {
  if (!PLAIN_NAME.test(key)) return null;
  for (const k of Object.keys(opt)) if (!OPTION_KEYS.has(k)) return null;
  const type = opt.type;
  if (type !== 'string' && type !== 'boolean') return null;
  if (opt.requiresArg !== undefined && (type !== 'string' || opt.requiresArg !== true)) return null;
  const alias = opt.alias === undefined ? [] : Array.isArray(opt.alias) ? (opt.alias as unknown[]) : [opt.alias];
  if (!alias.every((a): a is string => typeof a === 'string' && PLAIN_NAME.test(a))) return null;
  const hasDefault = 'default' in opt;
  if (hasDefault && typeof opt.default !== type) return null;
  // yargs-parser's value for a boolean that has no default and is not given: not guessed here.
  if (type === 'boolean' && !hasDefault) return null;
  return { key, type, aliases: alias, demand: opt.demandOption === true, hasDefault, dflt: opt.default };
}

/**
 * The arguments yargs would give `command`'s handler for `argv` (whose first
 * word names the command), or null where this cannot be sure of them.
 */
export function quickArgs(command: CommandModule<object, any>, argv: readonly string[]): Args | null { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (typeof command.command !== 'string' || command.aliases !== undefined || command.deprecated !== undefined) return null;
  const words = command.command.trim().split(/\s+/);
  const name = words.shift();
  if (name === undefined || argv[0] !== name) return null;
  // The positionals: <a> <b> ... and at most a last <rest..>.
  const slots: { key: string; rest: boolean }[] = [];
  for (const [i, w] of words.entries()) {
    const m = /^<([a-z][a-z0-9]*)(\.\.)?>$/.exec(w);
    if (!m || (m[2] !== undefined && i !== words.length - 1)) return null;
    slots.push({ key: m[1], rest: m[2] !== undefined });
  }
  const rec = record(command.builder);
  if (!rec.ok) return null;
  for (const s of slots) {
    const p = rec.positionals.get(s.key);
    if (!p || p.type !== 'string' || !Object.keys(p).every((k) => POSITIONAL_KEYS.has(k))) return null;
    if (p.array !== undefined && p.array !== s.rest) return null;
  }
  if (rec.positionals.size !== slots.length) return null;
  const byFlag = new Map<string, Decl>();
  const decls: Decl[] = [];
  for (const [key, opt] of rec.options) {
    const d = optionDecl(key, opt);
    if (d === null) return null;
    decls.push(d);
    for (const n of [key, ...d.aliases]) {
      const flag = n.length === 1 ? `-${n}` : `--${n}`;
      if (byFlag.has(flag)) return null;
      byFlag.set(flag, d);
    }
  }

  const given = new Map<Decl, string | boolean>();
  const words2: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '' || RESERVED.has(a) || NUMBERISH.test(a)) return null;
    if (a === '-' || !a.startsWith('-')) {
      words2.push(a);
      continue;
    }
    const d = byFlag.get(a);
    if (d === undefined || given.has(d)) return null;
    if (d.type === 'boolean') {
      given.set(d, true);
      continue;
    }
    const v = argv[i + 1];
    if (v === undefined || v === '' || RESERVED.has(v) || NUMBERISH.test(v) || (v.startsWith('-') && v !== '-')) return null;
    given.set(d, v);
    i++;
  }

  const out: Args = { _: [name], $0: 'codadump' };
  const last = slots[slots.length - 1];
  if (last?.rest ? words2.length < slots.length : words2.length !== slots.length) return null;
  for (const [i, s] of slots.entries()) out[s.key] = s.rest ? words2.slice(i) : words2[i];
  for (const d of decls) {
    const v = given.has(d) ? given.get(d) : d.hasDefault ? d.dflt : undefined;
    if (v === undefined) {
      if (d.demand) return null;
      continue;
    }
    for (const n of [d.key, ...d.aliases]) out[n] = v;
  }
  return out;
}
