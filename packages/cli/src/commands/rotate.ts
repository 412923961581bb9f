/**
 * `lockbox rotate`: change keys without bricking anything (docs/rotation.md).
 *
 *   rotate master   rewrap every data key from the old master key to a new one
 *   rotate data     new data keys, every secret and field row re-encrypted, old ones destroyed
 *   rotate adopt    re-encrypt a field's plaintext / Fernet / v2: rows into Lockbox's format
 *   rotate status   the rotation lock, an unfinished job, recent jobs
 *   rotate resume   finish an interrupted job
 *   rotate abandon  give up an interrupted job (always safe)
 *
 * `--atomic` / `--online` choose the mode; without them small work is atomic and
 * large work online, and the result says which. A progress bar is drawn on stderr
 * when it is a terminal. Every refusal (wrong old key, invalid new key, a first
 * row that does not open, another rotation running) changes nothing.
 */
import { resolve } from 'node:path';
import {
  type AdoptionResult,
  type DataRekeyResult,
  LockboxError,
  type MasterRotationResult,
  masterKeyFromEnv,
  masterKeyFromFile,
  readSecretFile,
} from '@lockbox/core';
import { type Command, Option } from 'commander';
import type { CliContext, Invocation } from '../context.js';
import {
  batchSizeOf,
  type ModeFlags,
  modeOf,
  progressFor,
  warnData,
  withModeFlags,
} from './rotate-flags.js';
import { followResumedRotation, type MasterFlags, rotateMaster } from './rotate-master.js';
import {
  describeAdoption,
  describeData,
  describeJob,
  describeMaster,
  describeStatus,
  plural,
} from './rotate-report.js';

async function legacyKeys(
  invocation: Invocation,
  flags: AdoptFlags,
): Promise<{ fernetKeys: string[]; v2Keys: Buffer[] }> {
  const cwd = invocation.io.cwd;
  const fernetKeys: string[] = [];
  for (const file of flags.fernetKeyFile ?? []) {
    const bytes = await readSecretFile(resolve(cwd, file));
    fernetKeys.push(bytes.toString('utf8').trim());
    bytes.fill(0);
  }
  for (const name of flags.fernetKeyEnv ?? []) {
    const value = invocation.io.env[name];
    if (value === undefined || value.trim() === '') {
      throw new LockboxError('KEY_MISSING', `${name} is not set`, { details: { variable: name } });
    }
    fernetKeys.push(value.trim());
  }
  const v2Keys: Buffer[] = [];
  for (const file of flags.v2KeyFile ?? [])
    v2Keys.push(await masterKeyFromFile(resolve(cwd, file)));
  for (const name of flags.v2KeyEnv ?? []) v2Keys.push(masterKeyFromEnv(name, invocation.io.env));
  return { fernetKeys, v2Keys };
}

interface AdoptFlags {
  table: string;
  column: string;
  primaryKey?: string;
  scope?: string;
  register?: boolean;
  fernetKeyFile?: string[];
  fernetKeyEnv?: string[];
  v2KeyFile?: string[];
  v2KeyEnv?: string[];
  plaintext?: boolean;
  batchSize?: string;
  dryRun?: boolean;
}

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

function keyFlags(command: Command): Command {
  return command
    .option('--old-key-file <path>', 'the old master key (default: the configured primary key)')
    .option('--old-key-env <name>', 'read the old master key from this environment variable')
    .option('--new-key-file <path>', 'the new master key (0600 file, e.g. from `lockbox keygen`)')
    .option('--new-key-env <name>', 'read the new master key from this environment variable')
    .option('--keys-stdin', 'read two lines from stdin: the old key, then the new key');
}

