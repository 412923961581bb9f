/**
 * `lockbox token create|list|revoke`: API tokens for `lockbox serve`.
 *
 * create needs local access to the store and its master key, which is how the
 * first admin token comes to exist. The token is printed once, on stdout (alone
 * on its line, so `$(lockbox token create …)` captures it); Lockbox keeps only a
 * hash. Create and revoke are audited under the local user (cli:<user>).
 */
import { PERMISSION_NAMES, type TokenInfo } from '@lockbox/core';
import { type Command, Option } from 'commander';
import type { CliContext } from '../context.js';
import { formatTable } from '../output.js';

interface CreateOptions {
  name: string;
  permission: string[];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function row(token: TokenInfo): string[] {
  return [
    token.id,
    token.name,
    token.permissions.join(','),
    token.createdAt,
    token.lastUsedAt ?? '-',
    token.revokedAt === null ? 'active' : `revoked ${token.revokedAt}`,
  ];
}

export function registerToken(program: Command, context: CliContext): void {
  const token = program.command('token').description('create, list and revoke API tokens');

  token
    .command('create')
    .description('create an API token and print it once')
    .requiredOption('--name <name>', 'a label for people, e.g. ci-deploy')
    .addOption(
      new Option(
        '--permission <permission>',
        `a permission (repeatable): ${PERMISSION_NAMES.map((p) => (p.startsWith('secrets:') ? `${p}:<scope-glob>` : p)).join(', ')}`,
      )
        .argParser(collect)
        .makeOptionMandatory(),
    )
    .action(async (options: CreateOptions, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const created = await lockbox.tokens.create({
        name: options.name,
        permissions: options.permission,
        createdBy: invocation.actor,
      });
      const result = { ...created.info, token: created.token };
      invocation.output.result(result, (r) => r.token);
      if (!invocation.output.json) {
        invocation.output.note(
          `token ${created.id} (${created.info.permissions.join(', ')}): shown once, store it now; Lockbox keeps only its hash`,
        );
      }
    });

  token
    .command('list')
    .description('list tokens (ids, names, permissions, last use; never the tokens)')
    .action(async (_options: unknown, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const tokens = await lockbox.tokens.list();
      invocation.output.result({ tokens }, (r) =>
        r.tokens.length === 0
          ? ['no tokens']
          : formatTable(
              ['ID', 'NAME', 'PERMISSIONS', 'CREATED', 'LAST USED', 'STATE'],
              r.tokens.map(row),
            ),
      );
    });

  token
    .command('revoke')
    .description('revoke a token (it stops working at once)')
    .argument('<id>', 'the token id (12 hex characters)')
    .action(async (id: string, _options: unknown, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const revoked = await lockbox.tokens.revoke(id, { actor: invocation.actor });
      invocation.output.result(revoked, (r) => `revoked token ${r.id} (${r.name})`);
    });
}
