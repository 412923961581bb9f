#!/usr/bin/env node
/**
 * The `lockbox` command: global options, one register line per command, and the
 * error/exit-code handling every command shares (see report-error.ts and
 * exit-codes.ts).
 *
 * Adding a command: write src/commands/<name>.ts exporting
 * `register<Name>(program: Command, context: CliContext): void`, and add one
 * register line below. Inside the action, `context.invocation(command)` gives the
 * resolved configuration, `open()` for the store (closed automatically) and the
 * output helpers. Throw LockboxError for failures; main prints and maps them.
 */
import { readFileSync } from 'node:fs';
import { isWellFormedText, LockboxError } from '@lockbox/core';
import { Command, Option } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEnv } from './commands/env.js';
import { registerExport } from './commands/export.js';
import { registerFields } from './commands/fields.js';
import { registerGet } from './commands/get.js';
import { registerImport } from './commands/import.js';
import { registerInit } from './commands/init.js';
import { registerKeygen } from './commands/keygen.js';
import { registerList } from './commands/list.js';
import { registerRecover } from './commands/recover.js';
import { registerRecovery } from './commands/recovery.js';
import { registerRestore } from './commands/restore.js';
import { registerRm } from './commands/rm.js';
import { registerRotate } from './commands/rotate.js';
import { registerRun } from './commands/run.js';
import { registerServe } from './commands/serve.js';
import { registerSet } from './commands/set.js';
import { registerSnapshot } from './commands/snapshot.js';
import { registerStatus } from './commands/status.js';
import { registerToken } from './commands/token.js';
import { CliContext } from './context.js';
import { Output } from './output.js';
import { reportError } from './report-error.js';

function version(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

function buildProgram(context: CliContext): Command {
  const program = new Command('lockbox')
    .description('Keep application secrets encrypted at rest, and the keys that protect them safe.')
    .version(version())
    .option(
      '--database <url>',
      'database: a SQLite path, sqlite:PATH or postgres://… (env LOCKBOX_DATABASE)',
    )
    .option(
      '--config <file>',
      'config file (env LOCKBOX_CONFIG; default ./lockbox.json if present)',
    )
    .option('--master-key-file <path>', 'read the primary master key from this 0600 file')
    .option('--master-key-stdin', 'read the primary master key from stdin')
    .addOption(
      new Option('--previous-key-file <path>', 'a previous master key file (repeatable)').argParser(
        (value: string, previous: string[] = []) => [...previous, value],
      ),
    )
    .option('--json', 'print results as JSON (errors too, on stderr)')
    .showSuggestionAfterError()
    // Commander must not exit or print errors itself: main maps them to exit code 2.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  registerInit(program, context);
  registerKeygen(program, context);
  registerStatus(program, context);
  registerSet(program, context);
  registerGet(program, context);
  registerList(program, context);
  registerRm(program, context);
  registerRotate(program, context);
  registerDoctor(program, context);
  registerFields(program, context);
  registerEnv(program, context);
  registerRun(program, context);
  registerServe(program, context);
  registerAudit(program, context);
  registerToken(program, context);
  registerExport(program, context);
  registerImport(program, context);
  registerSnapshot(program, context);
  registerRestore(program, context);
  registerRecovery(program, context);
  registerRecover(program, context);
  return program;
}

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
