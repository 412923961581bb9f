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
import { unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type AdoptionResult,
  type DataRekeyResult,
  fingerprint,
  keyringFromConfig,
  type Lockbox,
  LockboxError,
  type MasterRotationResult,
  masterKeyFromEnv,
  masterKeyFromFile,
  type ProgressListener,
  type RotationModeChoice,
  readSecretFile,
  writeMasterKeyFile,
} from '@lockbox/core';
import { type Command, Option } from 'commander';
import type { CliContext, Invocation } from '../context.js';
import { createProgress, type Progress } from '../progress.js';
import { openingKeyring, type RotationKeyFlags, rotationKeys } from './rotate-keys.js';
import {
  describeAdoption,
  describeData,
  describeJob,
  describeMaster,
  describeStatus,
  plural,
} from './rotate-report.js';

interface ModeFlags {
  atomic?: boolean;
  online?: boolean;
  batchSize?: string;
  dryRun?: boolean;
}

function modeOf(flags: ModeFlags): RotationModeChoice {
  if (flags.atomic === true && flags.online === true) {
    throw new LockboxError('INVALID_ARGUMENT', 'give --atomic or --online, not both');
  }
  return flags.atomic === true ? 'atomic' : flags.online === true ? 'online' : 'auto';
}

function batchSizeOf(flags: ModeFlags): { batchSize?: number } {
  if (flags.batchSize === undefined) return {};
  const value = Number(flags.batchSize);
  if (!/^\d+$/.test(flags.batchSize) || !Number.isSafeInteger(value)) {
    throw new LockboxError('INVALID_ARGUMENT', '--batch-size must be a positive integer');
  }
  return { batchSize: value };
}

function withModeFlags(command: Command): Command {
  return command
    .option('--atomic', 'one transaction: all or nothing (writers wait for it)')
    .option('--online', 'resumable batches, each its own transaction; the store keeps serving')
    .option('--batch-size <n>', 'rows or data keys per batch (default 1000)')
    .option('--dry-run', 'prove the keys and count the work; change nothing');
}

/** A progress bar per phase, on stderr when it is a terminal. */
function progressFor(invocation: Invocation): { onProgress: ProgressListener; finish(): void } {
  let bar: Progress | undefined;
  let label = '';
  return {
    onProgress: (event) => {
      const next = event.table === undefined ? event.phase : `${event.phase} ${event.table}`;
      if (next !== label) {
        bar?.finish();
        label = next;
        bar = createProgress({ label, total: event.total, stream: invocation.io.stderr });
      }
      bar?.update(event.done, event.total);
    },
    finish: () => bar?.finish(),
  };
}

function warnData(invocation: Invocation, result: DataRekeyResult): void {
  if (result.unreadable > 0) {
    invocation.output.warn(
      `${plural(result.unreadable, 'row')} could not be decrypted and were left as they were: ${result.unreadableRows.map((r) => `${r.where} ${r.row} (${r.code})`).join(', ')}`,
    );
  }
  if (result.dataKeys.retained > 0) {
    invocation.output.warn(
      `${plural(result.dataKeys.retained, 'old data key')} kept because rows still need them; run \`lockbox doctor\`, then \`lockbox rotate data\` again`,
    );
  }
}

async function rotateMaster(
  invocation: Invocation,
  flags: ModeFlags & RotationKeyFlags,
): Promise<void> {
  const dryRun = flags.dryRun === true;
  const keys = await rotationKeys(flags, invocation, { dryRun });
  try {
    const config = await invocation.config();
    const keyring = await openingKeyring(keys, () => keyringFromConfig(config.keys));
    const lockbox = await invocation.open({ keyring });
    if (keys.generatedFile !== undefined && !dryRun) {
      // Written before anything is rotated, so the new key exists on disk first.
      await writeMasterKeyFile(keys.generatedFile, keys.next, { force: flags.force === true });
    }
    const progress = progressFor(invocation);
    let result: MasterRotationResult;
    try {
      result = await lockbox.rotation.rotateMaster({
        oldKey: keys.old,
        newKey: keys.next,
        mode: modeOf(flags),
        ...batchSizeOf(flags),
        dryRun,
        onProgress: progress.onProgress,
        actor: invocation.actor,
      });
    } catch (err) {
      if (keys.generatedFile !== undefined && !dryRun) {
        await forgetUnusedKeyFile(lockbox, keys.generatedFile, keys.next);
      }
      throw err;
    } finally {
      progress.finish();
    }
    invocation.output.result(result, (r) => describeMaster(r, keys.newSource, keys.oldSource));
    if (keys.generatedFile !== undefined && !dryRun) {
      invocation.output.note(
        `New master key written to ${keys.generatedFile} (mode 0600). Back it up now: without it (or a recovery identity) this store cannot be opened.`,
      );
    }
    if (!dryRun && result.dataKeys.remaining > 0) {
      invocation.output.warn(
        `${plural(result.dataKeys.remaining, 'data key')} were made under the old key meanwhile, by instances whose primary it still is: give them the new key as primary, then run this command again`,
      );
    }
  } finally {
    keys.old.fill(0);
    keys.next.fill(0);
  }
}

/** Removes a generated key file when the store never recorded its key (the rotation was refused). */
async function forgetUnusedKeyFile(lockbox: Lockbox, path: string, key: Buffer): Promise<void> {
  const recorded = await lockbox.vault.store.db
    .selectFrom('lockbox_master_keys')
    .select('fingerprint')
    .where('fingerprint', '=', fingerprint(key))
    .executeTakeFirst()
    .catch(() => ({ fingerprint: 'unknown' }));
  if (recorded === undefined) await unlink(path).catch(() => undefined);
}

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
    .action(async (flags: ModeFlags & RotationKeyFlags, command: Command) => {
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
    .action(async (flags: ModeFlags & RotationKeyFlags, command: Command) => {
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
        invocation.output.result(result, (r) => describeMaster(r, r.to, r.from));
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
