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
import { AUDIT_SCOPE } from '../audit/audit-keys.js';
import { nowIso } from '../clock.js';
import type { DialectName } from '../store/connect.js';
import type { LockboxSchema } from '../store/schema.js';
import {
  anySecretOnRetiringKey,
  holdSecretWrites,
  noSecretOnDataKey,
  SECRET_REKEY_SWAP,
} from '../store/secret-row-counts.js';
import { isUserScope } from '../store/user-scope-filter.js';
import type { DataKeys } from '../vault/data-keys.js';
import { META, setMeta } from '../vault/store-meta.js';
import { type BatchTransactions, withBatchTransactions } from './batch-transactions.js';
import { compareAndSwapRows } from './compare-and-swap-rows.js';
import type { FieldTable, KeyValues } from './field-table.js';
import type { ReencryptResult } from './reencrypt.js';
import {
  type Cursor,
  type PreparedBatch,
  prepareFieldRows,
  prepareSecrets,
  type RekeyTarget,
} from './rekey-batch.js';
import { RekeyKeys } from './rekey-keys.js';
import { finishJob, type RotationJob, saveJob } from './rotation-jobs.js';
import type { RotationLockHandle } from './rotation-lock.js';
import type { ProgressListener } from './rotation-progress.js';
import { switchScopes } from './switch-scopes.js';

type Db = Kysely<LockboxSchema>;

export const MAX_PASSES = 4;
/** Unreadable rows listed by id in the result (the count covers all of them). */
const MAX_LISTED = 20;

export interface RekeyCheckpoint {
  phase: 'switch' | 'secrets' | 'fields' | 'destroy' | 'done';
  /** 0 = the main pass; 1… = verification passes. */
  pass: number;
  /** The last scope switched to a new data key. */
  scope: string | null;
  /** Rows on a retiring key found in this pass (re-encrypted or rewritten meanwhile). */
  passFound: number;
  /** Rows examined in this pass, for progress. */
  passDone: number;
  secret: [string, string] | null;
  field: string | null;
  /** The last field row done: its key values (a bare value in jobs written before composite keys). */
  row: KeyValues | string | number | null;
}

export interface UnreadableRow {
  /** "lockbox_secrets" or the field's "table.column". */
  where: string;
  /** "scope/name" or the row key ("42", "user_id=42, provider=github"). */
  row: string;
  code: string;
}

export interface RekeyTotals {
  plannedRows: number;
  scopes: number;
  /** Scopes switched to a new data key so far. */
  scopesSwitched: number;
  dataKeysRetired: number;
  dataKeysCreated: number;
  secrets: number;
  /** Rows re-encrypted per field, keyed "table.column". */
  fields: Record<string, number>;
  /** Rows an application rewrote between read and write (left as the application wrote them). */
  conflicts: number;
  unreadable: number;
  unreadableRows: UnreadableRow[];
  dataKeysDestroyed: number;
  /** Retiring keys kept because rows still needed them after the last pass. */
  dataKeysRetained: number;
  /** Retiring keys of field scopes kept because the field grace period has not passed. */
  dataKeysDeferred?: number;
  /** When the last deferred key's grace period ends (ISO-8601), or null. */
  deferredUntil?: string | null;
}

export type RekeyJob = RotationJob<RekeyCheckpoint, RekeyTotals>;

export function initialRekeyCheckpoint(): RekeyCheckpoint {
  return {
    phase: 'switch',
    pass: 0,
    scope: null,
    passFound: 0,
    passDone: 0,
    secret: null,
    field: null,
    row: null,
  };
}

export interface RekeyRunOptions {
  db: Db;
  dialect: DialectName;
  dataKeys: DataKeys;
  job: RekeyJob;
  fields: readonly FieldTable[];
  lock: RotationLockHandle;
  batchSize: number;
  /** How long a retiring key of a field's scope is kept after its switch (ms). */
  fieldGraceMs: number;
  onProgress: ProgressListener | undefined;
}

