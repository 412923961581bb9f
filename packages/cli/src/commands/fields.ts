/**
 * `lockbox fields`: the registry of application columns that hold Lockbox
 * ciphertext (docs/cli.md#fields).
 *
 *   fields list      registered fields, and whether lockbox.json declares them
 *   fields add       register one (`--primary-key a,b` for a key of several columns)
 *   fields remove    unregister one (refused while rows hold its ciphertext, unless --force)
 *   fields sync      differences between lockbox.json's "fields" and the registry (--apply)
 *   fields decrypt   print the plaintext of one row's value (stdout, like `get`)
 *   fields encrypt   read a plaintext on stdin, print the ciphertext for one row
 *
 * decrypt and encrypt are audited (`field.decrypt`, `field.encrypt`) with the
 * field and the row key, never the value.
 */
import { describeRowKey, type FieldRegistration, type Lockbox, LockboxError } from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext, Invocation } from '../context.js';
import { type DeclaredField, toDeclaration } from '../fields-config.js';
import { diffFields, type FieldsDiff } from '../fields-diff.js';

interface FieldFlags {
  table: string;
  column: string;
}

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

/** `--key col=value` flags as a row-key object; a one-column key may be given as `--key value`. */
function rowKeyOf(flags: string[] | undefined, field: FieldRegistration): Record<string, string> {
  if (flags === undefined || flags.length === 0) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `give the row key: ${field.primaryKey.map((c) => `--key ${c}=VALUE`).join(' ')}`,
    );
  }
  const key: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const [column, value] =
      eq < 0 && field.primaryKey.length === 1
        ? [field.primaryKey[0] as string, flag]
        : [flag.slice(0, eq), flag.slice(eq + 1)];
    if (eq < 0 && field.primaryKey.length !== 1) {
      throw new LockboxError('INVALID_ARGUMENT', `--key ${flag}: write it as COLUMN=VALUE`);
    }
    if (Object.hasOwn(key, column)) {
      throw new LockboxError('INVALID_ARGUMENT', `--key names ${column} twice`);
    }
    key[column] = value;
  }
  return key;
}

function describeField(field: FieldRegistration): string {
  return `${field.table}.${field.column}  key (${field.primaryKey.join(', ')})  scope ${field.scope}`;
}

function describeDiff(diff: FieldsDiff, applied: boolean): string[] {
  const lines: string[] = [];
  for (const f of diff.add)
    lines.push(`${applied ? 'registered' : 'to register'}: ${describeField(f)}`);
  for (const c of diff.change) {
    lines.push(
      `${applied ? 'updated' : 'to update'}: ${c.table}.${c.column}  ${c.changes.join('; ')}`,
    );
  }
  for (const f of diff.remove) {
    lines.push(`${applied ? 'unregistered' : 'to unregister'}: ${describeField(f)}`);
  }
  for (const k of diff.kept) {
    lines.push(
      `kept (not declared, ${k.rows} rows hold its ciphertext; decrypt or drop them, then \`lockbox fields remove --force\`): ${k.table}.${k.column}`,
    );
  }
  if (lines.length === 0) lines.push('the registry matches the config file');
  return lines;
}

async function record(
  lockbox: Lockbox,
  invocation: Invocation,
  action: 'field.decrypt' | 'field.encrypt',
  field: FieldRegistration,
  row: string,
  outcome: 'ok' | 'error',
  code?: string,
): Promise<void> {
  await lockbox.audit.record({
    action,
    scope: field.scope,
    name: `${field.table}.${field.column}`,
    outcome,
    actor: invocation.actor,
    details: { row, ...(code === undefined ? {} : { code }) },
  });
}

function declared(invocation: Invocation): Promise<DeclaredField[]> {
  return invocation.config().then((config) => {
    if (config.fields === undefined) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        `no "fields" entry in ${config.configFile ?? 'a config file (none was found)'}: declare the fields there first (docs/cli.md#fields)`,
      );
    }
    return config.fields;
  });
}

