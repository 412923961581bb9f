/**
 * `lockbox init`: creates a store and its first master key.
 *
 * The key is generated here and either written to a 0600 key file (default
 * ./lockbox.key, or the configured key file, or --key-file) or printed once to
 * stdout for an environment variable (--print-key). `--existing-key` initialises
 * with the key already configured instead (LOCKBOX_MASTER_KEY, a key file, stdin).
 *
 * Order matters, so that a failure never leaves a store without its key:
 *   1. refuse an already initialised store (read-only check) and an existing key
 *      file (unless --force);
 *   2. write the key file;
 *   3. create the store — and if that fails, remove the key file just written.
 * With --print-key the key is printed only after the store exists.
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  connectStore,
  formatMasterKey,
  generateMasterKey,
  inspectStore,
  Keyring,
  keyringFromConfig,
  type Lockbox,
  LockboxError,
  parseDatabaseUrl,
  redactDatabaseUrl,
  writeMasterKeyFile,
} from '@lockbox/core';
import type { Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { nodeDrivers } from '../node-drivers.js';
import { createRecoveryIdentity, identityWarning } from './recovery.js';

interface InitOptions {
  keyFile?: string;
  printKey?: boolean;
  force?: boolean;
  existingKey?: boolean;
  recoveryIdentity?: string;
}

const LOSS_WARNING =
  'Keep the master key safe and backed up: losing it loses every secret in this store, ' +
  'until recovery is set up (see docs/backup-and-recovery.md).';

function recoveryLines(recipient: string | undefined): string[] {
  return recipient === undefined
    ? []
    : [`Recovery recipient: ${recipient} (every data key is also wrapped to it)`];
}

/** Read-only: throws STORE_ALREADY_INITIALIZED if the database already holds a store. */
async function refuseInitialisedStore(config: ResolvedConfig): Promise<void> {
  const parsed = parseDatabaseUrl(config.database);
  // Opening a missing SQLite file would create it; a missing file holds no store.
  if (parsed.dialect === 'sqlite' && !existsSync(parsed.target)) return;
  const store = connectStore(config.database, nodeDrivers);
  try {
    if ((await inspectStore(store)).initialised) {
      throw new LockboxError(
        'STORE_ALREADY_INITIALIZED',
        `${store.location} already holds a Lockbox store; nothing was changed`,
        { details: { location: store.location } },
      );
    }
  } finally {
    await store.close();
  }
}