/** Walks the job's remaining steps to the end. Returns the destroyed data key ids. */
export async function runDataRekey(options: RekeyRunOptions): Promise<string[]> {
  const walker = new RekeyWalker(options);
  const touch = (trx: Db) => options.lock.touch(trx);
  const { checkpoint } = options.job;
  if (options.job.mode === 'atomic' && checkpoint.pass === 0 && checkpoint.phase !== 'destroy') {
    await withBatchTransactions(options.db, 'atomic', touch, (batches) => walker.walk(batches, 1));
  }
  await withBatchTransactions(options.db, 'online', touch, (batches) =>
    walker.walk(batches, MAX_PASSES),
  );
  return walker.destroy();
}

/** A checkpoint's field cursor as key values (older jobs stored a one-column key's bare value). */
function rowCursor(row: RekeyCheckpoint['row']): KeyValues | null {
  if (row === null) return null;
  return Array.isArray(row) ? row : [String(row)];
}

/** A batch read and re-encrypted, not yet written. */
interface Prepared {
  batch: PreparedBatch;
  results: ReencryptResult[];
}

class RekeyWalker {
  readonly #o: RekeyRunOptions;
  readonly #keys: RekeyKeys;

  constructor(options: RekeyRunOptions) {
    this.#o = options;
    this.#keys = new RekeyKeys(options.dataKeys);
  }

