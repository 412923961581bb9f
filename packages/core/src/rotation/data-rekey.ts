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
 * The internal scopes (INTERNAL_SCOPE_PREFIX, e.g. the audit MAC key) are never
 * switched or destroyed.
 *
 * Atomic mode runs switch and pass 0 in one transaction (all rows move or none
 * do); the verification passes and destroy follow it, so that writers that
 * queued behind that transaction with the old key are caught too.
 *
 * Invariant: a data key is destroyed only after a pass over every secret and
 * field row found no row that needs it; until then it stays wrapped, so every
 * row is readable at every instant.
 */

import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { nowIso } from '../clock.js';
import {
  decryptParsed,
  encryptToText,
  type ParsedCiphertext,
  parseCiphertext,
} from '../crypto/ciphertext.js';
import { fieldContext, secretContext } from '../crypto/context.js';
import { isLockboxError, LockboxError } from '../errors.js';
import type { DialectName } from '../store/connect.js';
import type { LockboxSchema, ValueType } from '../store/schema.js';
import type { DataKeys, OpenDataKey } from '../vault/data-keys.js';
import type { RowId } from '../vault/fields.js';
import { LruCache } from '../vault/lru-cache.js';
import { META, setMeta } from '../vault/store-meta.js';
import { type BatchTransactions, withBatchTransactions } from './batch-transactions.js';
import { compareAndSwapRows } from './compare-and-swap-rows.js';
import type { FieldTable } from './field-table.js';
import { finishJob, type RotationJob, saveJob } from './rotation-jobs.js';
import type { RotationLockHandle } from './rotation-lock.js';
import type { ProgressListener } from './rotation-progress.js';
import { switchScopes } from './switch-scopes.js';
import { isUserScope } from './user-scope-filter.js';

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
  row: RowId | null;
}

export interface UnreadableRow {
  /** "lockbox_secrets" or the field's "table.column". */
  where: string;
  /** "scope/name" or the row's primary key. */
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
  /** The store's recovery recipient: new data keys are wrapped to it too. */
  recoveryRecipient: string | undefined;
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

function parseOrError(text: string): ParsedCiphertext | LockboxError {
  try {
    return parseCiphertext(text);
  } catch (err) {
    if (err instanceof LockboxError) return err;
    throw err;
  }
}

/** The envelope, or its parse error thrown (inside the per-row try). */
function ciphertextOf(parsed: ParsedCiphertext | LockboxError | undefined): ParsedCiphertext {
  if (parsed === undefined) throw new LockboxError('INTERNAL');
  if (parsed instanceof LockboxError) throw parsed;
  return parsed;
}

/** The key that opens the envelope, or the error opening it gave, thrown. */
function keyOf(
  keys: Map<string, OpenDataKey | LockboxError>,
  parsed: ParsedCiphertext | LockboxError | undefined,
): KeyObject {
  const key = keys.get(ciphertextOf(parsed).keyId);
  if (key === undefined) throw new LockboxError('INTERNAL');
  if (key instanceof LockboxError) throw key;
  return key.key;
}

class RekeyWalker {
  readonly #o: RekeyRunOptions;
  readonly #active = new LruCache<string, OpenDataKey>(1024);
  readonly #states = new LruCache<string, string>(4096);

