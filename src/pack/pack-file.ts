/**
 * `pack` as one call: walk a directory tree and write a full dump of it, or
 * an incremental one against a base dump, to a file (atomically).
 */
import { writeDumpFile } from '../io/write-dump.js';
import type { HeaderFields } from '../format/encoder.js';
import { checkOutputNotBase, incrementalItems, planIncremental, type IncrementalStats } from './incremental.js';
import { packTree, type PackOptions } from './pack.js';
import { walkTree } from './tree.js';

export interface PackFileOptions extends PackOptions {
  /** Replace an existing output file. */
  force?: boolean;
  /** Write gzip (also when the output name ends in .gz). */
  gzip?: boolean;
  /** Write an incremental dump against this full dump of an earlier state of the tree (ids and name default to its own). */
  incrementalFrom?: string;
  /** A compressed base is decoded once into a temporary file here (default os.tmpdir()). */
  tmpdir?: string;
  /** A shell command that decodes a base that is not a raw dump. */
  decompressWith?: string;
  /** Called for each entry left out (not a file, directory or symbolic link), once the tree was walked and before anything is written. */
  onSkipped?: (path: string) => void;
}

export interface PackFileResult {
  output: string;
  /** Bytes written. */
  bytes: number;
  /** Directories and files (with symbolic links) in the tree. */
  dirs: number;
  files: number;
  /** Entries that are not a file, directory or symbolic link (binary strings, relative paths): left out. */
  skipped: string[];
  /** With incrementalFrom: the dump header written and what changed against the base. */
  incremental?: { base: string; header: HeaderFields; stats: IncrementalStats };
}

export async function packDirectory(dir: string, output: string, opts: PackFileOptions = {}): Promise<PackFileResult> {
  const { force, gzip, incrementalFrom, onSkipped, tmpdir, decompressWith, ...packOpts } = opts;
  const layout = await walkTree(dir);
  if (onSkipped) for (const p of layout.skipped) onSkipped(p);
  const common = { output, dirs: layout.dirCount, files: layout.fileCount, skipped: layout.skipped };
  if (incrementalFrom !== undefined) {
    checkOutputNotBase(output, incrementalFrom);
    const plan = await planIncremental(dir, incrementalFrom, packOpts, layout, { tmpdir, decompressWith });
    const res = await writeDumpFile(output, incrementalItems(plan), { force, gzip });
    return { ...common, bytes: res.bytes, incremental: { base: incrementalFrom, header: plan.header, stats: plan.stats } };
  }
  const res = await writeDumpFile(output, packTree(dir, packOpts, layout), { force, gzip });
  return { ...common, bytes: res.bytes };
}
