/** DumpError lives in the findings layer; re-exported here for the format modules. */
export { DumpError, ioError, isDumpError, type ErrorCode } from '../diagnostics/errors.js';