  constructor(options: RekeyRunOptions) {
    this.#o = options;
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
      } else if (cp.phase === 'secrets') {
        // Steps that only move to the next phase report nothing.
        if ((await batches.run((trx) => this.#secretsBatch(trx))) > 0) this.#report();
      } else {
        const table = cp.field ?? undefined;
        if ((await batches.run((trx) => this.#fieldBatch(trx))) > 0) this.#report(table);
      }
    }
  }

  /** Switches the next batch of scopes to new data keys; returns how many. */
  async #switchBatch(trx: Db): Promise<number> {
    const cp = this.#cp;
    const { scopes, retired, created } = await switchScopes(trx, {
      after: cp.scope,
      limit: this.#o.batchSize,
      startedAt: this.#o.job.startedAt,
      keyring: this.#o.dataKeys.keyring,
      recoveryRecipient: this.#o.recoveryRecipient,
    });
    if (scopes.length === 0) {
      cp.phase = 'secrets';
      cp.scope = null;
    } else {
      cp.scope = scopes[scopes.length - 1] as string;
      this.#totals.dataKeysRetired += retired;
      this.#totals.dataKeysCreated += created.size;
      this.#totals.scopesSwitched += scopes.length;
      for (const [scope, key] of created) this.#active.set(scope, key);
    }
    await this.#save(trx);
    return scopes.length;
  }

  /** Each scope's active data key (created, wrapped under the primary, on first use). */
  async #activeKeys(trx: Db, scopes: readonly string[]): Promise<Map<string, OpenDataKey>> {
    const keys = new Map<string, OpenDataKey>();
    for (const scope of scopes) {
      if (keys.has(scope)) continue;
      let key = this.#active.get(scope);
      if (key === undefined) {
        key = await this.#o.dataKeys.activeFor(scope, trx);
        this.#active.set(scope, key);
      }
      keys.set(scope, key);
    }
    return keys;
  }

  /** The data keys the ciphertexts name, or the error opening each one gave. */
  async #openKeys(
    trx: Db,
    envelopes: readonly (ParsedCiphertext | LockboxError)[],
  ): Promise<Map<string, OpenDataKey | LockboxError>> {
    const keys = new Map<string, OpenDataKey | LockboxError>();
    for (const envelope of envelopes) {
      if (envelope instanceof LockboxError || keys.has(envelope.keyId)) continue;
      try {
        keys.set(envelope.keyId, await this.#o.dataKeys.open(envelope.keyId, trx));
      } catch (err) {
        if (!(err instanceof LockboxError)) throw err;
        keys.set(envelope.keyId, err);
      }
    }
    return keys;
  }

  #unreadable(where: string, row: string, err: unknown): void {
    if (!isLockboxError(err)) throw err;
    // Counted once, in the main pass; later passes meet the same rows again.
    if (this.#cp.pass > 0) return;
    this.#totals.unreadable += 1;
    if (this.#totals.unreadableRows.length < MAX_LISTED) {
      this.#totals.unreadableRows.push({ where, row, code: err.code });
    }
  }

  /** Re-encrypts the next batch of secrets; returns how many rows it read. */
  async #secretsBatch(trx: Db): Promise<number> {
    const cp = this.#cp;
    // A verification pass first asks the data-key index whether any secret is
    // still on a retiring key; usually none is, and the walk is skipped.
    if (cp.pass > 0 && cp.secret === null && !(await this.#anySecretOnRetiringKey(trx))) {
      this.#toFields();
      await this.#save(trx);
      return 0;
    }
    // Walked in primary-key order (never sorted): the cost stays linear in the rows.
    let query = trx
      .selectFrom('lockbox_secrets')
      .select(['scope', 'name', 'value_type', 'ciphertext', 'data_key_id']);
    if (cp.secret !== null) {
      const [scope, name] = cp.secret;
      query = query.where((eb) => eb(eb.refTuple('scope', 'name'), '>', eb.tuple(scope, name)));
    }
    const rows = await query.orderBy('scope').orderBy('name').limit(this.#o.batchSize).execute();
    if (rows.length === 0) {
      this.#toFields();
      await this.#save(trx);
      return 0;
    }
    const states = await this.#statesOf(trx, new Set(rows.map((r) => r.data_key_id)));
    const retiring = rows.filter((row) => states.get(row.data_key_id) === 'retiring');
    const parsed = retiring.map((row) => parseOrError(row.ciphertext));
    const oldKeys = await this.#openKeys(trx, parsed);
    const newKeys = await this.#activeKeys(
      trx,
      retiring.map((row) => row.scope),
    );
    // The crypto runs without awaiting between rows: every key is in hand.
    const updates: unknown[][] = [];
    for (const [i, row] of retiring.entries()) {
      const context = secretContext(row.scope, row.name, row.value_type as ValueType);
      try {
        const plaintext = decryptParsed(
          ciphertextOf(parsed[i]),
          keyOf(oldKeys, parsed[i]),
          context,
        );
        const next = newKeys.get(row.scope) as OpenDataKey;
        const ciphertext = encryptToText(next.idBytes, next.key, plaintext, context);
        plaintext.fill(0);
        updates.push([row.scope, row.name, row.ciphertext, ciphertext, next.id]);
      } catch (err) {
        this.#unreadable('lockbox_secrets', `${row.scope}/${row.name}`, err);
      }
    }
    const swapped = await compareAndSwapRows(
      trx,
      this.#o.dialect,
      {
        table: 'lockbox_secrets',
        keys: [{ column: 'scope' }, { column: 'name' }],
        compared: 'ciphertext',
        set: ['ciphertext', 'data_key_id'],
      },
      updates,
    );
    this.#totals.secrets += swapped;
    this.#totals.conflicts += updates.length - swapped;
    cp.passFound += updates.length;
    cp.passDone += rows.length;
    const last = rows[rows.length - 1]!;
    cp.secret = [last.scope, last.name];
    await this.#save(trx);
    return rows.length;
  }

  #toFields(): void {
    const cp = this.#cp;
    cp.phase = 'fields';
    cp.field = this.#o.fields[0]?.label ?? null;
    cp.row = null;
    if (cp.field === null) this.#endPass();
  }

  async #anySecretOnRetiringKey(trx: Db): Promise<boolean> {
    const row = await trx
      .selectFrom('lockbox_secrets')
      .select('data_key_id')
      .where(
        'data_key_id',
        'in',
        trx.selectFrom('lockbox_data_keys').select('id').where('state', '=', 'retiring'),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The states of data keys by id (unknown ids map to 'missing'). */
  async #statesOf(trx: Db, ids: Iterable<string>): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    const unknown: string[] = [];
    for (const id of ids) {
      const state = this.#states.get(id);
      if (state === undefined) unknown.push(id);
      else result.set(id, state);
    }
    if (unknown.length > 0) {
      const rows = await trx
        .selectFrom('lockbox_data_keys')
        .select(['id', 'state'])
        .where('id', 'in', unknown)
        .execute();
      const found = new Map(rows.map((r) => [r.id, r.state as string]));
      for (const id of unknown) {
        const state = found.get(id) ?? 'missing';
        // Only this job changes states while it holds the lock; 'active' keys are new ones.
        this.#states.set(id, state);
        result.set(id, state);
      }
    }
    return result;
  }

  /** Re-encrypts the next batch of the current field's rows; returns how many rows it read. */
  async #fieldBatch(trx: Db): Promise<number> {
    const cp = this.#cp;
    const index = this.#o.fields.findIndex((f) => f.label === cp.field);
    const table = this.#o.fields[index];
    if (table === undefined) {
      // The field list changed since the checkpoint was written: walk them all again.
      cp.field = this.#o.fields[0]?.label ?? null;
      cp.row = null;
      if (cp.field === null) this.#endPass();
      await this.#save(trx);
      return 0;
    }
    const rows = await table.readBatch(trx, 'lockbox', cp.row, this.#o.batchSize);
    if (rows.length === 0) {
      const next = this.#o.fields[index + 1];
      cp.field = next?.label ?? null;
      cp.row = null;
      if (next === undefined) this.#endPass();
      await this.#save(trx);
      return 0;
    }
    const parsed = rows.map((row) => {
      try {
        return parseCiphertext(row.value);
      } catch {
        return undefined; // malformed: no key can open it; census reports it
      }
    });
    const states = await this.#statesOf(
      trx,
      new Set(parsed.flatMap((p) => (p === undefined ? [] : [p.keyId]))),
    );
    const { table: name, column, scope } = table.field;
    const retiring = rows.flatMap((row, i) => {
      const envelope = parsed[i];
      return envelope !== undefined && states.get(envelope.keyId) === 'retiring'
        ? [{ row, envelope }]
        : [];
    });
    const oldKeys = await this.#openKeys(
      trx,
      retiring.map((r) => r.envelope),
    );
    const next = (await this.#activeKeys(trx, retiring.length > 0 ? [scope] : [])).get(scope);
    const updates: { pk: RowId; expected: string; next: string }[] = [];
    for (const { row, envelope } of retiring) {
      const context = fieldContext(name, column, String(row.pk));
      try {
        const plaintext = decryptParsed(envelope, keyOf(oldKeys, envelope), context);
        const key = next as OpenDataKey;
        updates.push({
          pk: row.pk,
          expected: row.value,
          next: encryptToText(key.idBytes, key.key, plaintext, context),
        });
        plaintext.fill(0);
      } catch (err) {
        this.#unreadable(table.label, String(row.pk), err);
      }
    }
    const swapped = await table.compareAndSwap(trx, updates);
    this.#totals.fields[table.label] = (this.#totals.fields[table.label] ?? 0) + swapped;
    this.#totals.conflicts += updates.length - swapped;
    cp.passFound += updates.length;
    cp.passDone += rows.length;
    cp.row = rows[rows.length - 1]!.pk;
    await this.#save(trx);
    return rows.length;
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
        if (dialect === 'postgres')
          await sql`lock table lockbox_secrets in share mode`.execute(trx);
        const now = nowIso();
        const rows = await trx
          .updateTable('lockbox_data_keys')
          .set({ wrapped: null, wrapped_recovery: null, state: 'destroyed', updated_at: now })
          .where('state', '=', 'retiring')
          .where(isUserScope('scope'))
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('lockbox_secrets')
                  .select('lockbox_secrets.scope')
                  .whereRef('lockbox_secrets.data_key_id', '=', 'lockbox_data_keys.id'),
              ),
            ),
          )
          .returning('id')
          .execute();
        ids = rows.map((r) => r.id);
        await setMeta(trx, META.keysChangedAt, now);
      }
      const retained = await trx
        .selectFrom('lockbox_data_keys')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('state', '=', 'retiring')
        .where(isUserScope('scope'))
        .executeTakeFirstOrThrow();
      this.#totals.dataKeysDestroyed += ids.length;
      this.#totals.dataKeysRetained = Number(retained.n);
      cp.phase = 'done';
      await finishJob(trx, job.id, 'done', cp, this.#totals);
      return ids;
    });
    for (const id of destroyed) this.#o.dataKeys.evict(id);
    this.#o.onProgress?.({ phase: 'destroy', done: destroyed.length, total: destroyed.length });
    return destroyed;
  }
}
