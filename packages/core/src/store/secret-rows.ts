/**
 * The owner of lockbox_secrets: every statement Lockbox runs on secret rows
 * (schema history apart, store/migrations.ts) is defined here and nowhere else,
 * so how a row is read, guarded and written can be reviewed in one place.
 *
 * Every function takes the executor first — the store's handle or a caller's
 * transaction (executor.ts) — so any service can use it inside its own
 * transaction. Rows are the schema's types (store/schema.ts), never re-declared.
 * What the rows mean (sealing, opening, when a write may retry) is vault's.
 *
 * Statements about many rows at once (counts per scope and per data key, a
 * data re-key's) are in secret-row-counts.ts, the other half of this owner. The
 * write guards read lockbox_data_keys ("this data key is still active"): they
 * are about secret rows, so they live here; the data keys' own statements do not.
 */
import { CompiledQuery, type Insertable, type Selectable, sql } from 'kysely';
import type { Executor } from './executor.js';
import { markPrepared } from './prepared-statements.js';
import type { SecretTable, ValueType } from './schema.js';
import {
  CONNECTION_NOT_FREE,
  type SqliteConnectionSource,
  selectNow,
} from './sqlite-direct-read.js';
import { isUserScope } from './user-scope-filter.js';

export type SecretRow = Selectable<SecretTable>;
/** The columns a secret's ciphertext is opened with (see vault/secret-ciphertext.ts). */
export type SecretValueRow = Pick<
  SecretRow,
  'scope' | 'name' | 'value_type' | 'ciphertext' | 'version' | 'created_at'
>;
/** A row's version and creation time: what a guarded write must still find. */
export interface StoredVersion {
  version: number;
  createdAt: string;
}

export const SECRET_COLUMNS = [
  'scope',
  'name',
  'version',
  'value_type',
  'ciphertext',
  'data_key_id',
  'metadata',
  'created_at',
  'updated_at',
  'updated_by',
] as const satisfies readonly (keyof SecretTable)[];

const VALUE_COLUMNS = ['value_type', 'ciphertext', 'version', 'created_at'] as const;

/**
 * The hot reads' SQL, compiled once per store: building and compiling through
 * Kysely on every read cost about a third of a warm read on SQLite, and the text
 * is marked to be a named prepared statement on PostgreSQL. Keyed by the
 * executor's adapter, which a store's transactions share with the store.
 */
/** Per adapter, per column list (one of this module's constants), the compiled text. */
const compiled = new WeakMap<object, Map<readonly string[], string>>();

/** The row at (scope, name) with these columns, through its statement compiled once. */
async function readColumnsAt<C extends keyof SecretRow>(
  db: Executor,
  columns: readonly C[],
  scope: string,
  name: string,
  sqlite?: SqliteConnectionSource,
): Promise<Pick<SecretRow, C> | undefined> {
  const adapter = db.getExecutor().adapter;
  let texts = compiled.get(adapter);
  if (texts === undefined) {
    texts = new Map();
    compiled.set(adapter, texts);
  }
  let text = texts.get(columns);
  if (text === undefined) {
    text = markPrepared(
      db
        .selectFrom('lockbox_secrets')
        .select(columns)
        .where('scope', '=', '')
        .where('name', '=', '')
        .compile().sql,
    );
    texts.set(columns, text);
  }
  const connection = sqlite?.();
  if (connection !== undefined) {
    const row = selectNow(connection, text, [scope, name]);
    if (row !== CONNECTION_NOT_FREE) return row as Pick<SecretRow, C> | undefined;
  }
  const query = CompiledQuery.raw(text, [scope, name]) as CompiledQuery<Pick<SecretRow, C>>;
  const { rows } = await db.executeQuery(query);
  return rows[0];
}

/**
 * The whole row (the audited read's select), or undefined. With `sqlite` (the
 * store's connection, `db` being the store's handle) it runs on the connection
 * directly when that is free (see selectNow).
 */
export function readSecretRow(
  db: Executor,
  scope: string,
  name: string,
  sqlite?: SqliteConnectionSource,
): Promise<SecretRow | undefined> {
  return readColumnsAt(db, SECRET_COLUMNS, scope, name, sqlite);
}

/** Only what opening the value needs (the unaudited get's select), or undefined; `sqlite` as above. */
export function readSecretValue(
  db: Executor,
  scope: string,
  name: string,
  sqlite?: SqliteConnectionSource,
): Promise<Pick<SecretRow, (typeof VALUE_COLUMNS)[number]> | undefined> {
  return readColumnsAt(db, VALUE_COLUMNS, scope, name, sqlite);
}

