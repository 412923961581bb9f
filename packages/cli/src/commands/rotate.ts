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
  type FieldDeclaration,
  type FieldRegistration,
  LockboxError,
  masterKeyFromEnv,
  masterKeyFromFile,
  readSecretFile,
} from '@lockbox/core';
import { type Command, Option } from 'commander';
import type { CliContext, Invocation } from '../context.js';
import { exitCodeFor } from '../exit-codes.js';
import { diffFields } from '../fields-diff.js';
import { finishing } from '../progress.js';
import {
  batchSizeOf,
  type DataFlags,
  fieldGraceOf,
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
  table?: string;
  column?: string;
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
    .option('--old-key-uri <uri>', 'the old master key in a PKCS#11 token (pkcs11: URI)')
    .option('--new-key-file <path>', 'the new master key (0600 file, e.g. from `lockbox keygen`)')
    .option('--new-key-env <name>', 'read the new master key from this environment variable')
    .option(
      '--new-key-uri <uri>',
      'the new master key in a PKCS#11 token (pkcs11: URI; `lockbox keygen --pkcs11`)',
    )
    .option('--keys-stdin', 'read two lines from stdin: the old key, then the new key');
}

/**
 * `rotate adopt`: registers the fields lockbox.json declares that are not
 * registered yet (a dry run only checks them), then adopts every registered field
 * (or the one named) in one job with the legacy keys given once.
 */
async function adopt(invocation: Invocation, flags: AdoptFlags): Promise<void> {
  if ((flags.table === undefined) !== (flags.column === undefined)) {
    throw new LockboxError('INVALID_ARGUMENT', 'give --table and --column together, or neither');
  }
  if (flags.register === true && flags.table === undefined) {
    throw new LockboxError('INVALID_ARGUMENT', '--register needs --table and --column');
  }
  const dryRun = flags.dryRun === true;
  const { fernetKeys, v2Keys } = await legacyKeys(invocation, flags);
  try {
    const config = await invocation.config();
    const lockbox = await invocation.open();
    const toRegister: FieldDeclaration[] = [];
    if (flags.register === true) {
      toRegister.push({
        table: flags.table as string,
        column: flags.column as string,
        ...(flags.primaryKey === undefined ? {} : { primaryKey: flags.primaryKey }),
        ...(flags.scope === undefined ? {} : { scope: flags.scope }),
      });
    }
    if (config.fields !== undefined) {
      const diff = await diffFields(lockbox, config.fields);
      for (const f of diff.add) {
        if (flags.table === undefined || (f.table === flags.table && f.column === flags.column)) {
          if (flags.register !== true) toRegister.push(f);
        }
      }
      for (const c of diff.change) {
        invocation.output.warn(
          `${c.table}.${c.column} is registered differently from the config file (${c.changes.join('; ')}); run \`lockbox fields sync\``,
        );
      }
    }
    // Every registration is checked before any is written, so a refusal writes nothing.
    const planned: FieldRegistration[] = [];
    for (const field of toRegister) planned.push(await lockbox.fields.plan(field));
    if (!dryRun) for (const field of planned) await lockbox.fields.register(field);
    for (const f of planned) {
      invocation.output.note(
        `${dryRun ? 'would register' : 'registered'} ${f.table}.${f.column} (key ${f.primaryKey.join(', ')}, scope ${f.scope})`,
      );
    }
    const results = await finishing(progressFor(invocation), async (progress) => {
      const only =
        flags.table === undefined
          ? undefined
          : [planned[0] ?? { table: flags.table, column: flags.column as string }];
      const all = only ?? [...(await lockbox.fields.list()), ...(dryRun ? planned : [])];
      return lockbox.rotation.adoptAll({
        fields: all,
        fernetKeys,
        v2Keys,
        plaintext: flags.plaintext === true,
        ...batchSizeOf(flags),
        dryRun,
        onProgress: progress.onProgress,
        actor: invocation.actor,
      });
    });
    invocation.output.result({ dryRun, registered: planned, fields: results }, (r) =>
      r.fields.length === 0
        ? ['no registered fields to adopt']
        : r.fields.flatMap(describeAdoption),
    );
    const failed = results.filter((r) => r.failed > 0);
    if (failed.length > 0) {
      invocation.output.error(
        'LEGACY_DECRYPT_FAILED',
        failed
          .map(
            (r) =>
              `${plural(r.failed, 'row')} of ${r.table}.${r.column} did not decode with the keys given`,
          )
          .join('; '),
      );
      process.exitCode = exitCodeFor('LEGACY_DECRYPT_FAILED');
    }
  } finally {
    for (const key of v2Keys) key.fill(0);
  }
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
  )
    .option(
      '--field-grace <seconds>',
      "keep a field scope's old data key this long after the switch, for values the application encrypted before it and stores later (default 900)",
    )
    .option(
      '--finish',
      'finish an earlier re-key: re-encrypt rows still on old keys, destroy the old keys whose grace period has passed',
    )
    .action(async (flags: DataFlags, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const result = await finishing(progressFor(invocation), (progress) =>
        lockbox.rotation.rekeyData({
          mode: modeOf(flags),
          ...batchSizeOf(flags),
          ...fieldGraceOf(flags),
          finish: flags.finish === true,
          dryRun: flags.dryRun === true,
          onProgress: progress.onProgress,
          actor: invocation.actor,
        }),
      );
      invocation.output.result(result, describeData);
      warnData(invocation, result);
    });

  rotate
    .command('adopt')
    .description(
      "re-encrypt registered fields' plaintext, Fernet and v2: values into Lockbox's format, given the legacy keys (every registered field, or --table/--column)",
    )
    .option('--table <table>', 'adopt only this table (with --column)')
    .option('--column <column>', 'adopt only this column (with --table)')
    .option('--register', 'register --table/--column first (see --primary-key, --scope)')
    .option('--primary-key <columns>', 'with --register: the row-key column(s), comma-separated')
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
    .option('--dry-run', 'decode every row with the keys given; write nothing at all')
    .action(async (flags: AdoptFlags, command: Command) => {
      await adopt(context.invocation(command), flags);
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
        flags.oldKeyUri ??
        flags.newKeyFile ??
        flags.newKeyEnv ??
        flags.newKeyUri ??
        flags.keysStdin;
      if (given !== undefined) {
        // Keys given explicitly: the same path as a rerun of `rotate master`, which resumes.
        await rotateMaster(invocation, flags);
        return;
      }
      const lockbox = await invocation.open();
      const result = await finishing(progressFor(invocation), (progress) =>
        lockbox.rotation.resume({
          ...batchSizeOf(flags),
          onProgress: progress.onProgress,
          actor: invocation.actor,
        }),
      );
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
