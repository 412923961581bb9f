/**
 * lockbox_data_keys, the third part (with store/data-key-rows.ts and
 * data-key-state-rows.ts, the only code that runs SQL on it): what backup,
 * snapshots and recovery read and write — recovery wraps, user keys page by
 * page, counts for headers and coverage. Unwrapping and wrapping to the
 * recipient stay with their callers in backup/.
 */
import type { Updateable } from 'kysely';
import type { DataKeyRow, UserScopeCondition } from './data-key-rows.js';
import type { Executor } from './executor.js';
import type { DataKeyTable } from './schema.js';

/** Live keys after `after` (ids compare as text; '' is before all), in id order, with both wraps. */
export async function liveDataKeysAfter(
  db: Executor,
  after: string,
  limit: number,
): Promise<Pick<DataKeyRow, 'id' | 'scope' | 'wrapped' | 'wrapped_recovery'>[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped', 'wrapped_recovery'])
    .where('state', '!=', 'destroyed')
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Live keys with no recovery wrap. */
export async function liveDataKeysWithoutRecoveryWrap(
  db: Executor,
): Promise<Pick<DataKeyRow, 'id' | 'scope' | 'wrapped'>[]> {
  return db
    .selectFrom('lockbox_data_keys')
    .select(['id', 'scope', 'wrapped'])
    .where('state', '!=', 'destroyed')
    .where('wrapped_recovery', 'is', null)
    .execute();
}

export async function liveDataKeysWithoutRecoveryWrapCount(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where('state', '!=', 'destroyed')
    .where('wrapped_recovery', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The scopes (sorted) that have a live key with no recovery wrap. */
export async function scopesMissingRecoveryWrap(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('lockbox_data_keys')
    .select('scope')
    .distinct()
    .where('state', '!=', 'destroyed')
    .where('wrapped_recovery', 'is', null)
    .orderBy('scope')
    .execute();
  return rows.map((r) => r.scope);
}

/** Live keys, and how many of them have a recovery wrap. */
export async function recoveryWrapCoverage(
  db: Executor,
): Promise<{ total: string | number; wrapped: string | number }> {
  return db
    .selectFrom('lockbox_data_keys')
    .select((eb) => [
      eb.fn.countAll<string | number>().as('total'),
      eb.fn.count<string | number>('wrapped_recovery').as('wrapped'),
    ])
    .where('state', '!=', 'destroyed')
    .executeTakeFirstOrThrow();
}

export async function setRecoveryWrap(db: Executor, id: string, wrapped: string): Promise<void> {
  await db
    .updateTable('lockbox_data_keys')
    .set({ wrapped_recovery: wrapped })
    .where('id', '=', id)
    .execute();
}

/** The key wrapped anew under another master key (recovery onto a new key). */
export async function rewrapDataKey(
  db: Executor,
  id: string,
  wrap: Required<Pick<Updateable<DataKeyTable>, 'wrapped' | 'master_fingerprint' | 'updated_at'>>,
): Promise<void> {
  await db.updateTable('lockbox_data_keys').set(wrap).where('id', '=', id).execute();
}

/** Whether a live key is wrapped under `fingerprint`. */
export async function isLiveDataKeyUnder(db: Executor, fingerprint: string): Promise<boolean> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select('id')
    .where('state', '!=', 'destroyed')
    .where('master_fingerprint', '=', fingerprint)
    .executeTakeFirst();
  return row !== undefined;
}

/** User keys in any state (what a snapshot carries). */
export async function userDataKeyCount(
  db: Executor,
  userScope: UserScopeCondition,
): Promise<number> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where(userScope('scope'))
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

/**
 * Live keys outside Lockbox's own scopes created after `at` (keys an export
 * taken then lacks). Matches the prefix with LIKE as it always has.
 */
export async function liveDataKeysCreatedAfter(db: Executor, at: string): Promise<number> {
  const row = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where('state', '!=', 'destroyed')
    .where('scope', 'not like', 'lockbox:%')
    .where('created_at', '>', at)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Master keys (sorted) wrapping live user keys. */
export async function userMasterFingerprints(
  db: Executor,
  userScope: UserScopeCondition,
): Promise<string[]> {
  const rows = await db
    .selectFrom('lockbox_data_keys')
    .select('master_fingerprint')
    .distinct()
    .where(userScope('scope'))
    .where('state', '!=', 'destroyed')
    .where('master_fingerprint', 'is not', null)
    .orderBy('master_fingerprint')
    .execute();
  return rows.map((r) => r.master_fingerprint as string);
}

/** The next page of user keys, whole rows, in id order. */
export async function userDataKeysAfter(
  db: Executor,
  userScope: UserScopeCondition,
  after: string | undefined,
  limit: number,
): Promise<DataKeyRow[]> {
  let page = db.selectFrom('lockbox_data_keys').selectAll().where(userScope('scope'));
  if (after !== undefined) page = page.where('id', '>', after);
  return page.orderBy('id').limit(limit).execute();
}
