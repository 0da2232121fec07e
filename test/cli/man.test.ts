/**
 * man/codadump.1 is made from the help the CLI prints: the committed page
 * must be exactly what the current help makes, and (checked without the
 * generator's parser) every command, positional and option that `--help`
 * shows must be in the page, under its command, with its description.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { manPage, parseHelp, roff } from '../../src/cli/man.js';
import { BIN, ROOT, run } from '../helpers.js';

const MAN = join(ROOT, 'man', 'codadump.1');
const pkg = JSON.parse(fs.readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; man: string[]; files: string[] };

const helps = new Map<string, string>();
function help(args: string[]): string {
  const key = args.join(' ');
  if (!helps.has(key)) {
    const r = run([...args, '--help']);
    expect(r.code).toBe(0);
    helps.set(key, r.stdout);
  }
  return helps.get(key)!;
}

// Every command's help, fetched at once (a CLI start is slow on a loaded machine).
beforeAll(async () => {
  const exec = promisify(execFile);
  const get = async (args: string[]) => {
    const r = await exec(process.execPath, [BIN, ...args, '--help'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    helps.set(args.join(' '), r.stdout);
  };
  await get([]);
  const names = [...helps.get('')!.matchAll(/^ {2}codadump (\w+)/gm)].map((m) => m[1]);
  await Promise.all(names.map((n) => get([n])));
}, 60_000);

describe('man page', () => {
  it('is what the current --help makes (else: npm run build && node scripts/man.mjs)', () => {
    expect(fs.readFileSync(MAN, 'utf8')).toBe(manPage(help, pkg.version));
  });

  it('has every command, positional and option --help shows, with its description', () => {
    const man = fs.readFileSync(MAN, 'utf8');
    const commands = [...help([]).matchAll(/^ {2}codadump (\w+)/gm)].map((m) => m[1]);
    expect(commands).toEqual(['inspect', 'ls', 'pack', 'extract', 'merge', 'redump', 'verify', 'diagnose', 'repair', 'simulate']);
    for (const c of commands) {
      const text = help([c]);
      const usage = text.split('\n')[0];
      const start = man.indexOf(`.SS "${roff(usage)}"`);
      expect(start, `section for ${c}`).toBeGreaterThan(0);
      const end = man.indexOf('\n.S', start + 1);
      const section = man.slice(start, end);
      const flat = section.replace(/\n/g, ' ');
      // Option lines: `  -j, --jobs  text` or `      --json  text`; positionals: `  name  text`.
      const part = (title: string) => text.split(`${title}:\n`)[1]?.split('\n\n')[0] ?? '';
      for (const line of part('Options').split('\n')) {
        const m = /^\s+(?:-(\w), )?--([\w-]+)\s{2,}(\S+(?: \S+){0,3})/.exec(line);
        if (!m) continue;
        expect(section, `${c} --${m[2]}`).toContain(`\\fB\\-\\-${roff(m[2])}\\fR`);
        if (m[1]) expect(section, `${c} -${m[1]}`).toContain(`\\fB\\-${m[1]}\\fR, \\fB\\-\\-${roff(m[2])}\\fR`);
        expect(flat, `${c} --${m[2]} description`).toContain(roff(m[3]));
      }
      for (const line of part('Positionals').split('\n')) {
        const m = /^ {2}(\w+)\s{2,}(\S+(?: \S+){0,3})/.exec(line);
        if (!m) continue;
        expect(section, `${c} <${m[1]}>`).toContain(`\\fB${m[1]}\\fR`);
        expect(flat).toContain(roff(m[2]));
      }
    }
    // What a reader looks for first.
    expect(man).toMatch(/^\.TH CODADUMP 1 /m);
    expect(man).toContain('.SH EXIT STATUS\n.PP\nExit codes: 0 ok; 1 damage found or verification failed; 2 usage error or unusable input.');
  });

  it('parses continuation lines and annotations', () => {
    const p = parseHelp(
      'codadump x <a>\n\nDo x.\n\nPositionals:\n  a  the a                 [string] [required]\n\nOptions:\n  -o, --out   where\n              it goes      [string]\n      --force  replace     [boolean] [default: false]\n\nEpilogue one\ntwo.\n',
    );
    expect(p).toEqual({
      usage: 'codadump x <a>',
      description: ['Do x.'],
      sections: [
        { title: 'Positionals', entries: [{ name: 'a', text: 'the a', notes: ['[string]', '[required]'] }] },
        { title: 'Options', entries: [{ name: '-o, --out', text: 'where it goes', notes: ['[string]'] }, { name: '--force', text: 'replace', notes: ['[boolean]', '[default: false]'] }] },
      ],
      epilogue: ['Epilogue one two.'],
    });
  });

  it('is installed by the package', () => {
    expect(pkg.man).toEqual(['./man/codadump.1']);
    expect(pkg.files).toContain('man');
  });
});
