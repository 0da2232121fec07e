/**
 * `--manifest FILE` on the commands that write dumps: append the entry of
 * what they wrote to a fixity manifest. The manifest code (and the checker
 * it verifies with) is loaded only when the option is given: a run without
 * it does not pay for loading it.
 */

export const manifestOption = {
  type: 'string',
  requiresArg: true,
  describe: 'add the written dump (size, SHA-256, per-file digests) to this fixity manifest (see verify --against)',
} as const;

/** Record OUT in the manifest, if one was asked for and OUT was written. */
export async function recordOutput(manifest: string | undefined, output: string): Promise<void> {
  if (manifest) await (await import('../../archive/manifest.js')).recordDump(manifest, output);
}
