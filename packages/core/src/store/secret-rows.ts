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
 * A few statements join lockbox_data_keys (counting secrets per data key, the
 * write guard "this data key is still active"): they are about secret rows, so
 * they live here; the data keys table's own statements do not.
 */
import { CompiledQuery, type Expression, type Insertable, type Selectable, sql } from 'kysely';
import type { Executor } from './executor.js';
import { markPrepared } from './prepared-statements.js';
import type { SecretTable, ValueType } from './schema.js';
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
  const query = CompiledQuery.raw(text, [scope, name]) as CompiledQuery<Pick<SecretRow, C>>;
  const { rows } = await db.executeQuery(query);
  return rows[0];
}

/** The whole row (the audited read's select), or undefined. */
export function readSecretRow(
  db: Executor,
  scope: string,
  name: string,
): Promise<SecretRow | undefined> {
  return readColumnsAt(db, SECRET_COLUMNS, scope, name);
}

/** Only what opening the value needs (the unaudited get's select), or undefined. */
export function readSecretValue(
  db: Executor,
  scope: string,
  name: string,
): Promise<Pick<SecretRow, (typeof VALUE_COLUMNS)[number]> | undefined> {
  return readColumnsAt(db, VALUE_COLUMNS, scope, name);
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

/** Secrets per scope, in scope order (of these scopes, or all, Lockbox's own included). */
export async function countSecretsPerScope(
  db: Executor,
  scopes?: readonly string[],
): Promise<{ scope: string; secrets: number }[]> {
  let query = db
    .selectFrom('lockbox_secrets')
    .select((eb) => ['scope', eb.fn.countAll<string | number>().as('count')])
    .groupBy('scope')
    .orderBy('scope');
  if (scopes !== undefined) query = query.where('scope', 'in', scopes);
  return (await query.execute()).map((r) => ({ scope: r.scope, secrets: Number(r.count) }));
}

/**
 * Scopes with their secret counts, in the database's order of scope names.
 * With `prefix`, only scopes whose names begin with it (exactly, case and all:
 * compared as a substring, never with LIKE, whose case rules differ between
 * SQLite and PostgreSQL); with `after`, only those ordered after that name;
 * with `limit`, at most that many.
 */
export async function scopeSecretCounts(
  db: Executor,
  options: { prefix?: string; after?: string; limit?: number },
): Promise<{ scope: string; secrets: number }[]> {
  const { prefix, after, limit } = options;
  let query = db
    .selectFrom('lockbox_secrets')
    .select((eb) => ['scope', eb.fn.countAll<string | number>().as('count')]);
  if (prefix !== undefined && prefix !== '') {
    // Both dialects count substr's length in characters (code points), as Array.from does.
    const length = Array.from(prefix).length;
    query = query.where((eb) =>
      eb(eb.fn('substr', ['scope', eb.lit(1), eb.val(length)]), '=', prefix),
    );
  }
  if (after !== undefined) query = query.where('scope', '>', after);
  query = query.groupBy('scope').orderBy('scope');
  if (limit !== undefined) query = query.limit(limit);
  const rows = await query.execute();
  return rows.map((r) => ({ scope: r.scope, secrets: Number(r.count) }));
}

/** All secrets, or those of the application's scopes only. */
export async function countSecrets(
  db: Executor,
  options: { userScopesOnly?: boolean } = {},
): Promise<number> {
  let query = db
    .selectFrom('lockbox_secrets')
    .select((eb) => eb.fn.countAll<string | number>().as('count'));
  if (options.userScopesOnly === true) query = query.where(isUserScope('scope'));
  return Number((await query.executeTakeFirstOrThrow()).count);
}

/** Secrets whose ciphertext starts with `tag` (e.g. "lb1:", rows written before format 2). */
export async function countSecretsTagged(db: Executor, tag: string): Promise<number> {
  const row = await db
    .selectFrom('lockbox_secrets')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where(sql<boolean>`substr(ciphertext, 1, ${tag.length}) = ${tag}`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// ---- Joined with lockbox_data_keys: secrets counted or found through their data key.

/** Secrets per (data key, scope), in scope order: what status checks key by key. */
export async function countSecretsPerDataKey(
  db: Executor,
): Promise<{ dataKeyId: string; scope: string; secrets: number }[]> {
  const rows = await db
    .selectFrom('lockbox_secrets')
    .select((eb) => ['data_key_id', 'scope', eb.fn.countAll<string | number>().as('count')])
    .groupBy(['data_key_id', 'scope'])
    .orderBy('scope')
    .execute();
  return rows.map((r) => ({ dataKeyId: r.data_key_id, scope: r.scope, secrets: Number(r.count) }));
}

/**
 * Secrets per (master key, state) of their data key; both null for secrets whose
 * data key is missing.
 */
export async function countSecretsPerMasterKey(
  db: Executor,
): Promise<{ master: string | null; state: string | null; secrets: number }[]> {
  const rows = await db
    .selectFrom('lockbox_secrets as s')
    .leftJoin('lockbox_data_keys as d', 'd.id', 's.data_key_id')
    .select((eb) => [
      'd.master_fingerprint as master',
      'd.state as state',
      eb.fn.countAll<string | number>().as('n'),
    ])
    .groupBy(['d.master_fingerprint', 'd.state'])
    .execute();
  return rows.map((r) => ({ master: r.master, state: r.state, secrets: Number(r.n) }));
}

/** Secrets on live (not destroyed) data keys wrapped under `fingerprint`. */
export async function countSecretsUnderMasterKey(
  db: Executor,
  fingerprint: string,
): Promise<number> {
  const row = await db
    .selectFrom('lockbox_secrets as s')
    .innerJoin('lockbox_data_keys as d', 'd.id', 's.data_key_id')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('d.master_fingerprint', '=', fingerprint)
    .where('d.state', '!=', 'destroyed')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Secrets of user scopes on live data keys: what a data re-key re-encrypts. */
export async function countSecretsOnLiveUserKeys(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('lockbox_secrets as s')
    .innerJoin('lockbox_data_keys as d', 'd.id', 's.data_key_id')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('d.state', '!=', 'destroyed')
    .where(isUserScope('d.scope'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The first such secret in (scope, name) order, to prove the keys open it. */
export async function firstSecretOnLiveUserKey(db: Executor): Promise<SecretValueRow | undefined> {
  return db
    .selectFrom('lockbox_secrets as s')
    .innerJoin('lockbox_data_keys as d', 'd.id', 's.data_key_id')
    .select(['s.scope', 's.name', 's.value_type', 's.ciphertext', 's.version', 's.created_at'])
    .where('d.state', '!=', 'destroyed')
    .where(isUserScope('d.scope'))
    .orderBy('s.scope')
    .orderBy('s.name')
    .limit(1)
    .executeTakeFirst();
}

/** One secret encrypted under this data key, if any (to prove a recovered key opens it). */
export async function sampleSecretOnDataKey(
  db: Executor,
  dataKeyId: string,
): Promise<SecretValueRow | undefined> {
  return db
    .selectFrom('lockbox_secrets')
    .select(['scope', 'name', 'value_type', 'ciphertext', 'version', 'created_at'])
    .where('data_key_id', '=', dataKeyId)
    .limit(1)
    .executeTakeFirst();
}

/** Whether any secret is still encrypted under a retiring data key (one index probe). */
export async function anySecretOnRetiringKey(db: Executor): Promise<boolean> {
  const row = await db
    .selectFrom('lockbox_secrets')
    .select('data_key_id')
    .where(
      'data_key_id',
      'in',
      db.selectFrom('lockbox_data_keys').select('id').where('state', '=', 'retiring'),
    )
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * A condition on lockbox_data_keys rows: no secret is encrypted under this key
 * (for the statement that destroys retiring keys).
 */
export function noSecretOnDataKey(): Expression<boolean> {
  return sql<boolean>`not exists (select 1 from ${sql.table('lockbox_secrets')} where ${sql.ref('lockbox_secrets.data_key_id')} = ${sql.ref('lockbox_data_keys.id')})`;
}

/**
 * PostgreSQL: waits for secret writes in flight and holds new ones until the
 * caller's transaction ends, so a "no secret uses this key" check in it cannot
 * be overtaken by a write.
 */
export async function holdSecretWrites(trx: Executor): Promise<void> {
  await sql`lock table ${sql.table('lockbox_secrets')} in share mode`.execute(trx);
}

/**
 * A data re-key's batched compare-and-swap on secret rows (rotation/
 * compare-and-swap-rows.ts runs it): each row keyed by (scope, name) gets its new
 * ciphertext and data key only while it still holds the ciphertext read.
 */
export const SECRET_REKEY_SWAP = {
  table: 'lockbox_secrets',
  keys: [{ column: 'scope' }, { column: 'name' }],
  compared: 'ciphertext',
  set: ['ciphertext', 'data_key_id'],
} as const;
