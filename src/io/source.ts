/** The byte sources moved below format/ and io/ (src/source/); re-exported here for old import paths. */
export type { ByteSource } from '../source/byte-source.js';
export { FileSource, type FileSourceOptions } from '../source/file.js';
export { StreamSource, type StreamSourceOptions } from '../source/stream.js';
