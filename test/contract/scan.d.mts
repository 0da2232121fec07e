/** Types for scan.mjs (plain ESM so `npm run docs` runs it without a build step). */
export declare function pinnedBy(names: readonly string[]): Map<string, string[]>;
export declare function contractRowStart(code: string, info: { area: string; severity: string }): string;
export declare const CONTRACT_BEGIN: string;
export declare const CONTRACT_END: string;
export declare function contractTables(codes: Record<string, { area: string; severity: string }>, verdicts: readonly string[]): string;
export declare function withContractTables(doc: string, codes: Record<string, { area: string; severity: string }>, verdicts: readonly string[]): string;
