/**
 * `lockbox run --scope S -- command args…`: starts a command with the scopes'
 * secrets in its environment, so they never touch a file.
 *
 * Before the child starts: every refusal (unknown scope, a name that cannot be a
 * variable, a collision between scopes or with the environment) and every
 * decryption happens, and the injection is audited. The child then gets stdin,
 * stdout and stderr (with --mask, stdout and stderr pass through a filter that
 * replaces secret values), SIGINT/SIGTERM/SIGHUP sent to lockbox are forwarded
 * to it, and its exit code becomes lockbox's — or 128 + the signal number when a
 * signal killed it, as a shell reports it.
 *
 * The child inherits nothing of Lockbox's own configuration (childEnvironment in
 * child-env.ts): no master key, key file, config file or database variable, so
 * a child started with one scope cannot open the store through what it was
 * handed. It still runs as the same OS user with the same files (docs/cli.md,
 * "What the child can reach").
 *
 * With --server (or LOCKBOX_URL) the secrets come from a Lockbox server with a
 * token (env-source.ts): this process never opens the store or reads a master
 * key, the token is not passed on either, and everything else above is the same.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { childEnvironment } from '../child-env.js';
import type { CliContext } from '../context.js';
import { addEnvSelectionOptions, type EnvSelectionOptions } from '../env-selection.js';
import { readEnvSecrets } from '../env-source.js';
import { EXIT } from '../exit-codes.js';
import { MaskStream } from '../mask-stream.js';

interface RunOptions extends EnvSelectionOptions {
  override?: boolean;
  mask?: boolean;
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Shell convention: 127 command not found, 126 found but not executable. */
function spawnFailureExit(errno: string | undefined): number {
  return errno === 'ENOENT' ? 127 : 126;
}

/** Resolves with the child's exit code (128 + signal number when a signal killed it). */
function waitForExit(
  child: ChildProcess,
): Promise<{ code: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      if (signal !== null) {
        resolve({ code: 128 + (constants.signals[signal] ?? 0), signal });
      } else {
        resolve({ code: code ?? EXIT.FAILURE, signal: null });
      }
    });
  });
}

export function registerRun(program: Command, context: CliContext): void {
  const command = program
    .command('run')
    .description("run a command with a scope's secrets as environment variables")
    .argument('<command>', 'the command to run (put -- before it)')
    .argument('[args...]', 'its arguments')
    .option('--override', 'let secrets replace variables already set in the environment')
    .option(
      '--mask',
      "replace secret values in the command's stdout and stderr with <redacted:NAME>",
    );
  addEnvSelectionOptions(command);
  command.action(async (file: string, args: string[], options: RunOptions, cmd: Command) => {
    const invocation = context.invocation(cmd);
    const { output } = invocation;
    const baseEnv = childEnvironment(invocation.io.env);

    // Every refusal, every read and the audit entry happen before the child starts.
    const {
      plan,
      variables: secrets,
      done,
    } = await readEnvSecrets(invocation, options, {
      existingEnv: baseEnv,
      override: options.override === true,
      details: { command: 'run', program: file, masked: options.mask === true },
    });
    // The child may run for hours; it needs no database connection.
    await done();

    const mask = options.mask === true;
    const child = spawn(file, args, {
      env: { ...baseEnv, ...secrets },
      stdio: mask ? ['inherit', 'pipe', 'pipe'] : 'inherit',
    });
    const started = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    if (started !== undefined) {
      output.error(
        'INVALID_ARGUMENT',
        `cannot start "${file}": ${started.code === 'ENOENT' ? 'command not found' : 'not executable'} (${started.code ?? 'error'})`,
      );
      process.exitCode = spawnFailureExit(started.code);
      return;
    }

    const forward = (signal: NodeJS.Signals) => () => {
      child.kill(signal);
    };
    const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    try {
      const values = plan.map((entry) => ({
        name: entry.variable,
        value: secrets[entry.variable] ?? '',
      }));
      const piped =
        mask && child.stdout && child.stderr
          ? Promise.all([
              pipeline(child.stdout, new MaskStream(values), invocation.io.stdout, { end: false }),
              pipeline(child.stderr, new MaskStream(values), invocation.io.stderr, { end: false }),
            ])
          : Promise.resolve();
      const [result] = await Promise.all([waitForExit(child), piped]);
      if (result.signal !== null) {
        output.note(`lockbox: ${file} was killed by ${result.signal}; exiting with ${result.code}`);
      }
      process.exitCode = result.code;
    } finally {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    }
  });
}
