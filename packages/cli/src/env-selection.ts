/**
 * The options `run` and `env` share: which secrets become variables, and where
 * they come from — the local store (the master key on this host), or a Lockbox
 * server (`--server` or LOCKBOX_URL, with a token; no master key on this host).
 */
import type { Command } from 'commander';
import type { ServerOptions } from './server-client.js';

export interface EnvSelectionOptions extends ServerOptions {
  scope: string[];
  only?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addEnvSelectionOptions(command: Command): Command {
  return command
    .requiredOption('--scope <scope>', 'read secrets from this scope (repeatable)', collect)
    .option('--only <names...>', 'only these secret names (repeatable)')
    .option(
      '--server <url>',
      'fetch the secrets from this Lockbox server instead of the local store (default: LOCKBOX_URL)',
    )
    .option(
      '--token-file <file>',
      'with a server: read the token from this 0600 file (default: LOCKBOX_TOKEN)',
    )
    .option(
      '--ca-file <file>',
      'with an https server: trust this PEM CA certificate (default: LOCKBOX_CA_FILE, else the system CAs)',
    );
}
