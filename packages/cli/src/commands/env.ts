/**
 * `lockbox env`: prints a scope's secrets as variables (dotenv, shell or json).
 * Printing values is its purpose, so it goes to stdout — with a warning when that
 * is a terminal. A file is written only with --output, created 0600, and an
 * existing file is replaced only with --force. With --server (or LOCKBOX_URL) the
 * secrets come from a Lockbox server with a token, without a master key here.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isLockboxError, LockboxError, writeSecretFile } from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { type EnvFormat, formatEnv, parseEnvFormat } from '../env-format.js';
import { addEnvSelectionOptions, type EnvSelectionOptions } from '../env-selection.js';
import { readEnvSecrets } from '../env-source.js';

interface EnvOptions extends EnvSelectionOptions {
  format?: string;
  output?: string;
  force?: boolean;
}

function exists(path: string): LockboxError {
  return new LockboxError('FILE_EXISTS', `${path} already exists; pass --force to replace it`, {
    details: { path },
  });
}

export function registerEnv(program: Command, context: CliContext): void {
  const command = program
    .command('env')
    .description("print a scope's secrets as environment variables")
    .option('--format <format>', 'dotenv, shell or json (default: dotenv; json with --json)')
    .option('--output <file>', 'write to this file (created 0600) instead of stdout')
    .option('--force', 'with --output, replace an existing file');
  addEnvSelectionOptions(command);
  command.action(async (options: EnvOptions, cmd: Command) => {
    const invocation = context.invocation(cmd);
    const { output } = invocation;
    const format: EnvFormat =
      options.format !== undefined
        ? parseEnvFormat(options.format)
        : output.json
          ? 'json'
          : 'dotenv';
    const target =
      options.output === undefined ? undefined : resolve(invocation.io.cwd, options.output);
    if (target !== undefined && options.force !== true && existsSync(target)) throw exists(target);
    if (options.force === true && target === undefined) {
      throw new LockboxError('INVALID_ARGUMENT', '--force only applies with --output');
    }
    const { plan, variables } = await readEnvSecrets(invocation, options, {
      details: { command: 'env', format, destination: target === undefined ? 'stdout' : 'file' },
    });
    const text = formatEnv(variables, format);
    if (target === undefined) {
      if (output.stdoutIsTTY) {
        output.warn(
          'printing secret values to the terminal; redirect or use --output to keep them off screen',
        );
      }
      output.raw(text);
      return;
    }
    try {
      await writeSecretFile(target, text, { force: options.force === true });
    } catch (err) {
      if (isLockboxError(err, 'KEY_FILE_EXISTS')) throw exists(target);
      throw err;
    }
    output.note(`wrote ${plan.length} variable(s) to ${target} (mode 0600)`);
  });
}