  get #cp(): RekeyCheckpoint {
    return this.#o.job.checkpoint;
  }

  get #totals(): RekeyTotals {
    return this.#o.job.totals;
  }

  #save(trx: Db): Promise<void> {
    return saveJob(trx, this.#o.job.id, this.#cp, this.#totals);
  }

  #report(table?: string): void {
    const cp = this.#cp;
    this.#o.onProgress?.({
      phase: cp.pass > 0 ? 'verify' : cp.phase === 'fields' ? 'fields' : 'secrets',
      done: cp.passDone,
      total: Math.max(this.#totals.plannedRows, cp.passDone),
      ...(table === undefined ? {} : { table }),
    });
  }

  /** Runs steps until the walk reaches destroy or pass `untilPass` begins. */
  async walk(batches: BatchTransactions, untilPass: number): Promise<void> {
    for (;;) {
      const cp = this.#cp;
      if (cp.phase === 'destroy' || cp.phase === 'done' || cp.pass >= untilPass) return;
      if (cp.phase === 'switch') {
        if ((await batches.run((trx) => this.#switchBatch(trx))) > 0) {
          const done = this.#totals.scopesSwitched;
          this.#o.onProgress?.({
            phase: 'switch',
            done,
            total: Math.max(done, this.#totals.scopes),
          });
        }
      } else {
        await this.#walkTable(batches);
      }
    }
  }

  /** Switches the next batch of scopes to new data keys; returns how many. */
  async #switchBatch(trx: Db): Promise<number> {
    const cp = this.#cp;
    if (cp.scope === null) {
      // In the first batch's transaction, with its checkpoint: done exactly once.
      await trx
        .updateTable('lockbox_data_keys')
        .set({ state: 'retiring', updated_at: nowIso() })
        .where('scope', '=', AUDIT_SCOPE)
        .where('state', '=', 'active')
        .execute();
    }
    const { scopes, retired, created } = await switchScopes(trx, {
      after: cp.scope,
      limit: this.#o.batchSize,
      startedAt: this.#o.job.startedAt,
      keyring: this.#o.dataKeys.keyring,
      integrity: this.#o.dataKeys.integrity,
    });
    if (scopes.length === 0) {
      cp.phase = 'secrets';
      cp.scope = null;
    } else {
      cp.scope = scopes[scopes.length - 1] as string;
      this.#totals.dataKeysRetired += retired;
      this.#totals.dataKeysCreated += created.size;
      this.#totals.scopesSwitched += scopes.length;
      for (const [scope, key] of created) this.#keys.remember(scope, key);
    }
    await this.#save(trx);
    return scopes.length;
  }

  /** The field the checkpoint names (undefined while walking secrets). */
  #table(): FieldTable | undefined {
    const cp = this.#cp;
    return cp.phase === 'fields' ? this.#o.fields.find((f) => f.label === cp.field) : undefined;
  }

  /** Reads the batch after `after` and re-encrypts its rows that are on retiring keys. */
  #prepare(
    batches: BatchTransactions,
    table: FieldTable | undefined,
    after: Cursor,
  ): Promise<Prepared> {
    const { batchSize } = this.#o;
    return batches.read(async (db) => {
      const batch =
        table === undefined
          ? await prepareSecrets(db, this.#keys, after as [string, string] | null, batchSize)
          : await prepareFieldRows(db, this.#keys, table, after as KeyValues | null, batchSize);
      const results = batch.request.run();
      return { batch, results };
    });
  }

  /**
   * Walks the current table (secrets, or the checkpoint's field) to its end.
   * In online mode the next batch is read (outside any transaction) while the
   * current one is written, so on PostgreSQL their round trips overlap; each write
   * commits its rows with the checkpoint after them, and its compare-and-swap
   * leaves alone any row the application changed since it was read.
   */
  async #walkTable(batches: BatchTransactions): Promise<void> {
    const cp = this.#cp;
    if (cp.phase === 'fields' && this.#table() === undefined) {
      // The field list changed since the checkpoint was written: walk them all again.
      await batches.run((trx) => {
        this.#toFields();
        return this.#save(trx);
      });
      return;
    }
    // A verification pass first asks the data-key index whether any secret is
    // still on a retiring key; usually none is, and the walk is skipped.
    if (
      cp.phase === 'secrets' &&
      cp.pass > 0 &&
      cp.secret === null &&
      !(await batches.read((db) => anySecretOnRetiringKey(db)))
    ) {
      await batches.run((trx) => {
        this.#toFields();
        return this.#save(trx);
      });
      return;
    }
    const table = this.#table();
    let next: Promise<Prepared> | undefined = this.#prepare(
      batches,
      table,
      table === undefined ? cp.secret : rowCursor(cp.row),
    );
    next.catch(() => undefined);
    for (;;) {
      const { batch, results } = await (next as Promise<Prepared>);
      if (batch.read === 0) {
        await batches.run((trx) => {
          this.#endTable(table);
          return this.#save(trx);
        });
        return;
      }
      next = batches.pipelined ? this.#prepare(batches, table, batch.last) : undefined;
      next?.catch(() => undefined);
      await batches.run((trx) => this.#write(trx, table, batch, results));
      this.#report(table?.label);
      next ??= this.#prepare(batches, table, batch.last);
    }
  }

  /** Writes a re-encrypted batch with compare-and-swap, and the checkpoint after it. */
  async #write(
    trx: Db,
    table: FieldTable | undefined,
    batch: PreparedBatch,
    results: readonly ReencryptResult[],
  ): Promise<void> {
    const cp = this.#cp;
    const where = table?.label ?? 'lockbox_secrets';
    for (const f of batch.failed) this.#unreadable(where, f.label, f.code);
    const written: { target: RekeyTarget; ciphertext: string }[] = [];
    results.forEach((result, i) => {
      const target = batch.targets[i] as RekeyTarget;
      if (typeof result === 'string') written.push({ target, ciphertext: result });
      else this.#unreadable(where, target.label, result.code);
    });
    let swapped: number;
    if (table === undefined) {
      swapped = await compareAndSwapRows(
        trx,
        this.#o.dialect,
        SECRET_REKEY_SWAP,
        written.map(({ target, ciphertext }) => {
          const [scope, name] = target.key as [string, string];
          return [scope, name, target.expected, ciphertext, target.newKeyId];
        }),
      );
      this.#totals.secrets += swapped;
      cp.secret = batch.last as [string, string];
    } else {
      swapped = await table.compareAndSwap(
        trx,
        written.map(({ target, ciphertext }) => ({
          key: target.key as KeyValues,
          expected: target.expected,
          next: ciphertext,
        })),
      );
      this.#totals.fields[table.label] = (this.#totals.fields[table.label] ?? 0) + swapped;
      cp.row = batch.last as KeyValues;
    }
    this.#totals.conflicts += written.length - swapped;
    cp.passFound += written.length;
    cp.passDone += batch.read;
    await this.#save(trx);
  }

  #unreadable(where: string, row: string, code: string): void {
    // Counted once, in the main pass; later passes meet the same rows again.
    if (this.#cp.pass > 0) return;
    this.#totals.unreadable += 1;
    if (this.#totals.unreadableRows.length < MAX_LISTED) {
      this.#totals.unreadableRows.push({ where, row, code });
    }
  }

  #toFields(): void {
    const cp = this.#cp;
    cp.phase = 'fields';
    cp.field = this.#o.fields[0]?.label ?? null;
    cp.row = null;
    if (cp.field === null) this.#endPass();
  }

  /** Moves on after the walk of `table` (secrets when undefined) reached its end. */
  #endTable(table: FieldTable | undefined): void {
    if (table === undefined) {
      this.#toFields();
      return;
    }
    const cp = this.#cp;
    const index = this.#o.fields.indexOf(table);
    const next = this.#o.fields[index + 1];
    cp.field = next?.label ?? null;
    cp.row = null;
    if (next === undefined) this.#endPass();
  }

  #endPass(): void {
    const cp = this.#cp;
    if (cp.pass === 0 || (cp.passFound > 0 && cp.pass + 1 < MAX_PASSES)) {
      cp.pass += 1;
      cp.phase = 'secrets';
    } else {
      cp.phase = 'destroy';
    }
    cp.passFound = cp.phase === 'destroy' ? cp.passFound : 0;
    cp.passDone = 0;
    cp.secret = null;
    cp.field = null;
    cp.row = null;
  }

  /** The scopes of the registered fields (their retiring keys wait for the grace period). */
  #fieldScopes(): string[] {
    return [...new Set(this.#o.fields.map((f) => f.field.scope))];
  }

  /** Destroys the retiring data keys no row needs; returns their ids. */
  async destroy(): Promise<string[]> {
    const { db, job, lock, dialect } = this.#o;
    const cp = this.#cp;
    if (cp.phase === 'done') return [];
    const destroyed = await db.transaction().execute(async (trx) => {
      await lock.touch(trx);
      let ids: string[] = [];
      // A pass that still found rows on retiring keys means writers keep using
      // them: destroying now could strand a row, so keep them all.
      if (cp.passFound === 0) {
        // Waits for secret writes in flight and holds new ones until commit, so
        // the "no secret references it" check below cannot be overtaken.
        if (dialect === 'postgres') await holdSecretWrites(trx);
        const now = nowIso();
        const graceCutoff = new Date(Date.now() - this.#o.fieldGraceMs).toISOString();
        const fieldScopes = this.#fieldScopes();
        const rows = await trx
          .updateTable('lockbox_data_keys')
          .set({ wrapped: null, wrapped_recovery: null, state: 'destroyed', updated_at: now })
          .where('state', '=', 'retiring')
          .where(isUserScope('scope'))
          .where((eb) =>
            fieldScopes.length === 0
              ? eb.lit(true)
              : eb.or([eb('scope', 'not in', fieldScopes), eb('updated_at', '<=', graceCutoff)]),
          )
          .where(noSecretOnDataKey())
          .returning('id')
          .execute();
        ids = rows.map((r) => r.id);
        await setMeta(trx, META.keysChangedAt, now);
      }
      const left = await trx
        .selectFrom('lockbox_data_keys')
        .select(['scope', 'updated_at'])
        .where('state', '=', 'retiring')
        .where(isUserScope('scope'))
        .execute();
      const fieldScopes = new Set(this.#fieldScopes());
      const graceMs = this.#o.fieldGraceMs;
      const deferred = left.filter(
        (k) => fieldScopes.has(k.scope) && Date.parse(k.updated_at) + graceMs > Date.now(),
      );
      this.#totals.dataKeysDestroyed += ids.length;
      this.#totals.dataKeysRetained = left.length - deferred.length;
      this.#totals.dataKeysDeferred = deferred.length;
      this.#totals.deferredUntil =
        deferred.length === 0
          ? null
          : new Date(
              Math.max(...deferred.map((k) => Date.parse(k.updated_at))) + graceMs,
            ).toISOString();
      cp.phase = 'done';
      await finishJob(trx, job.id, 'done', cp, this.#totals);
      return ids;
    });
    for (const id of destroyed) this.#o.dataKeys.evict(id);
    this.#o.onProgress?.({ phase: 'destroy', done: destroyed.length, total: destroyed.length });
    return destroyed;
  }
}
