/**
 * What a handle last wrote: per scope the data key its last write sealed with,
 * per secret the version and created_at it stored. A write starts from these
 * instead of asking the database (two statements), and its guarded statement
 * (secret-row-writes.ts) is what checks them.
 *
 * Why it is safe: these are hints, never trusted. The insert/update lands only
 * while the key is still active and the row still at the remembered version and
 * created_at, so a key a re-key retired, or a row another writer changed or
 * deleted, makes the write land nowhere; the caller then forgets the hints and
 * seals again from what the database says (the write protocol of secrets.ts).
 * Absence is never remembered: a secret not known here is read first.
 */
import type { DataKeys, OpenDataKey } from './data-keys.js';
import { LruCache } from './lru-cache.js';

/** Secrets (and scopes) remembered per handle. */
export const WRITE_HINTS = 4096;

export interface StoredVersion {
  version: number;
  createdAt: string;
}

export class WriteHints {
  readonly #keys = new LruCache<string, OpenDataKey>(WRITE_HINTS);
  readonly #versions = new LruCache<string, StoredVersion>(WRITE_HINTS);

  /** The key this handle last wrote `scope` with, or the scope's active key from the database. */
  async key(dataKeys: DataKeys, scope: string): Promise<OpenDataKey> {
    return this.#keys.get(scope) ?? dataKeys.activeFor(scope);
  }

  version(scope: string, name: string): StoredVersion | undefined {
    return this.#versions.get(versionKey(scope, name));
  }

  /** After a write that landed. */
  wrote(scope: string, name: string, key: OpenDataKey, stored: StoredVersion): void {
    this.#keys.set(scope, key);
    this.#versions.set(versionKey(scope, name), stored);
  }

  /** After a write that landed nowhere, or a delete: ask the database next time. */
  forget(scope: string, name: string): void {
    this.#keys.delete(scope);
    this.#versions.delete(versionKey(scope, name));
  }
}

/** NUL cannot occur in a valid scope or name, so the pair encodes unambiguously. */
function versionKey(scope: string, name: string): string {
  return `${scope}\u0000${name}`;
}
