/**
 * `lockbox set SCOPE NAME [VALUE|-]`: stores a secret. The value comes from
 * stdin. A value given as an argument is in the process's argv — readable by
 * every local user in /proc/<pid>/cmdline and `ps` while lockbox runs — and in
 * shell history, so it is refused unless --value-in-argv says the caller
 * accepts that (and then still earns a warning).
 */
import { LockboxError } from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

interface SetCommandOptions {
  metadata?: string;
  ifVersion?: string;
  prompt?: boolean;
  valueInArgv?: boolean;
}

function parseMetadata(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new LockboxError('INVALID_ARGUMENT', '--metadata is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LockboxError('INVALID_ARGUMENT', '--metadata must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new LockboxError('INVALID_ARGUMENT', '--if-version must be a non-negative integer');
  }
  return Number(text);
}

/** Text stays text; bytes that are not valid UTF-8 are stored as bytes. */
function asValue(bytes: Buffer): string | Buffer {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes;
  }
}

export function registerSet(program: Command, context: CliContext): void {
  program
    .command('set')
    .description('store a secret; the value is read from stdin unless given')
    .argument('<scope>', 'the scope, for example prod or user:42')
    .argument('<name>', 'the secret name')
    .argument('[value]', 'the value, or - for stdin (default: stdin)')
    .option('--metadata <json>', 'a JSON object stored beside the value (not encrypted)')
    .option('--if-version <n>', 'write only if the current version is n (0: only if absent)')
    .option('--prompt', 'when stdin is a terminal, prompt for the value without echo')
    .option(
      '--value-in-argv',
      'accept VALUE as an argument although every local user can read it in ps while lockbox runs',
    )
    .action(
      async (
        scope: string,
        name: string,
        value: string | undefined,
        options: SetCommandOptions,
        command: Command,
      ) => {
        const invocation = context.invocation(command);
        const metadata =
          options.metadata === undefined ? undefined : parseMetadata(options.metadata);
        const ifVersion =
          options.ifVersion === undefined ? undefined : parseVersion(options.ifVersion);
        let input: string | Buffer;
        if (value === undefined || value === '-') {
          input = asValue(
            await invocation.readSecret(`the value of ${scope}/${name}`, {
              prompt: options.prompt === true,
            }),
          );
        } else {
          if (options.valueInArgv !== true) {
            throw new LockboxError(
              'INVALID_ARGUMENT',
              `a value given as an argument is visible to every local user (ps, /proc/<pid>/cmdline) and stays in shell history; pipe it on stdin instead (printf %s "$VALUE" | lockbox set ${scope} ${name}), use --prompt, or pass --value-in-argv to accept the exposure`,
            );
          }
          invocation.output.warn(
            'the value was given as an argument, so it may be in your shell history; pipe it on stdin instead',
          );
          input = value;
        }
        const lockbox = await invocation.open();
        const version = await lockbox.secrets.set(scope, name, input, {
          actor: invocation.actor,
          ...(metadata === undefined ? {} : { metadata }),
          ...(ifVersion === undefined ? {} : { ifVersion }),
        });
        if (typeof input !== 'string') input.fill(0);
        invocation.output.result(
          { scope, name, version },
          () => `set ${scope}/${name} (version ${version})`,
        );
      },
    );
}
