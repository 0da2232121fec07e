/**
 * The layer rule (docs/design-layers.md): an import in src/ never runs up a
 * layer. This test reads every import of every module under src/ (static
 * `import ... from`, `export ... from`, bare `import '...'` and dynamic
 * `import('...')`) and fails on an arrow from a lower layer to a higher one,
 * on a folder it does not know, and on a cycle between folders.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const SRC = join(ROOT, 'src');

/**
 * Layers, bottom up. Folders on one rank may import each other (the
 * operations use one another: redump packs a tree), but not in a cycle.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['diagnostics'], // findings: codes, Finding, DumpError, verdicts
  ['source'], // byte sources: files, streams, decompressors, containers, the content sniffer
  ['dir', 'acl'], // directory pages and access lists: bytes <-> records, nothing of the dump stream
  ['format'], // the dump stream: bytes <-> records
  ['io'], // byte sources, atomic output, chunkers, receivers, writers
  ['check'], // verify a dump, an archive, a backup log
  ['diagnose'], // explain damage (wraparound, resync)
  ['repair'], // salvage into a new dump
  ['pack', 'merge', 'extract', 'redump', 'simulate', 'archive', 'report'], // operations
  ['cli'], // argument parsing and rendering
  ['index'], // src/index.ts, the package's one entry: anything below cli
];

/** Known upward arrows, each with the reason it is tolerated: none. */
const ALLOWED_UPWARD: readonly string[] = [];

function rankOf(layer: string): number {
  return LAYERS.findIndex((l) => l.includes(layer));
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

/** Every module specifier a source file imports (comments are not code). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/[^\n]*/g, '$1');
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g, // import x from '...', export { y } from '...', import type ...
    /\bimport\s*['"]([^'"]+)['"]/g, // import '...'
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('...')
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[1]);
  return specs;
}

/** `format/open.ts` for src/format/open.ts; `index.ts` for src/index.ts. */
const rel = (file: string): string => relative(SRC, file).split(/[\\/]/).join('/');
const layerOf = (srcRel: string): string => (srcRel.includes('/') ? srcRel.slice(0, srcRel.indexOf('/')) : srcRel.replace(/\.ts$/, ''));

interface Arrow {
  from: string;
  to: string;
}

function arrows(): Arrow[] {
  const out: Arrow[] = [];
  for (const file of sources(SRC)) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue; // node: built-ins and packages
      const target = posix.normalize(posix.join(rel(dirname(file)) || '.', spec)).replace(/\.js$/, '.ts');
      out.push({ from: rel(file), to: target });
    }
  }
  return out;
}

describe('layers', () => {
  const all = arrows();

  it('reads the imports (the parser sees static, type-only, re-exports and dynamic imports)', () => {
    expect(importsOf(`import { a } from './a.js';\nimport type {\n  B,\n} from '../b/b.js';\nexport { c } from "./c.js";\nimport './d.js';\nconst e = await import('../e/e.js');\n// import { x } from './commented.js';\n/* import y from './block.js'; */`)).toEqual(
      ['./a.js', '../b/b.js', './c.js', './d.js', '../e/e.js'],
    );
    expect(all.length).toBeGreaterThan(200);
    expect(all).toContainEqual({ from: 'cli/main.ts', to: 'cli/commands/verify.ts' }); // dynamic
    expect(all).toContainEqual({ from: 'format/errors.ts', to: 'diagnostics/errors.ts' }); // re-export
  });

  it('every folder of src/ has a layer', () => {
    const unknown = [...new Set(all.flatMap((a) => [a.from, a.to]).map(layerOf))].filter((l) => rankOf(l) < 0);
    expect(unknown).toEqual([]);
  });

  it('no import runs up a layer (except the listed ones)', () => {
    const upward = all
      .filter((a) => rankOf(layerOf(a.from)) < rankOf(layerOf(a.to)))
      .map((a) => `${a.from} -> ${a.to}`);
    expect([...new Set(upward)].sort()).toEqual([...ALLOWED_UPWARD].sort());
  });

  it('src/index.ts, the package entry, exports the library only (nothing of cli/)', () => {
    const fromIndex = all.filter((a) => a.from === 'index.ts');
    expect(fromIndex.length).toBeGreaterThan(10);
    expect(fromIndex.filter((a) => layerOf(a.to) === 'cli')).toEqual([]);
  });

  it('no cycle between folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const a of all) {
      const f = layerOf(a.from);
      const t = layerOf(a.to);
      if (f === t || ALLOWED_UPWARD.includes(`${a.from} -> ${a.to}`)) continue;
      if (!edges.has(f)) edges.set(f, new Set());
      edges.get(f)!.add(t);
    }
    const cycles: string[] = [];
    const reach = (from: string, to: string, seen = new Set<string>()): boolean => {
      for (const n of edges.get(from) ?? []) {
        if (n === to) return true;
        if (!seen.has(n)) {
          seen.add(n);
          if (reach(n, to, seen)) return true;
        }
      }
      return false;
    };
    for (const [f, ts] of edges) for (const t of ts) if (reach(t, f)) cycles.push(`${f} -> ${t}`);
    expect(cycles.sort()).toEqual([]);
  });
});
