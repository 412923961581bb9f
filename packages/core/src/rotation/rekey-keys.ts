/**
 * The data keys a re-key batch needs, fetched a batch at a time (one query for
 * all the batch's key ids or scopes, not one per row) and cached for the job:
 * the state of each data key a row names, the retiring keys that open the rows,
 * and each scope's new active key.
 */
import type { Kysely } from 'kysely';
import { LockboxError } from '../errors.js';
import {
  activeDataKeysOfScopes,
  dataKeysByIds,
  dataKeysWithStateByIds,
} from '../store/data-key-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys, OpenDataKey } from '../vault/data-keys.js';
import { LruCache } from '../vault/lru-cache.js';

type Db = Kysely<LockboxSchema>;

export class RekeyKeys {
  readonly #dataKeys: DataKeys;
  // Large enough that the new keys the switch made are still cached when the walk
  // reaches their scopes in a store of 10,000 scopes; bounded for larger ones.
  readonly #active = new LruCache<string, OpenDataKey>(16_384);
  readonly #states = new LruCache<string, string>(16_384);
  /** Retiring keys unwrapped while their state was read (or the error unwrapping gave). */
  readonly #retiring = new LruCache<string, OpenDataKey | LockboxError>(4096);

  constructor(dataKeys: DataKeys) {
    this.#dataKeys = dataKeys;
  }

  /** Remembers a scope's new active key (made by the switch). */
  remember(scope: string, key: OpenDataKey): void {
    this.#active.set(scope, key);
  }

  /**
   * The states of data keys by id ('missing' for ids the store does not hold).
   * Cached: while the job holds the lock only it changes states, and 'active'
   * keys are the new ones.
   */
  async states(db: Db, ids: Iterable<string>): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    const unknown: string[] = [];
    for (const id of new Set(ids)) {
      const state = this.#states.get(id);
      if (state === undefined) unknown.push(id);
      else result.set(id, state);
    }
    if (unknown.length > 0) {
      // The same query fetches the wrapped keys, so that the retiring ones (the
      // keys the batch's rows need) are unwrapped without another round trip.
      const rows = await dataKeysWithStateByIds(db, unknown);
      const found = new Map(rows.map((r) => [r.id, r]));
      for (const id of unknown) {
        const row = found.get(id);
        const state = row?.state ?? 'missing';
        this.#states.set(id, state);
        result.set(id, state);
        if (row !== undefined && state === 'retiring') this.#retiring.set(id, this.#unwrap(row));
      }
    }
    return result;
  }

  /**
   * Each scope's active data key: cached, else all missing scopes in one query,
   * else (a scope with none yet) created by DataKeys.
   */
  async active(db: Db, scopes: Iterable<string>): Promise<Map<string, OpenDataKey>> {
    const keys = new Map<string, OpenDataKey>();
    const missing = new Set<string>();
    for (const scope of scopes) {
      const cached = this.#active.get(scope);
      if (cached === undefined) missing.add(scope);
      else keys.set(scope, cached);
    }
    if (missing.size === 0) return keys;
    const rows = await activeDataKeysOfScopes(db, [...missing]);
    for (const row of rows) {
      if (keys.has(row.scope)) continue;
      const key = this.#dataKeys.unwrapRow(row);
      this.#active.set(row.scope, key);
      keys.set(row.scope, key);
    }
    for (const scope of missing) {
      if (keys.has(scope)) continue;
      const key = await this.#dataKeys.activeFor(scope, db);
      this.#active.set(scope, key);
      keys.set(scope, key);
    }
    return keys;
  }

  #unwrap(row: { id: string; scope: string; wrapped: string | null }): OpenDataKey | LockboxError {
    try {
      return this.#dataKeys.unwrapRow(row);
    } catch (err) {
      if (err instanceof LockboxError) return err;
      throw err;
    }
  }

  /**
   * The data keys with these ids — usually unwrapped already when their state
   * was read — or the error opening each one gives.
   */
  async open(db: Db, ids: Iterable<string>): Promise<Map<string, OpenDataKey | LockboxError>> {
    const keys = new Map<string, OpenDataKey | LockboxError>();
    const wanted: string[] = [];
    for (const id of new Set(ids)) {
      const known = this.#retiring.get(id);
      if (known === undefined) wanted.push(id);
      else keys.set(id, known);
    }
    if (wanted.length === 0) return keys;
    const rows = await dataKeysByIds(db, wanted);
    for (const row of rows) keys.set(row.id, this.#unwrap(row));
    for (const id of wanted) {
      if (keys.has(id)) continue;
      keys.set(
        id,
        new LockboxError('DATA_KEY_NOT_FOUND', `data key ${id} is not in the store`, {
          details: { dataKeyId: id },
        }),
      );
    }
    return keys;
  }
}
