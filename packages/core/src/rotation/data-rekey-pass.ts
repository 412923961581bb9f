/**
 * The walk of a data re-key (see data-rekey.ts): the switch batches, then each
 * pass over the secrets and every registered field's rows, re-encrypting rows on
 * retiring keys with compare-and-swap, the checkpoint saved with every batch.
 */
import type { Kysely } from 'kysely';
import { AUDIT_SCOPE } from '../audit/audit-keys.js';
import { nowIso } from '../clock.js';
import { compareAndSwapRows } from '../store/compare-and-swap-rows.js';
import { markDataKeyRetiring } from '../store/data-key-state-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { anySecretOnRetiringKey, SECRET_REKEY_SWAP } from '../store/secret-row-counts.js';
import type { BatchTransactions } from './batch-transactions.js';
import {
  afterBatchWritten,
  afterSwitchBatch,
  afterTableEnd,
  progressPhase,
  type RekeyCheckpoint,
  type RekeyState,
  type RekeyTotals,
  rekeyWalkStops,
  rowCursor,
  toFields,
  type UnreadableRow,
} from './checkpoint.js';
import type { RekeyRunOptions } from './data-rekey-job.js';
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
import { saveJob } from './rotation-jobs.js';
import { switchScopes } from './switch-scopes.js';

type Db = Kysely<LockboxSchema>;

/** A batch read and re-encrypted, not yet written. */
interface Prepared {
  batch: PreparedBatch;
  results: ReencryptResult[];
}

export class RekeyWalker {
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

  /** Takes the state a transition returned as the job's own (saved with the next #save). */
  #advance(next: RekeyState | RekeyCheckpoint): void {
    if ('checkpoint' in next) {
      this.#o.job.checkpoint = next.checkpoint;
      this.#o.job.totals = next.totals;
    } else {
      this.#o.job.checkpoint = next;
    }
  }

  get #fieldLabels(): string[] {
    return this.#o.fields.map((f) => f.label);
  }

  #save(trx: Db): Promise<void> {
    return saveJob(trx, this.#o.job.id, this.#cp, this.#totals);
  }

  #report(table?: string): void {
    const cp = this.#cp;
    this.#o.onProgress?.({
      phase: progressPhase(cp),
      done: cp.passDone,
      total: Math.max(this.#totals.plannedRows, cp.passDone),
      ...(table === undefined ? {} : { table }),
    });
  }

  /** Runs steps until the walk reaches destroy or pass `untilPass` begins. */
  async walk(batches: BatchTransactions, untilPass: number): Promise<void> {
    for (;;) {
      if (rekeyWalkStops(this.#cp, untilPass)) return;
      if (this.#cp.phase === 'switch') {
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
      await markDataKeyRetiring(trx, AUDIT_SCOPE, nowIso());
    }
    const { scopes, retired, created } = await switchScopes(trx, {
      after: cp.scope,
      limit: this.#o.batchSize,
      startedAt: this.#o.job.startedAt,
      keyring: this.#o.dataKeys.keyring,
      integrity: this.#o.dataKeys.integrity,
    });
    for (const [scope, key] of created) this.#keys.remember(scope, key);
    this.#advance(afterSwitchBatch(this.#o.job, { scopes, retired, created: created.size }));
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
        this.#advance(toFields(cp, this.#fieldLabels));
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
        this.#advance(toFields(cp, this.#fieldLabels));
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
          this.#advance(afterTableEnd(this.#cp, table?.label, this.#fieldLabels));
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
    const where = table?.label ?? 'lockbox_secrets';
    const unreadable: UnreadableRow[] = batch.failed.map((f) => ({
      where,
      row: f.label,
      code: f.code,
    }));
    const written: { target: RekeyTarget; ciphertext: string }[] = [];
    results.forEach((result, i) => {
      const target = batch.targets[i] as RekeyTarget;
      if (typeof result === 'string') written.push({ target, ciphertext: result });
      else unreadable.push({ where, row: target.label, code: result.code });
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
    } else {
      swapped = await table.compareAndSwap(
        trx,
        written.map(({ target, ciphertext }) => ({
          key: target.key as KeyValues,
          expected: target.expected,
          next: ciphertext,
        })),
      );
    }
    this.#advance(
      afterBatchWritten(this.#o.job, {
        field: table?.label,
        last: batch.last as [string, string] | KeyValues,
        read: batch.read,
        written: written.length,
        swapped,
        unreadable,
      }),
    );
    await this.#save(trx);
  }
}
