/**
 * The `lockbox` command tree: global options and one register line per command.
 * Built without side effects, so the docs completeness test and `lockbox
 * completion` can walk the same definitions that main.ts runs.
 *
 * Adding a command: write src/commands/<name>.ts exporting
 * `register<Name>(program: Command, context: CliContext): void`, add one
 * register line below, and its section in docs/cli.md (a test checks every
 * command and option is documented there).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerCompletion } from './commands/completion.js';
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
import type { CliContext } from './context.js';

function version(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

export function buildProgram(context: CliContext): Command {
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
    .option(
      '--master-key-uri <uri>',
      'the primary master key on a PKCS#11 token (env LOCKBOX_MASTER_KEY_URI; see docs/keys.md)',
    )
    .addOption(
      new Option(
        '--previous-key-uri <uri>',
        'a previous master key on a PKCS#11 token (repeatable)',
      ).argParser((value: string, previous: string[] = []) => [...previous, value]),
    )
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
  registerCompletion(program);
  return program;
}
