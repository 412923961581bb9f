/**
 * `lockbox recover --identity FILE`: the lost-master-key path. Unwraps every
 * data key with the offline recovery identity and rewraps it under a new master
 * key, without the old one (the store is opened without the startup key check).
 * The old key opens nothing afterwards.
 *
 * The new key comes from --new-key-file (an existing 0600 key file),
 * --new-key-env NAME, or --generate-key FILE (a fresh key written 0600; removed
 * again if the recovery is refused). Nothing is changed on any refusal.
 */
import { unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  generateMasterKey,
  LockboxError,
  masterKeyFromEnv,
  masterKeyFromFile,
  Recovery,
  readSecretFile,
  writeMasterKeyFile,
} from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { nodeDrivers } from '../node-drivers.js';
import { withProgress } from '../progress.js';

interface RecoverFlags {
  identity: string;
  newKeyFile?: string;
  newKeyEnv?: string;
  generateKey?: string;
}

export function registerRecover(program: Command, context: CliContext): void {
  program
    .command('recover')
    .description(
      'rebuild access with the recovery identity and a new master key (the old key is lost)',
    )
    .requiredOption('-i, --identity <file>', 'the recovery identity file (0600)')
    .option('--new-key-file <path>', 'the new master key, in an existing 0600 key file')
    .option('--new-key-env <name>', 'the new master key, in this environment variable')
    .option('--generate-key <file>', 'generate the new master key and write it to this file (0600)')
    .action(async (flags: RecoverFlags, command: Command) => {
      const invocation = context.invocation(command);
      const { cwd, env } = invocation.io;
      const sources = [flags.newKeyFile, flags.newKeyEnv, flags.generateKey].filter(
        (s) => s !== undefined,
      );
      if (sources.length !== 1) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          'give exactly one of --new-key-file, --new-key-env and --generate-key',
        );
      }
      const config = await invocation.config();
      const identityBytes = await readSecretFile(resolve(cwd, flags.identity));
      const identity = identityBytes.toString('utf8');
      identityBytes.fill(0);
      const generated =
        flags.generateKey === undefined ? undefined : resolve(cwd, flags.generateKey);
      let newKey: Buffer;
      if (generated !== undefined) {
        newKey = generateMasterKey();
        await writeMasterKeyFile(generated, newKey);
      } else if (flags.newKeyFile !== undefined) {
        newKey = await masterKeyFromFile(resolve(cwd, flags.newKeyFile));
      } else {
        newKey = masterKeyFromEnv(flags.newKeyEnv as string, env);
      }
      try {
        const summary = await withProgress(
          { label: 'recovering', total: 0, stream: invocation.io.stderr },
          (progress) =>
            Recovery.recoverStore({
              database: config.database,
              drivers: nodeDrivers,
              identity,
              newKey,
              actor: invocation.actor,
              onProgress: (p) => progress.update(p.dataKeys, p.total),
            }),
        );
        invocation.output.result(
          { ...summary, ...(generated === undefined ? {} : { keyFile: generated }) },
          (s) => [
            `Recovered ${s.dataKeys} data key(s) with the recovery identity (${s.verified} proven against a secret).`,
            `New master key fingerprint: ${s.newFingerprint}${generated === undefined ? '' : ` (written to ${generated}, mode 0600)`}`,
            `Retired: ${s.retiredFingerprints.length === 0 ? 'none' : s.retiredFingerprints.join(', ')} — the old key opens nothing now.`,
            'Point LOCKBOX_MASTER_KEY_FILE (or your config) at the new key and restart every instance.',
            'The recovery identity still recovers this store; keep it offline.',
            ...(s.audited ? [] : ['warning: the recovery could not be recorded in the audit log']),
          ],
        );
      } catch (err) {
        // The new key protects nothing if the recovery was refused.
        if (generated !== undefined) await unlink(generated).catch(() => undefined);
        throw err;
      } finally {
        newKey.fill(0);
      }
    });
}
