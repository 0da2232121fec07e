/** The file-system seam lives with the byte sources (source/fs.ts); re-exported for io/ and above. */
export * from '../source/fs.js';
