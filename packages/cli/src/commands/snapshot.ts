/**
 * `lockbox snapshot`: writes the store's wrapped data keys, field registrations
 * and ciphertexts — nothing decrypted — for moving the store to another database
 * under the same master key (`lockbox restore` there). age-encrypted like a
 * bundle (names and metadata are visible in a snapshot); --unencrypted writes
 * plain JSON lines, on request only.
 */
import { LockboxError, type SnapshotSummary } from '@lockbox/core';
import type { Command } from 'commander';
import { type EncryptionFlags, encryptionFrom, encryptionOptions } from '../bundle-io.js';
import type { CliContext } from '../context.js';
import { writeArchive } from '../write-archive.js';

interface SnapshotFlags extends EncryptionFlags {
  output?: string;
  force?: boolean;
  unencrypted?: boolean;
}

function describe(s: SnapshotSummary, where: string): string[] {
  return [
    `Wrote a snapshot of ${s.counts.secrets} secret(s), ${s.counts.dataKeys} data key(s) and ${s.counts.fields} field(s) to ${where} (${s.encrypted ? 'age-encrypted' : 'NOT encrypted'}, ${s.bytes} bytes).`,
    `Restoring it needs master key(s): ${s.masterFingerprints.length === 0 ? 'none' : s.masterFingerprints.join(', ')}`,
  ];
}

export function registerSnapshot(program: Command, context: CliContext): void {
  encryptionOptions(
    program
      .command('snapshot')
      .description(
        'copy the store without decrypting (wrapped keys and ciphertexts) to --output FILE or stdout',
      )
      .option(
        '-o, --output <file>',
        'write the snapshot here (0600, atomically) instead of stdout',
      ),
  )
    .option(
      '--unencrypted',
      'write plain JSON lines (holds no plaintext, but names and metadata are visible)',
    )
    .option('--force', 'replace an existing output file')
    .action(async (flags: SnapshotFlags, command: Command) => {
      const invocation = context.invocation(command);
      const encrypted =
        (flags.recipient?.length ?? 0) + (flags.recipientFile?.length ?? 0) > 0 ||
        flags.passphraseStdin === true ||
        flags.passphraseEnv !== undefined;
      if (flags.unencrypted === true && encrypted) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          '--unencrypted cannot be combined with a recipient or passphrase',
        );
      }
      const encryption =
        flags.unencrypted === true ? 'none' : await encryptionFrom(flags, invocation);
      await writeArchive(
        invocation,
        flags,
        'snapshot',
        (lockbox, sink, onProgress) =>
          lockbox.backup.snapshot(sink, { encryption, actor: invocation.actor, onProgress }),
        describe,
      );
    });
}
