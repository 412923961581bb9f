/**
 * lockbox_data_keys, continued (with store/data-key-rows.ts and
 * data-key-backup-rows.ts, the only code that runs SQL on it): the statements of
 * whole-table work — keys by master key, counts and the census, and the state
 * changes of a data re-key. Split off to keep each file readable, not because
 * the table has two owners.
 */
import { sql } from 'kysely';
import { compareAndSwapRows } from './compare-and-swap-rows.js';
import type { DialectName } from './connect.js';
import type { DataKeyRow, UserScopeCondition, WrappedDataKeyRow } from './data-key-rows.js';
import type { Executor } from './executor.js';
import { noSecretOnDataKey } from './secret-row-counts.js';

// ---- by master key

/** Live data keys wrapped under the master key `fingerprint`. */
export async function liveDataKeyCountUnder(db: Executor, fingerprint: string): Promise<number> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('master_fingerprint', '=', fingerprint)
    .where('state', '!=', 'destroyed')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The first live data key under `fingerprint` in id order (the one a rotation proves). */
export async function firstLiveDataKeyUnder(
  db: Executor,
  fingerprint: string,
): Promise<WrappedDataKeyRow | undefined> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('master_fingerprint', '=', fingerprint)
    .where('state', '!=', 'destroyed')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}

/** Any one live data key under `fingerprint` (the startup check unwraps one per master key). */
export async function someLiveDataKeyUnder(
  db: Executor,
  fingerprint: string,
): Promise<WrappedDataKeyRow> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('master_fingerprint', '=', fingerprint)
    .where('state', '!=', 'destroyed')
    .limit(1)
    .executeTakeFirstOrThrow();
}

/** The next batch of wrapped live keys under `fingerprint` after `afterId`, in id order. */
export async function liveWrappedDataKeysUnder(
  db: Executor,
  fingerprint: string,
  afterId: string | null,
  limit: number,
): Promise<(WrappedDataKeyRow & { wrapped: string })[]> {
  let query = db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('master_fingerprint', '=', fingerprint)
    .where('state', '!=', 'destroyed')
    .where('wrapped', 'is not', null);
  if (afterId !== null) query = query.where('id', '>', afterId);
  return (await query.orderBy('id').limit(limit).execute()) as (WrappedDataKeyRow & {
    wrapped: string;
  })[];
}

/** Whether any data key, in any state, names `fingerprint`. */
export async function anyDataKeyUnder(db: Executor, fingerprint: string): Promise<boolean> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select('id')
    .where('master_fingerprint', '=', fingerprint)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Master keys wrapping live data keys (unordered). */
export async function masterFingerprintsOfLiveDataKeys(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('lockbox_data_keys')
    .select('master_fingerprint')
    .distinct()
    .where('state', '!=', 'destroyed')
    .where('master_fingerprint', 'is not', null)
    .execute();
  return rows.map((r) => r.master_fingerprint as string);
}

/** Live data keys per master key (a null fingerprint counted too). */
export async function liveDataKeyCountsByMaster(
  db: Executor,
): Promise<{ master_fingerprint: string | null; count: string | number }[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select((eb) => ['master_fingerprint', eb.fn.countAll<string | number>().as('count')])
    .where('state', '!=', 'destroyed')
    .groupBy('master_fingerprint')
    .execute();
}

/** One data key's new wrapping: its id, the wrapping read, the new one and its master key. */
export interface DataKeyRewrap {
  id: string;
  expected: string;
  wrapped: string;
  masterFingerprint: string;
}

/**
 * A master rotation's batch, in one statement: each data key gets its new
 * wrapping only while it still holds the one read (a key another instance
 * re-wrapped or retired meanwhile is left alone). Returns how many did.
 */
export async function rewrapDataKeysIfUnchanged(
  trx: Executor,
  dialect: DialectName,
  rewraps: readonly DataKeyRewrap[],
  updatedAt: string,
): Promise<number> {
  return compareAndSwapRows(
    trx,
    dialect,
    {
      table: 'lockbox_data_keys',
      keys: [{ column: 'id' }],
      compared: 'wrapped',
      set: ['wrapped', 'master_fingerprint'],
      constants: { updated_at: updatedAt },
    },
    rewraps.map((r) => [r.id, r.expected, r.wrapped, r.masterFingerprint]),
  );
}

// ---- counts

