/** The options `run` and `env` share to choose which secrets become variables. */
import type { Command } from 'commander';

export interface EnvSelectionOptions {
  scope: string[];
  only?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addEnvSelectionOptions(command: Command): Command {
  return command
    .requiredOption('--scope <scope>', 'read secrets from this scope (repeatable)', collect)
    .option('--only <names...>', 'only these secret names (repeatable)');
}