export async function secretExists(db: Executor, scope: string, name: string): Promise<boolean> {
  const row = await db
    .selectFrom('lockbox_secrets')
    .select('version')
    .where('scope', '=', scope)
    .where('name', '=', name)
    .executeTakeFirst();
  return row !== undefined;
}

/** The stored version and created_at of a row, or undefined when there is none. */
export async function readStoredVersion(
  db: Executor,
  scope: string,
  name: string,
): Promise<StoredVersion | undefined> {
  const row = await db
    .selectFrom('lockbox_secrets')
    .select(['version', 'created_at'])
    .where('scope', '=', scope)
    .where('name', '=', name)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : { version: Number(row.version), createdAt: row.created_at };
}

/**
 * Inserts the first version of a row, only if `row.data_key_id` is still the
 * active data key and no row exists yet. Checking the key's state inside the
 * writing statement is what makes writes safe during a re-key: a writer that
 * looked the key up before the switch cannot store a row under a key that is
 * about to be destroyed (the re-key's final check waits for statements already
 * in flight; see rotation/data-rekey.ts). False when nothing was written.
 */
export async function insertSecretIfKeyActive(db: Executor, row: SecretRow): Promise<boolean> {
  const inserted = await db
    .insertInto('lockbox_secrets')
    .columns(SECRET_COLUMNS)
    .expression(
      db
        .selectFrom('lockbox_data_keys')
        .select((eb) => [
          eb.cast<string>(eb.val(row.scope), 'text').as('scope'),
          eb.cast<string>(eb.val(row.name), 'text').as('name'),
          sql.lit(row.version).as('version'),
          eb.cast<ValueType>(eb.val(row.value_type), 'text').as('value_type'),
          eb.cast<string>(eb.val(row.ciphertext), 'text').as('ciphertext'),
          eb.cast<string>(eb.val(row.data_key_id), 'text').as('data_key_id'),
          eb.cast<string | null>(eb.val(row.metadata), 'text').as('metadata'),
          eb.cast<string>(eb.val(row.created_at), 'text').as('created_at'),
          eb.cast<string>(eb.val(row.updated_at), 'text').as('updated_at'),
          eb.cast<string | null>(eb.val(row.updated_by), 'text').as('updated_by'),
        ])
        .where('id', '=', row.data_key_id)
        .where('state', '=', 'active'),
    )
    .onConflict((oc) => oc.columns(['scope', 'name']).doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * Overwrites the row with its next version, only if it is still at `current`
 * (so the version sealed into the ciphertext is the one stored) and
 * `row.data_key_id` is still active. With `keepMetadata` the stored metadata
 * stays. False when nothing was written.
 */
export async function updateSecretIfUnchanged(
  db: Executor,
  row: SecretRow,
  current: StoredVersion,
  keepMetadata: boolean,
): Promise<boolean> {
  const updated = await db
    .updateTable('lockbox_secrets')
    .set({
      version: row.version,
      value_type: row.value_type,
      ciphertext: row.ciphertext,
      data_key_id: row.data_key_id,
      ...(keepMetadata ? {} : { metadata: row.metadata }),
      updated_at: row.updated_at,
      updated_by: row.updated_by,
    })
    .where('scope', '=', row.scope)
    .where('name', '=', row.name)
    .where('version', '=', current.version)
    .where('created_at', '=', current.createdAt)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('lockbox_data_keys')
          .select('id')
          .where('id', '=', row.data_key_id)
          .where('state', '=', 'active'),
      ),
    )
    .executeTakeFirst();
  return Number(updated.numUpdatedRows ?? 0n) > 0;
}

/**
 * The batch write guard: which of these data keys are active, and — with
 * `lock` (PostgreSQL) — held so until the caller's transaction ends (a data
 * re-key's switch waits for it). On SQLite the caller's transaction, which
 * writes next, is serialised with every other writer, so what it reads holds.
 * Reads lockbox_data_keys, but only to guard writes of secret rows.
 */
export async function holdActiveDataKeys(
  trx: Executor,
  ids: readonly string[],
  lock: boolean,
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  let query = trx
    .selectFrom('lockbox_data_keys')
    .select('id')
    .where('id', 'in', ids)
    .where('state', '=', 'active');
  if (lock) query = query.forShare();
  return new Set((await query.execute()).map((r) => r.id));
}

/** Inserts first versions; a row that already exists is left alone. Returns how many landed. */
export async function insertNewSecrets(db: Executor, rows: readonly SecretRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await db
    .insertInto('lockbox_secrets')
    .values(rows)
    .onConflict((oc) => oc.columns(['scope', 'name']).doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n);
}

