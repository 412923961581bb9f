/**
 * The work of `lockbox export` and `lockbox snapshot` once their flags are read,
 * the same for both but for what they write: the output is opened (refusing an
 * existing file without --force) before the store, the archive goes to it under a progress bar
 * (committed on success, discarded on failure), then the summary is printed —
 * to stdout after --output FILE, to stderr when stdout holds the archive.
 */
import type { Lockbox } from '@lockbox/core';
import { openOutput, writeTo } from './bundle-io.js';
import type { Invocation } from './context.js';
import { withProgress } from './progress.js';

export type RecordProgress = (progress: { records: number; total: number }) => void;

export async function writeArchive<S extends object>(
  invocation: Invocation,
  target: { output?: string; force?: boolean },
  label: string,
  write: (
    lockbox: Lockbox,
    sink: WritableStream<Uint8Array>,
    onProgress: RecordProgress,
  ) => Promise<S>,
  describe: (summary: S, where: string) => string[],
): Promise<void> {
  const { output } = invocation;
  const destination = await openOutput(target.output, invocation, {
    force: target.force === true,
  });
  const lockbox = await invocation.open();
  const summary = await withProgress(
    { label, total: 0, stream: invocation.io.stderr },
    (progress) =>
      writeTo(destination, (sink) =>
        write(lockbox, sink, (p) => progress.update(p.records, p.total)),
      ),
  );
  const where = destination.path ?? 'stdout';
  if (destination.path === undefined) {
    output.note(output.json ? JSON.stringify(summary) : describe(summary, where).join('\n'));
    return;
  }
  output.result({ ...summary, output: destination.path }, (s) => describe(s, where));
}
