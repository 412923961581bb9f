#!/usr/bin/env node
/**
 * The `lockbox` command: the program of program.ts, and the error/exit-code
 * handling every command shares (see report-error.ts and
 * exit-codes.ts).
 *
 * Adding a command: see program.ts. Inside the action, `context.invocation(command)` gives the
 * resolved configuration, `open()` for the store (closed automatically) and the
 * output helpers. Throw LockboxError for failures; main prints and maps them.
 */
import { isWellFormedText, LockboxError } from '@lockbox/core';
import { CliContext } from './context.js';
import { Output } from './output.js';
import { buildProgram } from './program.js';
import { reportError } from './report-error.js';

/**
 * Node decodes argv leniently: bytes that are not UTF-8 arrive as U+FFFD, and
 * the original is gone. A name, scope, metadata or value so altered must not be
 * stored, so lockbox's own arguments (those before `--`; after it they belong to
 * `run`'s child) are refused if they hold U+FFFD. Throws TEXT_INVALID.
 */
function refuseReplacedArguments(args: readonly string[]): void {
  const end = args.indexOf('--');
  const own = end < 0 ? args : args.slice(0, end);
  const position = own.findIndex((arg) => arg.includes('\uFFFD') || !isWellFormedText(arg));
  if (position >= 0) {
    throw new LockboxError(
      'TEXT_INVALID',
      `argument ${position + 1} is not valid UTF-8 (it holds U+FFFD, the replacement for undecodable bytes); nothing was done`,
      { details: { argument: position + 1 } },
    );
  }
}

async function main(): Promise<void> {
  const context = new CliContext({
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
  // `lockbox list | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram(context);
  try {
    refuseReplacedArguments(process.argv.slice(2));
    await program.parseAsync(process.argv);
  } catch (err) {
    // Parsing may have failed before options were known; --json is honoured anyway.
    const args = process.argv.slice(2);
    const end = args.indexOf('--');
    const json = (end < 0 ? args : args.slice(0, end)).includes('--json');
    process.exitCode = reportError(err, new Output(json, context.io), context.io.env);
  } finally {
    await context.closeAll();
  }
}

await main();
