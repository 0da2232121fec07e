/** Types for engine.mjs (plain ESM so `npm run fuzz` runs it without a build step). */
export declare const ROOT: string;
export declare const BIN: string;
export declare const GOOD: { full: string; incremental: string };
export interface Base {
  name: string;
  bytes: Buffer;
}
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}
export interface CaseFailure {
  command: string;
  args: string[];
  problems: string[];
  code: number | null;
  stderr: string;
}
export interface CaseResult {
  base: string;
  mutations: string[];
  size: number;
  failures: CaseFailure[];
  commands: number;
}
export declare function prng(seed: number): () => number;
export declare function caseSeed(seed: number, index: number): number;
export declare function mutateOnce(rnd: () => number, b: Buffer, others: Buffer[]): { bytes: Buffer; desc: string };
export declare function mutate(rnd: () => number, base: Buffer, others: Buffer[]): { bytes: Buffer; desc: string[] };
export declare function runCli(args: string[], opts?: { cwd?: string; input?: Buffer; timeoutMs?: number; env?: Record<string, string>; nodeArgs?: string[] }): Promise<CliRun>;
export declare function judge(r: CliRun): string[];
export declare function commands(f: string, w: string, good: { full: string; incremental: string }): { name: string; args: string[]; stdin?: boolean }[];
export declare function bases(dir: string): Promise<Base[]>;
export declare function runCase(o: {
  seed: number;
  index: number;
  bases: Base[];
  work: string;
  keep?: string;
  concurrency?: number;
  timeoutMs?: number;
  only?: string[];
  except?: string[];
}): Promise<CaseResult>;
