#!/usr/bin/env node
// Regenerates the generated parts of the docs from the built library and
// the test sources: the code table of docs/codes.md, and the verdict and
// code tables of docs/reliability.md and of the README (which tests pin each; the scan is
// test/contract/scan.mjs). Run `npm run docs` (builds first).
import { readFileSync, writeFileSync } from 'node:fs';
import { withCodesTable } from '../dist/diagnostics/table.js';
import { CODES } from '../dist/diagnostics/codes.js';
import { VERDICTS } from '../dist/diagnostics/verdict.js';
import { withContractTables } from '../test/contract/scan.mjs';

function regenerate(name, make) {
  const file = new URL(name === 'README.md' ? '../README.md' : `../docs/${name}`, import.meta.url);
  const before = readFileSync(file, 'utf8');
  const after = make(before);
  if (after !== before) writeFileSync(file, after);
  const shown = name === 'README.md' ? name : `docs/${name}`;
  console.log(after === before ? `${shown} is up to date` : `${shown} regenerated`);
}

regenerate('codes.md', withCodesTable);
regenerate('reliability.md', (doc) => withContractTables(doc, CODES, VERDICTS));
// The README carries the same tables (issue #15), folded away in a <details> block.
regenerate('README.md', (doc) => withContractTables(doc, CODES, VERDICTS));
