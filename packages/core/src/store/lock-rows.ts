/**
 * lockbox_locks, the only code that runs SQL on it (schema history aside): one
 * row per named lock saying who holds it and since when. On SQLite the row is
 * the lock itself; on PostgreSQL an advisory lock is, and the row only names its
 * holder. What holding means, staleness and takeover: rotation/rotation-lock.ts.
 */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { LockTable } from './schema.js';

export type LockRow = Selectable<LockTable>;

export async function lockRow(db: Executor, name: string): Promise<LockRow | undefined> {
  return db.selectFrom('lockbox_locks').selectAll().where('name', '=', name).executeTakeFirst();
}

/** Inserts the row unless one exists; true when this call took the lock. */
export async function insertLockRowIfFree(
  db: Executor,
  row: Insertable<LockTable>,
): Promise<boolean> {
  const inserted = await db
    .insertInto('lockbox_locks')
    .values(row)
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Writes the row whatever was there: for a caller that already holds the lock another way. */
export async function claimLockRow(db: Executor, row: LockRow): Promise<void> {
  await db
    .insertInto('lockbox_locks')
    .values(row)
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        holder: row.holder,
        acquired_at: row.acquired_at,
        heartbeat_at: row.heartbeat_at,
      }),
    )
    .execute();
}

/**
 * Gives the row of a holder presumed dead to `next`, compare-and-swap on the
 * holder and heartbeat read; false when someone else changed it first.
 */
export async function takeOverLockRow(
  db: Executor,
  stale: Pick<LockRow, 'name' | 'holder' | 'heartbeat_at'>,
  next: Pick<LockRow, 'holder' | 'acquired_at' | 'heartbeat_at'>,
): Promise<boolean> {
  const taken = await db
    .updateTable('lockbox_locks')
    .set(next)
    .where('name', '=', stale.name)
    .where('holder', '=', stale.holder)
    .where('heartbeat_at', '=', stale.heartbeat_at)
    .executeTakeFirst();
  return Number(taken.numUpdatedRows) === 1;
}

/** False when `holder` no longer holds the row (it was taken over). */
export async function refreshLockHeartbeat(
  db: Executor,
  name: string,
  holder: string,
  at: string,
): Promise<boolean> {
  const result = await db
    .updateTable('lockbox_locks')
    .set({ heartbeat_at: at })
    .where('name', '=', name)
    .where('holder', '=', holder)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) !== 0;
}

export async function renameLockHolder(
  db: Executor,
  name: string,
  holder: string,
  next: string,
): Promise<void> {
  await db
    .updateTable('lockbox_locks')
    .set({ holder: next })
    .where('name', '=', name)
    .where('holder', '=', holder)
    .execute();
}

/** Deletes the row only while `holder` still holds it. */
export async function deleteLockRow(db: Executor, name: string, holder: string): Promise<void> {
  await db
    .deleteFrom('lockbox_locks')
    .where('name', '=', name)
    .where('holder', '=', holder)
    .execute();
}
