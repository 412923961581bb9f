/**
 * Part of lockbox_secrets' owner (with secret-rows.ts, which holds the reads and
 * writes of rows): the questions asked about many secret rows at once —
 * how many per scope, per data key or per master key, which secret a data key
 * still encrypts — and a data re-key's statements on them. Most join
 * lockbox_data_keys: they count or find secrets through their data key, so they
 * are about secret rows and live here, not with the data keys' own statements.
 */
import { type Expression, sql } from 'kysely';
import type { Executor } from './executor.js';
import type { SecretValueRow } from './secret-rows.js';
import { isUserScope } from './user-scope-filter.js';

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
 * A data re-key's batched compare-and-swap on secret rows (store/
 * compare-and-swap-rows.ts runs it): each row keyed by (scope, name) gets its new
 * ciphertext and data key only while it still holds the ciphertext read.
 */
export const SECRET_REKEY_SWAP = {
  table: 'lockbox_secrets',
  keys: [{ column: 'scope' }, { column: 'name' }],
  compared: 'ciphertext',
  set: ['ciphertext', 'data_key_id'],
} as const;
