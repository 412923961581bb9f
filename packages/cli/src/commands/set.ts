/**
 * `lockbox set SCOPE NAME [VALUE|-]`: stores a secret. The value comes from
 * stdin unless given as an argument — stdin keeps it out of shell history, so an
 * argument earns a warning.
 */
import { LockboxError } from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

interface SetCommandOptions {
  metadata?: string;
  ifVersion?: string;
  prompt?: boolean;
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