export function registerRotate(program: Command, context: CliContext): void {
  const rotate = program
    .command('rotate')
    .description('rotate the master key or the data keys, adopt legacy data, manage rotation jobs');

  withModeFlags(
    keyFlags(
      rotate
        .command('master')
        .description('rewrap every data key from the old master key to a new one (no row changes)'),
    ),
  )
    .option('--write-new-key-file <path>', 'generate the new master key into this 0600 file')
    .option('--force', 'with --write-new-key-file: replace an existing file')
    .option(
      '--keep-key-files',
      'leave the configured key file as it is (e.g. a read-only mount); print what to change instead',
    )
    .action(async (flags: MasterFlags, command: Command) => {
      await rotateMaster(context.invocation(command), flags);
    });

  withModeFlags(
    rotate
      .command('data')
      .description(
        'after a suspected compromise: new data keys, every secret and field row re-encrypted, old data keys destroyed',
      ),
  ).action(async (flags: ModeFlags, command: Command) => {
    const invocation = context.invocation(command);
    const lockbox = await invocation.open();
    const progress = progressFor(invocation);
    let result: DataRekeyResult;
    try {
      result = await lockbox.rotation.rekeyData({
        mode: modeOf(flags),
        ...batchSizeOf(flags),
        dryRun: flags.dryRun === true,
        onProgress: progress.onProgress,
        actor: invocation.actor,
      });
    } finally {
      progress.finish();
    }
    invocation.output.result(result, describeData);
    warnData(invocation, result);
  });

  rotate
    .command('adopt')
    .description(
      "re-encrypt a field's plaintext, Fernet and v2: values into Lockbox's format, given the legacy key",
    )
    .requiredOption('--table <table>', 'the application table')
    .requiredOption('--column <column>', 'the column holding the credential')
    .option('--register', 'register the field first (see --primary-key, --scope)')
    .option('--primary-key <column>', 'with --register: the primary-key column (default id)')
    .option('--scope <scope>', 'with --register: the scope whose data key encrypts the field')
    .addOption(
      new Option('--fernet-key-file <path>', 'a Fernet key file (repeatable)').argParser(
        repeatable,
      ),
    )
    .addOption(
      new Option('--fernet-key-env <name>', 'a Fernet key in this variable (repeatable)').argParser(
        repeatable,
      ),
    )
    .addOption(
      new Option('--v2-key-file <path>', 'a v2: key file, 32 bytes (repeatable)').argParser(
        repeatable,
      ),
    )
    .addOption(
      new Option('--v2-key-env <name>', 'a v2: key in this variable (repeatable)').argParser(
        repeatable,
      ),
    )
    .option('--plaintext', 'also adopt values that are stored in plaintext')
    .option('--batch-size <n>', 'rows per batch (default 1000)')
    .option('--dry-run', 'decode every row with the keys given; change nothing')
    .action(async (flags: AdoptFlags, command: Command) => {
      const invocation = context.invocation(command);
      const { fernetKeys, v2Keys } = await legacyKeys(invocation, flags);
      try {
        const lockbox = await invocation.open();
        if (flags.register === true) {
          await lockbox.fields.register({
            table: flags.table,
            column: flags.column,
            ...(flags.primaryKey === undefined ? {} : { primaryKey: flags.primaryKey }),
            ...(flags.scope === undefined ? {} : { scope: flags.scope }),
          });
        }
        const progress = progressFor(invocation);
        let result: AdoptionResult;
        try {
          result = await lockbox.rotation.adopt({
            table: flags.table,
            column: flags.column,
            fernetKeys,
            v2Keys,
            plaintext: flags.plaintext === true,
            ...batchSizeOf(flags),
            dryRun: flags.dryRun === true,
            onProgress: progress.onProgress,
            actor: invocation.actor,
          });
        } finally {
          progress.finish();
        }
        invocation.output.result(result, describeAdoption);
        if (result.failed > 0) {
          invocation.output.error(
            'LEGACY_DECRYPT_FAILED',
            `${plural(result.failed, 'row')} of ${flags.table}.${flags.column} did not decode with the keys given`,
          );
          process.exitCode = 1;
        }
      } finally {
        for (const key of v2Keys) key.fill(0);
      }
    });

  rotate
    .command('status')
    .description('show the rotation lock, an unfinished job and recent jobs')
    .action(async (_flags: unknown, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      invocation.output.result(await lockbox.rotation.status(), describeStatus);
    });

  keyFlags(
    rotate
      .command('resume')
      .description(
        'finish an interrupted rotation (a master rotation needs both keys: configured, or given here)',
      ),
  )
    .option('--batch-size <n>', 'rows or data keys per batch (default 1000)')
    .action(async (flags: MasterFlags, command: Command) => {
      const invocation = context.invocation(command);
      const given =
        flags.oldKeyFile ??
        flags.oldKeyEnv ??
        flags.newKeyFile ??
        flags.newKeyEnv ??
        flags.keysStdin;
      if (given !== undefined) {
        // Keys given explicitly: the same path as a rerun of `rotate master`, which resumes.
        await rotateMaster(invocation, flags);
        return;
      }
      const lockbox = await invocation.open();
      const progress = progressFor(invocation);
      let result: MasterRotationResult | DataRekeyResult;
      try {
        result = await lockbox.rotation.resume({
          ...batchSizeOf(flags),
          onProgress: progress.onProgress,
          actor: invocation.actor,
        });
      } finally {
        progress.finish();
      }
      if (result.kind === 'master') {
        const followed = await followResumedRotation(invocation, lockbox, result);
        invocation.output.result(result, (r) => [...describeMaster(r), ...followed]);
      } else {
        invocation.output.result(result, describeData);
        warnData(invocation, result);
      }
    });

  rotate
    .command('abandon')
    .description('give up an interrupted rotation job (safe: every row stays readable)')
    .action(async (_flags: unknown, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const job = await lockbox.rotation.abandon(invocation.actor);
      invocation.output.result(job, (j) => [
        `abandoned ${describeJob(j)}`,
        j.kind === 'master'
          ? 'Data keys stay under the old or the new key: keep both in the keyring until `lockbox doctor` says otherwise.'
          : 'Retiring data keys stay intact; the next `lockbox rotate data` destroys them.',
      ]);
    });
}
