/**
 * codadump as a library: the package's one entry (`import ... from 'codadump'`).
 *
 * Everything here is stable API; modules not exported here are internal
 * (the package's `exports` map makes this file the only way in, besides
 * `codadump/cli`). Importing it has no global side effects: no process
 * hooks, no environment read. Work still pending when the process exits
 * (temporary output files, dump commands of redump) is undone only if the
 * program asks: `process.on('exit', runExitCleanups)`, as the CLI does.
 *
 * Failures caused by input are thrown as DumpError (a `code` from CODES, a
 * message, the byte `offset` and `file` where known); damage that does not
 * stop the work is reported as Finding objects in the results.
 */

// --- findings: the one vocabulary -------------------------------------------
export {
  CODES, isCode, finding, vnodeKey, byOffset, DumpError, isDumpError, VERDICTS, verdictOf,
  type Area, type Code, type CodeInfo, type Severity, type Finding, type FindingOptions, type ErrorCode, type Verdict,
} from './diagnostics/index.js';

// --- open and read a dump ---------------------------------------------------
export { openDump, openSource, dumpFromStream } from './format/open.js';
export { DumpReader, type ReaderOptions } from './format/reader.js';
export { summarizeDump, type DumpSummary, type VnodeSummary, type IndexSummary } from './format/summary.js';
export { listDump, type Listing, type ListEntry } from './format/listing.js';
export { displayString } from './format/types.js';
export type {
  DumpRecord, DumpHeader, VolumeData, IndexHeader, IndexClass, Vnode, VnodeData, RmVnode, NullVnode, DumpEnd, Trailing, VersionVector,
} from './format/types.js';
export type { DumpItem } from './format/items.js';
export type { ByteSource } from './io/source.js';

// --- verify a file, a stream or an archive ---------------------------------
export { verifyFile, verifySource, type VerifyOptions, type VerifyResult } from './check/verify.js';
export { verifyArchive, type ArchiveOptions, type ArchiveReport, type DumpReport } from './check/archive.js';
export { parseBackupLog, readBackupLog, type LogEntry } from './check/backup-log.js';

// --- diagnose and repair -----------------------------------------------------
export { diagnoseFile, type DiagnoseOptions, type Analysis, type WrapModel } from './diagnose/diagnose.js';
export { diagnosisJson, diagnosisText } from './diagnose/report.js';
export { resolveDeclared, parseDeclared } from './diagnose/declared.js';
export { repairFile, type RepairOptions, type RepairReport } from './repair/repair.js';

// --- operations ---------------------------------------------------------------
export { packDirectory, type PackFileOptions, type PackFileResult } from './pack/pack-file.js';
export { packTree, type PackOptions } from './pack/pack.js';
export { writeDumpFile, type WriteResult } from './io/write-dump.js';
export { mergeDumps, type MergeResult } from './merge/merge.js';
export { extractDump, type ExtractOptions, type ExtractResult } from './extract/extract.js';
export { redump, type RedumpSource, type RedumpOptions, type RedumpResult, type RedumpProgress, type RedumpFailure } from './redump/redump.js';
export { simulateFile, type SimulateOptions, type SimulateResult, type Outcome } from './simulate/simulate.js';
export type { ReceiverModel } from './io/receivers.js';

// --- outputs and the process ---------------------------------------------------
export { AtomicOutput, type AtomicOutputOptions } from './io/atomic-output.js';
export { runExitCleanups } from './io/exit-cleanup.js';
