/**
 * Data re-key, for a suspected compromise of data keys: every user scope gets a
 * new data key, every secret and every registered field's row is re-encrypted
 * under it, and the old data keys are destroyed (wrapped and wrapped_recovery
 * set to null, state 'destroyed').
 *
 * Steps (checkpointed in the job, each batch committed with its checkpoint):
 *   switch   the scopes' active data keys become 'retiring' (one statement).
 *            From then on writers get a new data key: DataKeys.activeFor creates
 *            it on first use, for the application and for this job alike.
 *   pass 0   secrets whose data key is retiring, then each field's "lb1:" rows
 *            whose key id is retiring, are decrypted and re-encrypted under the
 *            scope's new key, with compare-and-swap on the old ciphertext: an
 *            application write in between wins and is never overwritten.
 *   pass 1…  the same walk again, to find rows written with a retiring key by a
 *            writer that read the active key just before the switch. Repeated
 *            until a pass finds none (at most MAX_PASSES passes in all).
 *   destroy  retiring data keys that no secret references are destroyed, in a
 *            transaction that (on PostgreSQL) first blocks secret writes. If the
 *            last pass still found rows on retiring keys, nothing is destroyed
 *            and the result says so: a rerun finishes the job.
 *            A retiring key of a registered field's scope is destroyed only once
 *            the field grace period has passed since its switch: an application
 *            may have encrypted a value with it just before the switch and store
 *            it in its own table later, where no Lockbox lock can wait for it.
 *            Until then it is kept ("deferred"); `rekeyData({ finish: true })`
 *            (or the next re-key) re-encrypts such late rows and destroys it.
 * The internal scopes (INTERNAL_SCOPE_PREFIX) are never switched or destroyed,
 * with one exception: the first switch batch retires the audit log's MAC key
 * (state 'retiring', kept wrapped for ever as verify-only), so the log's next
 * entry is MACed under a new key version. Whoever obtained the old data keys
 * cannot extend the log under the old audit key (audit/audit-verifier.ts).
 *
 * Atomic mode runs switch and pass 0 in one transaction (all rows move or none
 * do); the verification passes and destroy follow it, so that writers that
 * queued behind that transaction with the old key are caught too.
 *
 * Invariant: a data key is destroyed only after a pass over every secret and
 * field row found no row that needs it; until then it stays wrapped, so every
 * row is readable at every instant.
 */

import type { Kysely } from 'kysely';
import type { LockboxSchema } from '../store/schema.js';
import { withBatchTransactions } from './batch-transactions.js';
import { atomicPartPending, MAX_PASSES } from './checkpoint.js';
import { finishDataRekey } from './data-rekey-finish.js';
import type { RekeyRunOptions } from './data-rekey-job.js';
import { RekeyWalker } from './data-rekey-pass.js';

type Db = Kysely<LockboxSchema>;

/** Walks the job's remaining steps to the end. Returns the destroyed data key ids. */
export async function runDataRekey(options: RekeyRunOptions): Promise<string[]> {
  const walker = new RekeyWalker(options);
  const touch = (trx: Db) => options.lock.touch(trx);
  if (options.job.mode === 'atomic' && atomicPartPending(options.job.checkpoint)) {
    await withBatchTransactions(options.db, 'atomic', touch, (batches) => walker.walk(batches, 1));
  }
  await withBatchTransactions(options.db, 'online', touch, (batches) =>
    walker.walk(batches, MAX_PASSES),
  );
  return finishDataRekey(options);
}
