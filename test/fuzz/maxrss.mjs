// Preloaded (node --import) into a CLI run by test/fuzz/limits.test.ts: at exit, write the
// process's peak resident set size (KiB) to the file CODADUMP_MAXRSS_FILE names. Test-only;
// the library never reads this variable.
import { writeFileSync } from 'node:fs';

const file = process.env.CODADUMP_MAXRSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