export function registerFields(program: Command, context: CliContext): void {
  const fields = program
    .command('fields')
    .description(
      'the application columns that hold Lockbox ciphertext: list, add, remove, sync, decrypt, encrypt',
    );

  fields
    .command('list')
    .description('list registered fields (and whether the config file declares them)')
    .action(async (_flags: unknown, command: Command) => {
      const invocation = context.invocation(command);
      const config = await invocation.config();
      const lockbox = await invocation.open();
      const list = (await lockbox.fields.list()).map((f) => ({
        ...f,
        declared: config.fields?.some((d) => d.table === f.table && d.column === f.column) ?? false,
      }));
      invocation.output.result(list, (l) =>
        l.length === 0
          ? ['no registered fields']
          : l.map((f) => `${describeField(f)}${f.declared ? '' : '  (not in the config file)'}`),
      );
    });

  fields
    .command('add')
    .description('register a field: its table, column and row-key columns')
    .requiredOption('--table <table>', 'the application table')
    .requiredOption('--column <column>', 'the column holding the credential')
    .requiredOption('--primary-key <columns>', 'the row-key column(s), comma-separated: a,b')
    .option(
      '--scope <scope>',
      'the scope whose data key encrypts it (default field:<table>.<column>)',
    )
    .action(
      async (flags: FieldFlags & { primaryKey: string; scope?: string }, command: Command) => {
        const invocation = context.invocation(command);
        const lockbox = await invocation.open();
        const field = await lockbox.fields.register({
          table: flags.table,
          column: flags.column,
          primaryKey: flags.primaryKey,
          ...(flags.scope === undefined ? {} : { scope: flags.scope }),
        });
        invocation.output.result(field, (f) => `registered ${describeField(f)}`);
      },
    );

  fields
    .command('remove')
    .description('unregister a field (refused while rows hold its ciphertext, unless --force)')
    .requiredOption('--table <table>', 'the application table')
    .requiredOption('--column <column>', 'the column')
    .option(
      '--force',
      'remove although rows hold Lockbox ciphertext (rotation will no longer find them)',
    )
    .action(async (flags: FieldFlags & { force?: boolean }, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const rows = await lockbox.fields.remove(flags.table, flags.column, {
        force: flags.force === true,
      });
      invocation.output.result(
        { table: flags.table, column: flags.column, lockboxRows: rows },
        (r) =>
          `unregistered ${r.table}.${r.column}${r.lockboxRows > 0 ? ` (${r.lockboxRows} rows still hold Lockbox ciphertext that rotation will no longer reach)` : ''}`,
      );
    });

  fields
    .command('sync')
    .description('show the differences between the config file\'s "fields" and the registry')
    .option('--apply', 'register, update and unregister fields to match the config file')
    .action(async (flags: { apply?: boolean }, command: Command) => {
      const invocation = context.invocation(command);
      const want = await declared(invocation);
      const lockbox = await invocation.open();
      const diff = await diffFields(lockbox, want);
      if (flags.apply === true) {
        for (const f of [...diff.add, ...diff.change]) {
          await lockbox.fields.register(
            toDeclaration(want.find((d) => d.table === f.table && d.column === f.column)!),
          );
        }
        for (const f of diff.remove) await lockbox.fields.remove(f.table, f.column);
      }
      invocation.output.result({ ...diff, applied: flags.apply === true }, (d) =>
        describeDiff(d, d.applied),
      );
    });

  fields
    .command('decrypt')
    .description("print the plaintext of one row's value to stdout")
    .requiredOption('--table <table>', 'the application table')
    .requiredOption('--column <column>', 'the column')
    .option('--key <column=value>', 'a row-key column and its value (repeat for each)', repeatable)
    .option('-n, --no-newline', 'do not print a newline after the value')
    .action(async (flags: FieldFlags & { key?: string[]; newline: boolean }, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const field = await lockbox.fields.registration(flags.table, flags.column);
      const given = rowKeyOf(flags.key, field);
      const row = await lockbox.fields.readRow(field.table, field.column, given);
      const label = describeRowKey(
        field.primaryKey,
        field.primaryKey.map((c) => given[c] ?? ''),
      );
      if (row === undefined || row.value === null) {
        throw new LockboxError(
          'NOT_FOUND',
          `${field.table}.${field.column} has ${row === undefined ? 'no row' : 'no value in the row'} with key ${label}`,
          { details: { table: field.table, column: field.column, row: label } },
        );
      }
      let plaintext: Buffer;
      try {
        plaintext = await lockbox.fields.decryptBytes(
          field.table,
          field.column,
          row.key,
          row.value,
        );
      } catch (err) {
        const code = err instanceof LockboxError ? err.code : 'INTERNAL';
        await record(lockbox, invocation, 'field.decrypt', field, label, 'error', code);
        throw err;
      }
      await record(lockbox, invocation, 'field.decrypt', field, label, 'ok');
      const { output } = invocation;
      if (output.json) {
        output.result(
          {
            table: field.table,
            column: field.column,
            key: row.key,
            value: plaintext.toString('utf8'),
          },
          () => [],
        );
      } else {
        output.raw(plaintext);
        if (flags.newline) output.raw('\n');
      }
      plaintext.fill(0);
    });

  fields
    .command('encrypt')
    .description(
      'read a plaintext on stdin and print its ciphertext for one row (the row is not written)',
    )
    .requiredOption('--table <table>', 'the application table')
    .requiredOption('--column <column>', 'the column')
    .option('--key <column=value>', 'a row-key column and its value (repeat for each)', repeatable)
    .option('--prompt', 'when stdin is a terminal, prompt for the value without echo')
    .action(async (flags: FieldFlags & { key?: string[]; prompt?: boolean }, command: Command) => {
      const invocation = context.invocation(command);
      const lockbox = await invocation.open();
      const field = await lockbox.fields.registration(flags.table, flags.column);
      const key = rowKeyOf(flags.key, field);
      const label = describeRowKey(
        field.primaryKey,
        field.primaryKey.map((c) => key[c] ?? ''),
      );
      const plaintext = await invocation.readSecret(`the value of ${field.table}.${field.column}`, {
        prompt: flags.prompt === true,
      });
      let ciphertext: string;
      try {
        ciphertext = await lockbox.fields.encrypt(field.table, field.column, key, plaintext);
      } finally {
        plaintext.fill(0);
      }
      await record(lockbox, invocation, 'field.encrypt', field, label, 'ok');
      invocation.output.result(
        { table: field.table, column: field.column, key, ciphertext },
        (r) => r.ciphertext,
      );
    });
}
