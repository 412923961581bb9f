/** `lockbox rm SCOPE NAME`: deletes a secret (SECRET_NOT_FOUND, exit 4, when there is none). */
import { LockboxError } from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerRm(program: Command, context: CliContext): void {
  program
    .command('rm')
    .description('delete a secret')
    .argument('<scope>', 'the scope')
    .argument('<name>', 'the secret name')
    .action(async (scope: string, name: string, _options: unknown, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const deleted = await lockbox.secrets.delete(scope, name, { actor: invocation.actor });
      if (!deleted) {
        throw new LockboxError('SECRET_NOT_FOUND', `no secret "${scope}/${name}"`, {
          details: { scope, name },
        });
      }
      invocation.output.result({ scope, name, deleted: true }, () => `deleted ${scope}/${name}`);
    });
}
