#!/usr/bin/env node
// Regenerates the generated parts of the docs from the built library:
// the code table of docs/codes.md. Run `npm run docs` (builds first).
import { readFileSync, writeFileSync } from 'node:fs';
import { withCodesTable } from '../dist/diagnostics/table.js';

const file = new URL('../docs/codes.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withCodesTable(before);
if (after !== before) writeFileSync(file, after);
console.log(after === before ? 'docs/codes.md is up to date' : 'docs/codes.md regenerated');
