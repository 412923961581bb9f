/**
 * `lockbox get SCOPE NAME`: prints one secret's value to stdout — the one
 * command (with `env`) whose purpose is to reveal a value.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

interface GetOptions {
  newline: boolean;
}

export function registerGet(program: Command, context: CliContext): void {
  program
    .command('get')
    .description('print a secret value to stdout (followed by a newline)')
    .argument('<scope>', 'the scope, for example prod or user:42')
    .argument('<name>', 'the secret name')
    .option('-n, --no-newline', 'do not print a newline after the value')
    .action(async (scope: string, name: string, options: GetOptions, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const secret = await lockbox.secrets.read(scope, name, { actor: invocation.actor });
      const { output } = invocation;
      if (output.json) {
        const bytes = typeof secret.value !== 'string';
        output.result(
          {
            scope: secret.scope,
            name: secret.name,
            version: secret.version,
            type: secret.type,
            // Bytes that are not text travel as base64 in JSON.
            value: bytes ? (secret.value as Buffer).toString('base64') : secret.value,
            ...(bytes ? { encoding: 'base64' } : {}),
          },
          () => [],
        );
        return;
      }
      output.raw(secret.value);
      if (options.newline) output.raw('\n');
    });
}
