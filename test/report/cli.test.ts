/** verify --html and diagnose --html/--svg: outputs written atomically, never over a file without --force. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from '../helpers.js';

let t: { dir: string; cleanup: () => void };
beforeAll(() => {
  t = tempDir('codadump-page-cli-');
});
afterAll(() => t.cleanup());

const TRUNC = 'fixtures/pages/archive/2025-11-25/7f000101.u.alice';

describe('verify --html', () => {
  it('writes the page next to the usual output, exit code unchanged', () => {
    const page = join(t.dir, 'v.html');
    const r = run(['verify', '--log', 'fixtures/pages/archive/backup.log', 'fixtures/pages/archive', '--html', page]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('6 dumps: 2 ok, 4 damaged');
    const html = fs.readFileSync(page, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.match(/<td class="c /g)!.length).toBe(7); // six dumps on disk, one the log names that is missing
    expect(fs.readdirSync(t.dir).filter((f) => f.startsWith('v.html') || f.startsWith('.v.html'))).toEqual(['v.html']);
  });

  it('also with --json (stdout stays JSON)', () => {
    const page = join(t.dir, 'j.html');
    const r = run(['verify', '--json', TRUNC, '--html', page]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).summary.dumps).toBe(1);
    expect(fs.existsSync(page)).toBe(true);
  });

  it('refuses to replace a file without --force, before verifying', () => {
    const page = join(t.dir, 'keep.html');
    fs.writeFileSync(page, 'mine');
    const r = run(['verify', TRUNC, '--html', page]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`codadump: error: ${page}: ${page} already exists (use --force to replace it)\n`);
    expect(r.stdout).toBe('');
    expect(fs.readFileSync(page, 'utf8')).toBe('mine');
    expect(run(['verify', TRUNC, '--html', page, '--force']).code).toBe(1);
    expect(fs.readFileSync(page, 'utf8')).toContain('<table class="grid"');
  });

  it('leaves nothing behind when the verify itself fails', () => {
    const page = join(t.dir, 'none.html');
    const r = run(['verify', join(t.dir, 'no-such-dir'), '--html', page]);
    expect(r.code).toBe(2);
    expect(fs.readdirSync(t.dir).filter((f) => f.includes('none.html'))).toEqual([]);
  });
});

describe('diagnose --html / --svg', () => {
  it('writes both from one analysis', () => {
    const html = join(t.dir, 'd.html');
    const svg = join(t.dir, 'd.svg');
    const r = run(['diagnose', TRUNC, '--html', html, '--svg', svg]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(`${TRUNC}: truncated, 14793 bytes`);
    expect(fs.readFileSync(svg, 'utf8')).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(fs.readFileSync(html, 'utf8')).toContain(fs.readFileSync(svg, 'utf8').trimEnd());
  });

  it('one file for both is a usage error; an existing file needs --force', () => {
    const same = join(t.dir, 'same');
    let r = run(['diagnose', TRUNC, '--html', same, '--svg', same]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("codadump: --html and --svg must name different files\nTry 'codadump --help'.\n");
    expect(fs.existsSync(same)).toBe(false);
    const svg = join(t.dir, 'old.svg');
    fs.writeFileSync(svg, 'old');
    r = run(['diagnose', TRUNC, '--html', join(t.dir, 'new.html'), '--svg', svg]);
    expect(r.code).toBe(2);
    expect(fs.readFileSync(svg, 'utf8')).toBe('old');
    expect(fs.existsSync(join(t.dir, 'new.html'))).toBe(false);
    expect(fs.readdirSync(t.dir).filter((f) => f.includes('new.html'))).toEqual([]);
  });
});
