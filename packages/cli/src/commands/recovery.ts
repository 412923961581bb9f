/**
 * `lockbox recovery add|replace`: sets the recovery recipient (an age X25519
 * public key) and wraps every data key to it, so the store survives losing its
 * master key (`lockbox recover`). `--generate FILE` creates the identity here
 * (0600) and stores only its public recipient.
 *
 * `add` with the recipient already set fills gaps (keys made by instances that
 * did not know it yet); `replace` rewraps everything for a new recipient, after
 * which the old identity recovers nothing.
 */

import { unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  generateAgeIdentity,
  type Lockbox,
  LockboxError,
  parseAgeRecipient,
  type RecoveryChange,
  writeAgeIdentityFile,
} from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext, Invocation } from '../context.js';

interface RecoveryFlags {
  generate?: string;
  force?: boolean;
}

/** What to tell whoever just received a recovery identity file. */
export function identityWarning(path: string): string {
  return [
    `Recovery identity written to ${path} (mode 0600). Lockbox stored only its public key.`,
    'MOVE IT OFFLINE NOW (a password manager, a safe, an encrypted USB key) and delete it from this machine:',
    'with it and a copy of the database, anyone can decrypt every secret. Without it, a lost master key is unrecoverable.',
  ].join('\n');
}

/**
 * Generates a recovery identity, writes it to `path` (0600; KEY_FILE_EXISTS unless
 * force) and makes its recipient the store's recovery recipient. If setting the
 * recipient fails, the identity file is removed again.
 */
export async function createRecoveryIdentity(
  lockbox: Lockbox,
  path: string,
  options: { replace?: boolean; force?: boolean; actor?: Invocation['actor'] } = {},
): Promise<RecoveryChange> {
  const pair = await generateAgeIdentity();
  await writeAgeIdentityFile(path, pair.identity, { force: options.force === true });
  try {
    const actor = options.actor === undefined ? {} : { actor: options.actor };
    return options.replace === true
      ? await lockbox.recovery.replace(pair.recipient, actor)
      : await lockbox.recovery.add(pair.recipient, actor);
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
}

function register(program: Command, context: CliContext, replace: boolean): void {
  const verb = replace ? 'replace' : 'add';
  program
    .command(verb)
    .description(
      replace
        ? 'replace the recovery recipient and rewrap every data key for it'
        : 'set the recovery recipient and wrap every data key to it',
    )
    .argument('[recipient]', 'the age1… public key (from age-keygen), unless --generate')
    .option(
      '--generate <file>',
      'create a new recovery identity in this file (0600) and use its public key',
    )
    .option('--force', 'with --generate: replace an existing identity file')
    .action(async (recipientArg: string | undefined, flags: RecoveryFlags, command: Command) => {
      const invocation = context.invocation(command);
      if ((recipientArg === undefined) === (flags.generate === undefined)) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          'give a recipient or --generate FILE (one of them)',
        );
      }
      const recipient = recipientArg === undefined ? undefined : parseAgeRecipient(recipientArg);
      const lockbox = await invocation.open();
      const path =
        flags.generate === undefined ? undefined : resolve(invocation.io.cwd, flags.generate);
      const change =
        path === undefined
          ? replace
            ? await lockbox.recovery.replace(recipient as string, { actor: invocation.actor })
            : await lockbox.recovery.add(recipient as string, { actor: invocation.actor })
          : await createRecoveryIdentity(lockbox, path, {
              replace,
              force: flags.force === true,
              actor: invocation.actor,
            });
      invocation.output.result(
        { ...change, ...(path === undefined ? {} : { identityFile: path }) },
        (c) => [
          `Recovery recipient: ${c.recipient}${c.previous === undefined ? '' : ` (replaced ${c.previous}; that identity no longer recovers this store)`}`,
          `Wrapped ${c.rewrapped} of ${c.dataKeys} data key(s) to it; every new data key is wrapped too.`,
        ],
      );
      if (path !== undefined) invocation.output.note(identityWarning(path));
    });
}

export function registerRecovery(program: Command, context: CliContext): void {
  const recovery = program
    .command('recovery')
    .description('manage the recovery recipient that lets the store survive a lost master key');
  register(recovery, context, false);
  register(recovery, context, true);
}
