/**
 * A consistent read of the store for exports and snapshots: every page of an
 * export sees the same moment, so counts in the header match the records and a
 * secret written mid-export is either wholly in or wholly out.
 *
 * PostgreSQL: a REPEATABLE READ, READ ONLY transaction on its own pooled
 * connection; other work is not blocked. SQLite: a deferred transaction, which in
 * WAL mode reads one snapshot while other processes keep writing; within this
 * process Kysely's single SQLite connection is held until the export ends, so
 * other queries of the same process wait for it (documented in
 * docs/backup-and-recovery.md).
 *
 * Used from async generators: the transaction opens on the first pull and is
 * always ended (rolled back — it wrote nothing) when the generator finishes,
 * throws, or is abandoned by its consumer.
 */
import type { Transaction } from 'kysely';
import type { Store } from '../store/connect.js';
import type { LockboxSchema } from '../store/schema.js';

export async function* consistentRead<T>(
  store: Pick<Store, 'db' | 'dialect'>,
  body: (trx: Transaction<LockboxSchema>) => AsyncGenerator<T>,
): AsyncGenerator<T> {
  let builder = store.db.startTransaction();
  if (store.dialect === 'postgres') {
    builder = builder.setIsolationLevel('repeatable read').setAccessMode('read only');
  }
  const trx = await builder.execute();
  try {
    yield* body(trx);
  } finally {
    if (!trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute();
  }
}
