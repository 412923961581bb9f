/**
 * `lockbox keygen`: a new master key — 32 bytes from the operating system's
 * CSPRNG — for a rotation (`rotate master --new-key-file`), for staging on
 * several instances, or for a secret manager.
 *
 * The key goes to a 0600 key file (atomically; never readable by others, not
 * even for an instant; an existing file is never replaced without --force), and
 * the command prints its fingerprint. Default file: ./lockbox-<fingerprint>.key,
 * so two runs never collide. The key itself is printed only when asked:
 * `--output -` writes it to stdout (for a pipe into a secret manager) and nothing
 * to disk. No store is opened.
 *
 * `--pkcs11 URI` instead creates the key inside a PKCS#11 token (non-extractable,
 * sensitive; core's generatePkcs11MasterKey) and prints its fingerprint; the key's
 * bytes exist nowhere else, so there is no file and no `--output`.
 */
import { resolve } from 'node:path';
import {
  fingerprint,
  formatMasterKey,
  generateMasterKey,
  generatePkcs11MasterKey,
  LockboxError,
  writeMasterKeyFile,
} from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

interface KeygenOptions {
  output?: string;
  force?: boolean;
  pkcs11?: string;
}

export function registerKeygen(program: Command, context: CliContext): void {
  program
    .command('keygen')
    .description('generate a master key into a 0600 key file and print its fingerprint')
    .option(
      '--output <file>',
      'the key file to write (default ./lockbox-<fingerprint>.key); "-" prints the key to stdout instead',
    )
    .option('--force', 'replace an existing file (its key is lost)')
    .option(
      '--pkcs11 <uri>',
      'create the key inside the PKCS#11 token the URI names (non-extractable; no file)',
    )
    .action(async (options: KeygenOptions, command: Command) => {
      const invocation = context.invocation(command);
      const { output } = invocation;
      if (options.pkcs11 !== undefined) {
        if (options.output !== undefined || options.force === true) {
          throw new LockboxError(
            'INVALID_ARGUMENT',
            '--pkcs11 creates the key on the token: --output and --force do not apply',
          );
        }
        const key = await generatePkcs11MasterKey(options.pkcs11, invocation.io.env);
        output.result({ fingerprint: key.fingerprint, uri: key.uri }, (r) => [
          `Master key created on the token as ${r.uri} (non-extractable, sensitive).`,
          `Fingerprint: ${r.fingerprint}`,
        ]);
        return;
      }
      if (options.output === '-' && options.force === true) {
        throw new LockboxError('INVALID_ARGUMENT', '--force applies to a file, not to --output -');
      }
      const key = generateMasterKey();
      try {
        const fp = fingerprint(key);
        if (options.output === '-') {
          output.result({ fingerprint: fp, masterKey: formatMasterKey(key) }, (r) => r.masterKey);
          output.note(
            `master key fingerprint ${fp}; the key above was written nowhere else: store it now`,
          );
          return;
        }
        const file = resolve(invocation.io.cwd, options.output ?? `lockbox-${fp}.key`);
        await writeMasterKeyFile(file, key, { force: options.force === true });
        output.result({ fingerprint: fp, file }, (r) => [
          `Master key written to ${r.file} (mode 0600).`,
          `Fingerprint: ${r.fingerprint}`,
        ]);
      } finally {
        key.fill(0);
      }
    });
}
