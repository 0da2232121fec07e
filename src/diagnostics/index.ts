/** The findings layer: one vocabulary of codes, one finding shape, verdicts. Imports nothing above it. */
export { CODES, isCode, type Area, type Code, type CodeInfo, type Severity } from './codes.js';
export { byOffset, finding, vnodeKey, type DumpFinding, type Finding, type FindingOptions } from './finding.js';
export { DumpError, ioError, isDumpError, type ErrorCode } from './errors.js';
export { VERDICTS, verdictOf, type Verdict } from './verdict.js';
