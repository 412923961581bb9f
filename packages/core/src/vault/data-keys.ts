/**
 * Data keys: one per scope (per version), created on first write, stored only
 * wrapped, unwrapped on demand into a bounded cache.
 *
 * Contracts:
 * - `activeFor(scope)` always asks the database which data key is active, so a
 *   writer never keeps encrypting with a key that a re-key has retired.
 * - `open(id)` returns the unwrapped key for a ciphertext's key id from the cache
 *   or unwraps it with the keyring; a key's bytes never change, so a cached key is
 *   valid for as long as the key exists (master rotation only rewraps).
 * - `create(scope)` (data keys are made rarely) reads, in its own transaction, the
 *   primary master key's record and the recovery recipient, both authenticated
 *   under the integrity key: it refuses MASTER_KEY_RETIRED when another instance's
 *   rotation retired this instance's primary, INTEGRITY_CHECK_FAILED /
 *   RECOVERY_RECIPIENT_UNAUTHENTICATED when either row fails its check, and wraps
 *   the new key to the recipient current at that moment (never one cached at open).
 * - It never creates a key of the internal integrity scope (see integrity-key.ts).
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { nowIso } from '../clock.js';
import { dataKeyContext } from '../crypto/context.js';
import { DATA_KEY_BYTES } from '../crypto/wrapped-key.js';
import { LockboxError } from '../errors.js';
import { wrapToRecipient } from '../keys/age-identity.js';
import type { Keyring } from '../keys/keyring.js';
import {
  activeDataKeyFor,
  dataKeyById,
  insertDataKeysUnlessVersionTaken,
  latestDataKeyVersion,
} from '../store/data-key-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { authenticatedRecipient } from './authenticated-meta.js';
import { type OpenDataKey, unwrapDataKeyRow } from './data-key-unwrap.js';
import { INTEGRITY_SCOPE, type IntegrityKey } from './integrity-key.js';
import { LruCache } from './lru-cache.js';
import { usablePrimaryRecord, writeMasterKeyRecord } from './master-key-records.js';

export type { OpenDataKey };

export const DEFAULT_DATA_KEY_CACHE = 4096;

export class DataKeys {
  readonly #db: Kysely<LockboxSchema>;
  #keyring: Keyring;
  readonly #cache: LruCache<string, OpenDataKey>;
  readonly #integrity: IntegrityKey;

  /** `integrity`: the store's integrity key, opened with `keyring` (openIntegrityKey). */
  constructor(
    db: Kysely<LockboxSchema>,
    keyring: Keyring,
    integrity: IntegrityKey,
    cacheSize = DEFAULT_DATA_KEY_CACHE,
  ) {
    this.#db = db;
    this.#keyring = keyring;
    this.#integrity = integrity;
    this.#cache = new LruCache(cacheSize);
  }

  get keyring(): Keyring {
    return this.#keyring;
  }

  /**
   * Replaces the keyring: the one change a handle's services see after they are
   * built, made by this instance's master rotation (from then on it wraps new
   * data keys under the new key). Cached data keys stay valid.
   */
  setKeyring(keyring: Keyring): void {
    this.#keyring = keyring;
  }

  /** The store's integrity key as this handle opened it. */
  get integrity(): IntegrityKey {
    return this.#integrity;
  }

  /** Unwraps a stored data key row under this handle's keyring (unwrapDataKeyRow). */
  unwrapRow(row: { id: string; scope: string; wrapped: string | null }): OpenDataKey {
    return unwrapDataKeyRow(this.#keyring, row);
  }

  /** The data key with this id if it is in the cache (no store access), else undefined. */
  cached(id: string): OpenDataKey | undefined {
    return this.#cache.get(id);
  }

  /** The data key with this id, from the cache or unwrapped from the store. */
  async open(id: string, db: Kysely<LockboxSchema> = this.#db): Promise<OpenDataKey> {
    const cached = this.#cache.get(id);
    if (cached !== undefined) return cached;
    const row = await dataKeyById(db, id);
    if (row === undefined) {
      throw new LockboxError('DATA_KEY_NOT_FOUND', `data key ${id} is not in the store`, {
        details: { dataKeyId: id },
      });
    }
    const open = this.unwrapRow(row);
    this.#cache.set(id, open);
    return open;
  }

  /** The scope's active data key, created (wrapped under the primary) when it has none. */
  async activeFor(scope: string, db: Kysely<LockboxSchema> = this.#db): Promise<OpenDataKey> {
    const row = await activeDataKeyFor(db, scope);
    if (row !== undefined) {
      const cached = this.#cache.get(row.id);
      if (cached !== undefined) return cached;
      const open = this.unwrapRow(row);
      this.#cache.set(row.id, open);
      return open;
    }
    return this.create(scope, db);
  }

  /**
   * Creates a new active data key for `scope` at the next version. Two writers
   * racing to create the first key collide on (scope, version); the loser reads
   * the winner's key. Runs in `db` when it is a transaction, else in its own.
   */
  async create(scope: string, db: Kysely<LockboxSchema> = this.#db): Promise<OpenDataKey> {
    if (scope === INTEGRITY_SCOPE) {
      // Never lazily: a deleted integrity key must stay missing (integrity-key.ts).
      throw new LockboxError('INTEGRITY_KEY_MISSING', 'the integrity key is never re-created', {
        details: { scope },
      });
    }
    const integrity = this.integrity;
    if (db.isTransaction) return this.#createIn(scope, db, integrity);
    return db.transaction().execute((trx) => this.#createIn(scope, trx, integrity));
  }

  async #createIn(
    scope: string,
    trx: Kysely<LockboxSchema>,
    integrity: IntegrityKey,
  ): Promise<OpenDataKey> {
    const primary = this.#keyring.primary.fingerprint;
    const record = await usablePrimaryRecord(trx, integrity, primary, scope);
    const recipient = await authenticatedRecipient(trx, integrity);
    const version = (await latestDataKeyVersion(trx, scope)) + 1;
    const idBytes = randomBytes(8);
    const id = idBytes.toString('hex');
    const bytes = randomBytes(DATA_KEY_BYTES);
    const now = nowIso();
    const wrapped = this.#keyring.wrap(bytes, dataKeyContext(scope, id));
    const wrappedRecovery =
      recipient === undefined ? null : await wrapToRecipient(recipient, bytes);
    const key = createSecretKey(bytes);
    bytes.fill(0);
    const inserted = await insertDataKeysUnlessVersionTaken(trx, [
      {
        id,
        scope,
        version,
        wrapped,
        master_fingerprint: primary,
        wrapped_recovery: wrappedRecovery,
        state: 'active',
        created_at: now,
        updated_at: now,
      },
    ]);
    if (inserted === 0) {
      return this.activeFor(scope, trx);
    }
    if (record === undefined) {
      await writeMasterKeyRecord(trx, integrity, {
        fingerprint: primary,
        state: 'active',
        created_at: now,
        retired_at: null,
      });
    }
    const open = { id, idBytes, key };
    this.#cache.set(id, open);
    return open;
  }

  /** Forgets a data key (after it is destroyed). */
  evict(id: string): void {
    this.#cache.delete(id);
  }
}