export async function liveDataKeyCount(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where('state', '!=', 'destroyed')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Live user data keys and the user scopes they serve. */
export async function liveUserDataKeyCounts(
  db: Executor,
  userScope: UserScopeCondition,
): Promise<{ dataKeys: number; scopes: number }> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => [
      eb.fn.countAll<string | number>().as('n'),
      eb.fn.count<string | number>('scope').distinct().as('scopes'),
    ])
    .where('state', '!=', 'destroyed')
    .where(userScope('scope'))
    .executeTakeFirstOrThrow();
  return { dataKeys: Number(row.n), scopes: Number(row.scopes) };
}

/** Keys counted by state, master key and kind of scope (user, the audit scope, other internal). */
export async function dataKeyCensus(
  db: Executor,
  userScope: UserScopeCondition,
  auditScope: string,
): Promise<
  {
    state: DataKeyRow['state'];
    master_fingerprint: string | null;
    kind: 'user' | 'audit' | 'internal';
    n: string | number;
  }[]
> {
  return db
    .selectFrom('lockbox_data_keys')
    .select((eb) => [
      'state',
      'master_fingerprint',
      sql<
        'user' | 'audit' | 'internal'
      >`case when ${userScope('scope')} then 'user' when scope = ${auditScope} then 'audit' else 'internal' end`.as(
        'kind',
      ),
      eb.fn.countAll<string | number>().as('n'),
    ])
    .groupBy(['state', 'master_fingerprint', 'kind'])
    .execute();
}

// ---- state changes of a data re-key

/** The scope's active keys become retiring (the audit key's switch to a new version). */
export async function markDataKeyRetiring(db: Executor, scope: string, at: string): Promise<void> {
  await db
    .updateTable('lockbox_data_keys')
    .set({ state: 'retiring', updated_at: at })
    .where('scope', '=', scope)
    .where('state', '=', 'active')
    .execute();
}

/** The next user scopes after `after` with an active key made before `startedAt`, in order. */
export async function scopesToSwitch(
  db: Executor,
  userScope: UserScopeCondition,
  options: { after: string | null; startedAt: string; limit: number },
): Promise<string[]> {
  let query = db
    .selectFrom('lockbox_data_keys')
    .select('scope')
    .distinct()
    .where('state', '=', 'active')
    .where('created_at', '<=', options.startedAt)
    .where(userScope('scope'));
  if (options.after !== null) query = query.where('scope', '>', options.after);
  return (await query.orderBy('scope').limit(options.limit).execute()).map((r) => r.scope);
}

/** The scopes' active keys made before `startedAt` become retiring; returns how many. */
export async function markScopesRetiring(
  db: Executor,
  scopes: readonly string[],
  startedAt: string,
  at: string,
): Promise<number> {
  const retired = await db
    .updateTable('lockbox_data_keys')
    .set({ state: 'retiring', updated_at: at })
    .where('scope', 'in', scopes)
    .where('state', '=', 'active')
    .where('created_at', '<=', startedAt)
    .executeTakeFirst();
  return Number(retired.numUpdatedRows);
}

/**
 * Destroys (wrapped and wrapped_recovery null, state 'destroyed') the retiring
 * user keys no secret references, except keys of `graceScopes` switched after
 * `graceCutoff`; returns their ids. The secret check is in the same statement so
 * that nothing can come between it and the destruction.
 */
export async function destroyUnusedRetiringKeys(
  db: Executor,
  userScope: UserScopeCondition,
  options: { graceScopes: readonly string[]; graceCutoff: string; at: string },
): Promise<string[]> {
  const { graceScopes, graceCutoff } = options;
  const rows = await db
    .updateTable('lockbox_data_keys')
    .set({ wrapped: null, wrapped_recovery: null, state: 'destroyed', updated_at: options.at })
    .where('state', '=', 'retiring')
    .where(userScope('scope'))
    .where((eb) =>
      graceScopes.length === 0
        ? eb.lit(true)
        : eb.or([eb('scope', 'not in', graceScopes), eb('updated_at', '<=', graceCutoff)]),
    )
    .where(noSecretOnDataKey())
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** The retiring user keys: their scopes and when each was switched. */
export async function retiringUserDataKeys(
  db: Executor,
  userScope: UserScopeCondition,
): Promise<Pick<DataKeyRow, 'scope' | 'updated_at'>[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['scope', 'updated_at'])
    .where('state', '=', 'retiring')
    .where(userScope('scope'))
    .execute();
}
