/**
 * lockbox_tokens, the only code that runs SQL on it (schema history aside): one
 * row per API token, its hash (never the token), permissions, revocation and
 * MAC. What a row means, verifying and MACing it are tokens/tokens.ts's; the
 * integrity upgrade, the integrity report and the rollback check read here too.
 */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { TokenTable } from './schema.js';

export type TokenRow = Selectable<TokenTable>;

/** Inserts the row unless its id exists; true when this call inserted it. */
export async function insertTokenIfAbsent(
  db: Executor,
  row: Insertable<TokenTable>,
): Promise<boolean> {
  const inserted = await db
    .insertInto('lockbox_tokens')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function tokenById(db: Executor, id: string): Promise<TokenRow | undefined> {
  return db.selectFrom('lockbox_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every row, oldest first (`created`) or by id (`id`, the integrity report's order). */
export async function allTokens(db: Executor, order: 'created' | 'id'): Promise<TokenRow[]> {
  const query = db.selectFrom('lockbox_tokens').selectAll();
  return (
    order === 'created' ? query.orderBy('created_at').orderBy('id') : query.orderBy('id')
  ).execute();
}

/** Ids of the tokens not revoked, sorted. */
export async function unrevokedTokenIds(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('lockbox_tokens')
    .select('id')
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.id);
}

/**
 * Sets revoked_at on a token not yet revoked (a revoked one is left as it is),
 * and its MAC when `mac` is given (a row that fails its check gets none).
 */
export async function markTokenRevoked(
  db: Executor,
  id: string,
  revokedAt: string,
  mac: string | undefined,
): Promise<void> {
  await db
    .updateTable('lockbox_tokens')
    .set({ revoked_at: revokedAt, ...(mac === undefined ? {} : { mac }) })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Sets last_used_at unless another writer set it at or after `staleBefore`. */
export async function touchToken(
  db: Executor,
  id: string,
  now: string,
  staleBefore: string,
): Promise<void> {
  await db
    .updateTable('lockbox_tokens')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBefore)]))
    .execute();
}

/** Replaces one row's MAC (the integrity upgrade's stamping). */
export async function setTokenMac(db: Executor, id: string, mac: string): Promise<void> {
  await db.updateTable('lockbox_tokens').set({ mac }).where('id', '=', id).execute();
}
