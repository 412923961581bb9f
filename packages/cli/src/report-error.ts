/**
 * Turning a failed command into stderr text and an exit code.
 *
 * A LockboxError prints its code and message (never a stack: the message is the
 * whole story, and it is written to contain nothing secret). A commander usage
 * error prints as INVALID_ARGUMENT with exit code 2. Anything else is a bug:
 * it prints a generic INTERNAL message, because an unknown error's message could
 * carry anything; LOCKBOX_DEBUG=1 adds the stack for whoever is debugging.
 */
import { isLockboxError } from '@lockbox/core';
import { CommanderError } from 'commander';
import { EXIT, type ExitCode, exitCodeFor } from './exit-codes.js';
import type { Output } from './output.js';

export function reportError(
  err: unknown,
  output: Output,
  env: Readonly<Record<string, string | undefined>>,
): ExitCode {
  if (isLockboxError(err)) {
    output.lockboxError(err);
    if (env.LOCKBOX_DEBUG === '1' && err.cause instanceof Error) {
      output.note(`cause: ${err.cause.stack ?? String(err.cause)}`);
    }
    return exitCodeFor(err.code);
  }
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return EXIT.OK;
    // Help shown because no command was given: commander already printed it.
    if (err.code === 'commander.help' || err.code === 'commander.helpDisplayed') return EXIT.USAGE;
    const message = err.message.replace(/^error: /, '');
    output.error('INVALID_ARGUMENT', `${message} (see --help)`);
    return EXIT.USAGE;
  }
  const kind = err instanceof Error ? err.name : typeof err;
  output.error(
    'INTERNAL',
    `an unexpected error occurred (${kind}); this is a bug, please report it. Set LOCKBOX_DEBUG=1 to print its stack`,
  );
  if (env.LOCKBOX_DEBUG === '1') {
    output.note(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  return EXIT.FAILURE;
}
