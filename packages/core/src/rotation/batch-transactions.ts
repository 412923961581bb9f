/**
 * How a rotation's batches map onto transactions.
 *
 * Online: each batch is its own transaction, so a crash loses at most the batch
 * in flight and the store keeps serving between batches. Atomic: every batch runs
 * inside one transaction, so all of them commit or none does.
 *
 * Every transaction begins with `begin` — the lock's touch, a write — so that on
 * SQLite the transaction holds the write lock before it reads anything: a batch
 * never reads rows that another writer changes before the batch writes them back
 * (which SQLite would refuse with SQLITE_BUSY_SNAPSHOT).
 */
import type { Kysely } from 'kysely';
import type { LockboxSchema } from '../store/schema.js';
import type { RotationMode } from './rotation-mode.js';

type Db = Kysely<LockboxSchema>;

export interface BatchTransactions {
  /** Runs one batch in a transaction (its own, or the shared atomic one). */
  run<T>(batch: (trx: Db) => Promise<T>): Promise<T>;
  /**
   * Runs reads that write nothing: outside any transaction in online mode (so
   * they can run ahead of the next write), inside the atomic one otherwise.
   */
  read<T>(reads: (db: Db) => Promise<T>): Promise<T>;
  /** True in online mode: reads may overlap the previous batch's write. */
  readonly pipelined: boolean;
}

export async function withBatchTransactions<T>(
  db: Db,
  mode: RotationMode,
  begin: (trx: Db) => Promise<void>,
  body: (batches: BatchTransactions) => Promise<T>,
): Promise<T> {
  if (mode === 'atomic') {
    return db.transaction().execute(async (trx) => {
      await begin(trx);
      return body({ run: (batch) => batch(trx), read: (reads) => reads(trx), pipelined: false });
    });
  }
  return body({
    run: (batch) =>
      db.transaction().execute(async (trx) => {
        await begin(trx);
        return batch(trx);
      }),
    read: (reads) => reads(db),
    pipelined: true,
  });
}