/**
 * Overwrites rows with their next version: each lands only on a row still at
 * the version before it (and the created_at it was sealed with), so the version
 * bound into its ciphertext is the one stored. Returns how many landed.
 */
export async function overwriteSecretsAtNextVersion(
  db: Executor,
  rows: readonly SecretRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const written = await db
    .insertInto('lockbox_secrets')
    .values(rows)
    .onConflict((oc) =>
      oc
        .columns(['scope', 'name'])
        .doUpdateSet((eb) => ({
          version: eb.ref('excluded.version'),
          value_type: eb.ref('excluded.value_type'),
          ciphertext: eb.ref('excluded.ciphertext'),
          data_key_id: eb.ref('excluded.data_key_id'),
          metadata: eb.ref('excluded.metadata'),
          updated_at: eb.ref('excluded.updated_at'),
          updated_by: eb.ref('excluded.updated_by'),
        }))
        .where((eb) =>
          eb.and([
            eb(eb('lockbox_secrets.version', '+', 1), '=', eb.ref('excluded.version')),
            eb('lockbox_secrets.created_at', '=', eb.ref('excluded.created_at')),
          ]),
        ),
    )
    .executeTakeFirst();
  return Number(written.numInsertedOrUpdatedRows ?? 0n);
}

/** Deletes a row; false when there was none. */
export async function deleteSecretRow(db: Executor, scope: string, name: string): Promise<boolean> {
  const result = await db
    .deleteFrom('lockbox_secrets')
    .where('scope', '=', scope)
    .where('name', '=', name)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Every row (of one scope, or all), in scope and name order. */
export async function listSecretRows(db: Executor, scope?: string): Promise<SecretRow[]> {
  let query = db
    .selectFrom('lockbox_secrets')
    .select(SECRET_COLUMNS)
    .orderBy('scope')
    .orderBy('name');
  if (scope !== undefined) query = query.where('scope', '=', scope);
  return query.execute();
}

export interface SecretPage {
  /** Rows after this (scope, name), in primary-key order. */
  after: readonly [string, string] | null;
  limit: number;
  /** Only the application's scopes (isUserScope), never Lockbox's own. */
  userScopesOnly?: boolean;
  /** Only these scopes. */
  scopes?: readonly string[];
}

/**
 * A page of rows in (scope, name) order — the primary key's, so walking the
 * table stays linear in its rows.
 */
export async function secretRowsAfter(db: Executor, page: SecretPage): Promise<SecretRow[]> {
  let query = db.selectFrom('lockbox_secrets').select(SECRET_COLUMNS);
  if (page.userScopesOnly === true) query = query.where(isUserScope('scope'));
  if (page.scopes !== undefined) query = query.where('scope', 'in', page.scopes);
  const after = page.after;
  if (after !== null) {
    query = query.where((eb) =>
      eb(eb.refTuple('scope', 'name'), '>', eb.tuple(after[0], after[1])),
    );
  }
  return query.orderBy('scope').orderBy('name').limit(page.limit).execute();
}

/** A page of (scope, name, version) in primary-key order: what rollback detection compares. */
export async function secretVersionsAfter(
  db: Executor,
  after: readonly [string, string] | null,
  limit: number,
): Promise<Pick<SecretRow, 'scope' | 'name' | 'version'>[]> {
  let query = db.selectFrom('lockbox_secrets').select(['scope', 'name', 'version']);
  if (after !== null) {
    query = query.where((eb) =>
      eb(eb.refTuple('scope', 'name'), '>', eb.tuple(after[0], after[1])),
    );
  }
  return query.orderBy('scope').orderBy('name').limit(limit).execute();
}

/**
 * The rows at these (scope, name) pairs. With `forUpdate` (PostgreSQL) they
 * are locked until the caller's transaction ends, so what the caller decided
 * from them holds until it commits.
 */
export async function readSecretsAt(
  db: Executor,
  pairs: readonly { scope: string; name: string }[],
  forUpdate: boolean,
): Promise<SecretRow[]> {
  if (pairs.length === 0) return [];
  let query = db
    .selectFrom('lockbox_secrets')
    .select(SECRET_COLUMNS)
    .where((eb) =>
      eb(
        eb.refTuple('scope', 'name'),
        'in',
        pairs.map((p) => eb.tuple(p.scope, p.name)),
      ),
    );
  if (forUpdate) query = query.forUpdate();
  return query.execute();
}

/** Rows copied as they are (a snapshot restore into an empty store). */
export async function insertSecretRows(
  db: Executor,
  rows: readonly Insertable<SecretTable>[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('lockbox_secrets').values(rows).execute();
}
