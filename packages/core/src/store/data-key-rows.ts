/**
 * lockbox_data_keys, the only code that runs SQL on it (schema history aside):
 * one row per data key, wrapped under a master key (and to the recovery
 * recipient), with its scope, version and state (active → retiring → destroyed).
 * Wrapping, unwrapping and what a state means are vault/data-keys.ts and
 * vault/integrity-key.ts; the rotations decide when states change. Several
 * functions here are on every audited read and write (DataKeys.open/activeFor)
 * or in a rotation's batch: each is one statement, exactly as its caller ran it.
 *
 * Keys by master key, counts and the data re-key's state changes are in
 * store/data-key-state-rows.ts, and backup's and recovery's statements in
 * store/data-key-backup-rows.ts: the same table's owner, split by concept.
 *
 * Which scopes are the application's and which Lockbox's own is decided by
 * store/user-scope-filter.ts; functions that walk user scopes take that
 * condition as `userScope` (the SQL condition on a scope column), so each call
 * site says which scopes it walks.
 */
import type { Insertable, RawBuilder, Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { DataKeyTable } from './schema.js';

export type DataKeyRow = Selectable<DataKeyTable>;
/** What unwrapping a data key needs. */
export type WrappedDataKeyRow = Pick<DataKeyRow, 'id' | 'scope' | 'wrapped'>;
/** The SQL condition "this scope column holds a user scope" (vault's isUserScope). */
export type UserScopeCondition = (column: string) => RawBuilder<boolean>;

/** Rows a single insert may carry: nine bound parameters a row, and SQLite allows 32,766. */
const INSERT_CHUNK = 1000;

// ---- one key

export async function dataKeyById(
  db: Executor,
  id: string,
): Promise<WrappedDataKeyRow | undefined> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The scope's active data key (the highest version, should rows ever disagree). */
export async function activeDataKeyFor(
  db: Executor,
  scope: string,
): Promise<WrappedDataKeyRow | undefined> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('scope', '=', scope)
    .where('state', '=', 'active')
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Only the id of activeDataKeyFor's key. */
export async function activeDataKeyIdFor(db: Executor, scope: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select('id')
    .where('scope', '=', scope)
    .where('state', '=', 'active')
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

/**
 * activeDataKeyIdFor as SQL text, for a statement written out by hand (the audit
 * append) that names the key in the same round trip; `scope` is its placeholder.
 */
export function activeDataKeyIdSql(scope: string): string {
  return `(select id from lockbox_data_keys where scope = ${scope} and state = 'active' order by version desc limit 1)`;
}

/** Every active key of the scope (an internal scope has exactly one, which callers check). */
export async function activeDataKeysOf(db: Executor, scope: string): Promise<WrappedDataKeyRow[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('scope', '=', scope)
    .where('state', '=', 'active')
    .execute();
}

/** Whether the scope has any data key, whatever its state. */
export async function scopeHasDataKey(db: Executor, scope: string): Promise<boolean> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select('id')
    .where('scope', '=', scope)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The scope of the data key with this id, or undefined when there is none. */
export async function dataKeyScope(db: Executor, id: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select('scope')
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.scope;
}

/** The key's version, or null when no key of `scope` has this id. */
export async function dataKeyVersionIn(
  db: Executor,
  scope: string,
  id: string,
): Promise<number | null> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select('version')
    .where('id', '=', id)
    .where('scope', '=', scope)
    .executeTakeFirst();
  return row === undefined ? null : Number(row.version);
}

export async function dataKeyState(
  db: Executor,
  id: string,
): Promise<DataKeyRow['state'] | undefined> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select('state')
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.state;
}

/** The highest version the scope has used (0: none), whatever the key's state. */
export async function latestDataKeyVersion(db: Executor, scope: string): Promise<number> {
  const latest = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => eb.fn.max('version').as('version'))
    .where('scope', '=', scope)
    .executeTakeFirst();
  return Number(latest?.version ?? 0);
}

/** Inserts one key, or several in one statement (a restore's batch). */
export async function insertDataKey(
  db: Executor,
  row: Insertable<DataKeyTable> | readonly Insertable<DataKeyTable>[],
): Promise<void> {
  await db
    .insertInto('lockbox_data_keys')
    .values(row as Insertable<DataKeyTable>[])
    .execute();
}

/**
 * Inserts new keys, skipping any whose (scope, version) another writer took
 * first (chunked to fit SQLite's parameter limit); returns how many went in.
 */
export async function insertDataKeysUnlessVersionTaken(
  db: Executor,
  rows: readonly Insertable<DataKeyTable>[],
): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const result = await db
      .insertInto('lockbox_data_keys')
      .values(rows.slice(start, start + INSERT_CHUNK))
      .onConflict((oc) => oc.columns(['scope', 'version']).doNothing())
      .executeTakeFirst();
    inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
  }
  return inserted;
}

// ---- keys by id or scope, for a batch

export async function dataKeysByIds(
  db: Executor,
  ids: readonly string[],
): Promise<WrappedDataKeyRow[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('id', 'in', ids)
    .execute();
}

/** dataKeysByIds with each key's state, in the same round trip. */
export async function dataKeysWithStateByIds(
  db: Executor,
  ids: readonly string[],
): Promise<Pick<DataKeyRow, 'id' | 'scope' | 'wrapped' | 'state'>[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped', 'state'])
    .where('id', 'in', ids)
    .execute();
}

/** The keys' states and the master keys wrapping them (for the census). */
export async function dataKeyStatesByIds(
  db: Executor,
  ids: readonly string[],
): Promise<Pick<DataKeyRow, 'id' | 'state' | 'master_fingerprint'>[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'state', 'master_fingerprint'])
    .where('id', 'in', ids)
    .execute();
}

/** The scopes' active keys, highest version first within each scope. */
export async function activeDataKeysOfScopes(
  db: Executor,
  scopes: readonly string[],
): Promise<WrappedDataKeyRow[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('scope', 'in', scopes)
    .where('state', '=', 'active')
    .orderBy('version', 'desc')
    .execute();
}

/** The highest version each scope has used. */
export async function latestDataKeyVersions(
  db: Executor,
  scopes: readonly string[],
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => ['scope', eb.fn.max('version').as('version')])
    .where('scope', 'in', scopes)
    .groupBy('scope')
    .execute();
  return new Map(rows.map((v) => [v.scope, Number(v.version)]));
}

/** The next live (not destroyed) user data keys after `after`, in id order. */
export async function liveUserDataKeysAfter(
  db: Executor,
  userScope: UserScopeCondition,
  after: string | null,
  limit: number,
): Promise<WrappedDataKeyRow[]> {
  let query = db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('state', '!=', 'destroyed')
    .where(userScope('scope'));
  if (after !== null) query = query.where('id', '>', after);
  return query.orderBy('id').limit(limit).execute();
}
