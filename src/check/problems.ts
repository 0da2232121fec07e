/**
 * verify's findings are the house's findings: `Problem` is the one `Finding`
 * shape (src/diagnostics), and verdicts are decided there.
 */
export type { DumpFinding as Problem, Severity } from '../diagnostics/finding.js';
export { VERDICTS, verdictOf, type Verdict } from '../diagnostics/verdict.js';
