/** Library entry point for `redump`: regenerate dumps through a correct 64-bit append writer. */
export {
  redump, itemsToChunkItems, describeVerifyFailure, readBackGzip,
  type RedumpSource, type RedumpOptions, type RedumpResult, type RedumpProgress, type RedumpFailure, type RedumpGzip,
} from './redump.js';
export { appendChunks, emptyStats, type AppendStats, type AppendOptions, type ReceivedChunk32 } from './append.js';
export { CommandInput, describeStatus, STDERR_TAIL, type CommandStatus, type CommandInputOptions } from './exec.js';
export { ByteQueue } from './queue.js';
export { verifyStream, type StreamVerifyOptions } from './verify-stream.js';
export { syntheticDump, syntheticLayout, syntheticLength, noiseBuffer, type SyntheticFile, type SyntheticOptions } from './synthetic.js';
