/**
 * `lockbox restore FILE`: restores a snapshot into the configured store, which
 * must be initialised (`lockbox init --existing-key`) and hold no secrets. The
 * configured keyring must hold the master keys the snapshot names; every data key
 * and ciphertext is proven before anything is committed, so a refusal writes nothing.
 */
import type { RestoreSummary } from '@lockbox/core';
import type { Command } from 'commander';
import {
  type DecryptionFlags,
  decryptionFrom,
  decryptionOptions,
  openInput,
  parseSize,
} from '../bundle-io.js';
import type { CliContext } from '../context.js';
import { withProgress } from '../progress.js';

interface RestoreFlags extends DecryptionFlags {
  maxSize?: string;
}

function describe(s: RestoreSummary): string[] {
  const recovery = {
    rewrapped: "every data key was rewrapped to this store's recovery recipient",
    adopted: "the snapshot's recovery recipient was adopted",
    none: 'no recovery recipient is set (see lockbox recovery add)',
  }[s.recovery];
  return [
    `Restored ${s.counts.secrets} secret(s), ${s.counts.dataKeys} data key(s) and ${s.counts.fields} field(s) from store ${s.sourceStoreId} (snapshot of ${s.createdAt}).`,
    `Recovery: ${recovery}.`,
  ];
}

export function registerRestore(program: Command, context: CliContext): void {
  decryptionOptions(
    program
      .command('restore')
      .description('restore a snapshot into this (empty) store; needs the same master key(s)')
      .argument('<file>', 'the snapshot, or - for stdin'),
  )
    .option('--max-size <bytes>', 'refuse snapshots larger than this (default 512M)')
    .action(async (file: string, flags: RestoreFlags, command: Command) => {
      const invocation = context.invocation(command);
      const encrypted =
        (flags.identity?.length ?? 0) > 0 ||
        flags.passphraseStdin === true ||
        flags.passphraseEnv !== undefined;
      const decryption = encrypted ? await decryptionFrom(flags, invocation) : undefined;
      const input = await openInput(file, invocation, flags);
      const lockbox = await invocation.open();
      const summary = await withProgress(
        { label: 'restoring', total: 0, stream: invocation.io.stderr },
        (progress) =>
          lockbox.backup.restore(input.stream, {
            ...(decryption === undefined ? {} : { decryption }),
            ...(flags.maxSize === undefined ? {} : { maxBytes: parseSize(flags.maxSize) }),
            actor: invocation.actor,
            onProgress: (p) => progress.update(p.records, p.total),
          }),
      );
      invocation.output.result(summary, describe);
    });
}