export function registerInit(program: Command, context: CliContext): void {
  program
    .command('init')
    .description('create a store and generate its master key')
    .option('--key-file <path>', 'write the new master key here (default: ./lockbox.key)')
    .option('--print-key', 'print the new key once to stdout instead of writing a file')
    .option('--force', 'replace an existing key file (its old key is lost)')
    .option('--existing-key', 'use the master key already configured instead of generating one')
    .option(
      '--recovery-identity <file>',
      'also create a recovery identity in this file (0600); every data key is wrapped to it',
    )
    .action(async (options: InitOptions, command: Command) => {
      const invocation = context.invocation(command);
      const { output } = invocation;
      const config = await invocation.config();
      if (options.printKey === true && options.keyFile !== undefined) {
        throw new LockboxError('INVALID_ARGUMENT', 'give --print-key or --key-file, not both');
      }
      if (
        options.existingKey === true &&
        (options.printKey === true || options.keyFile !== undefined)
      ) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          '--existing-key uses the configured key; it cannot be combined with --print-key or --key-file',
        );
      }
      await refuseInitialisedStore(config);
      const recoveryFile =
        options.recoveryIdentity === undefined
          ? undefined
          : resolve(invocation.io.cwd, options.recoveryIdentity);
      if (recoveryFile !== undefined && existsSync(recoveryFile)) {
        throw new LockboxError(
          'KEY_FILE_EXISTS',
          `${recoveryFile} already exists; nothing was changed`,
          {
            details: { path: recoveryFile },
          },
        );
      }
      const addRecovery = async (lockbox: Lockbox) =>
        recoveryFile === undefined
          ? undefined
          : (await createRecoveryIdentity(lockbox, recoveryFile, { actor: invocation.actor }))
              .recipient;

      if (options.existingKey === true) {
        const keyring = await keyringFromConfig(config.keys);
        const lockbox = await invocation.open({ mode: 'create', keyring });
        const recoveryRecipient = await addRecovery(lockbox);
        output.result(
          {
            database: lockbox.vault.store.location,
            fingerprint: keyring.primary.fingerprint,
            keySource: config.primaryKeySource ?? null,
            ...(recoveryRecipient === undefined ? {} : { recoveryRecipient, recoveryFile }),
          },
          (r) => [
            `Created a Lockbox store at ${r.database}.`,
            `Master key fingerprint: ${r.fingerprint} (the configured key, from ${r.keySource})`,
            ...recoveryLines(recoveryRecipient),
            '',
            LOSS_WARNING,
          ],
        );
        if (recoveryFile !== undefined) output.note(identityWarning(recoveryFile));
        return;
      }

      if (
        config.primaryKeySource === 'LOCKBOX_MASTER_KEY' ||
        config.primaryKeySource === 'stdin' ||
        config.keys.primaryUri !== undefined
      ) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          `a master key is already configured (${config.primaryKeySource}); pass --existing-key to initialise with it, or unset it to generate a new one`,
        );
      }
      const keyFile =
        options.printKey === true
          ? undefined
          : options.keyFile !== undefined
            ? resolve(invocation.io.cwd, options.keyFile)
            : config.keyFile;
      if (keyFile !== undefined && options.force !== true && existsSync(keyFile)) {
        throw new LockboxError(
          'KEY_FILE_EXISTS',
          `${keyFile} already exists; pass --existing-key to initialise with the key in it, --key-file for another path, or --force to replace it (its key is then lost)`,
          { details: { path: keyFile } },
        );
      }

      const key = generateMasterKey();
      try {
        const keyring = Keyring.fromBytes(key);
        if (keyFile !== undefined) {
          await writeMasterKeyFile(keyFile, key, { force: options.force === true });
        }
        let lockbox: Lockbox;
        try {
          lockbox = await invocation.open({ mode: 'create', keyring });
        } catch (err) {
          // The store was not created, so the key just written protects nothing.
          if (keyFile !== undefined && options.force !== true) {
            await unlink(keyFile).catch(() => undefined);
          }
          throw err;
        }
        // Recovery (an age recipient every data key is also wrapped to), once the
        // store exists and before the loss warning is printed.
        const recoveryRecipient = await addRecovery(lockbox);
        const recoveryNote = () => {
          if (recoveryFile !== undefined) output.note(identityWarning(recoveryFile));
        };

        const database = redactDatabaseUrl(config.database);
        if (options.printKey === true) {
          output.result(
            { database, fingerprint: keyring.primary.fingerprint, masterKey: formatMasterKey(key) },
            (r) => r.masterKey,
          );
          output.note(
            [
              `Created a Lockbox store at ${database}; master key fingerprint ${keyring.primary.fingerprint}.`,
              'The key above is shown only this once and was not written anywhere.',
              'Put it in LOCKBOX_MASTER_KEY (for example in your secret manager).',
              ...recoveryLines(recoveryRecipient),
              LOSS_WARNING,
            ].join('\n'),
          );
          recoveryNote();
          return;
        }
        output.result(
          {
            database,
            fingerprint: keyring.primary.fingerprint,
            keyFile,
            ...(recoveryRecipient === undefined ? {} : { recoveryRecipient, recoveryFile }),
          },
          (r) => [
            `Created a Lockbox store at ${r.database}.`,
            `Master key fingerprint: ${r.fingerprint}`,
            `Master key written to ${r.keyFile} (mode 0600).`,
            ...recoveryLines(recoveryRecipient),
            '',
            LOSS_WARNING,
          ],
        );
        recoveryNote();
      } finally {
        key.fill(0);
      }
    });
}
