/**
 * `lockbox list [SCOPE]`: names, versions and dates — never values. Rows the
 * configured keys cannot open are listed as undecryptable instead of aborting;
 * with --verify every value is decrypted (and discarded) to prove it opens, and
 * any failure makes the exit code 3 after the full listing is printed.
 */
import type { ListedSecret } from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatTable } from '../output.js';

interface ListOptions {
  verify?: boolean;
}

function publicRecord(secret: ListedSecret) {
  return {
    scope: secret.scope,
    name: secret.name,
    version: secret.version,
    type: secret.type,
    metadata: secret.metadata,
    createdAt: secret.createdAt,
    updatedAt: secret.updatedAt,
    updatedBy: secret.updatedBy,
    status: secret.status,
    ...(secret.error === undefined ? {} : { error: secret.error }),
  };
}

export function registerList(program: Command, context: CliContext): void {
  program
    .command('list')
    .description('list secrets (names only, never values)')
    .argument('[scope]', 'only this scope')
    .option('--verify', 'decrypt every value to prove the configured keys open it')
    .action(async (scope: string | undefined, options: ListOptions, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const listed = await lockbox.secrets.list({
        ...(scope === undefined ? {} : { scope }),
        verify: options.verify === true,
      });
      const secrets = listed.map(publicRecord);
      invocation.output.result({ secrets }, () =>
        secrets.length === 0
          ? [scope === undefined ? 'no secrets' : `no secrets in scope ${scope}`]
          : formatTable(
              ['SCOPE', 'NAME', 'VERSION', 'UPDATED', 'STATUS'],
              secrets.map((s) => [
                s.scope,
                s.name,
                String(s.version),
                s.updatedAt,
                s.error === undefined ? s.status : `${s.status} (${s.error.code})`,
              ]),
            ),
      );
      const failed = secrets.filter((s) => s.status !== 'ok');
      if (failed.length > 0) {
        const message = `${failed.length} secret(s) cannot be decrypted with the configured keys; see \`lockbox status\``;
        if (options.verify === true) {
          invocation.output.error('SECRET_UNDECRYPTABLE', message);
          process.exitCode = EXIT.WRONG_KEY;
        } else {
          invocation.output.warn(message);
        }
      }
    });
}
