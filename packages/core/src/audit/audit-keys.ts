/**
 * The audit log's MAC keys.
 *
 * The audit key is an ordinary data key of the reserved internal scope
 * "lockbox:audit", so it is stored only wrapped under the master key (and the
 * recovery recipient) and a master rotation rewraps it like any other. A data
 * re-key retires it (state 'retiring', never destroyed): the next append creates
 * the scope's next key version, and the old key stays verify-only. The HMAC key
 * is derived from it with HKDF so the data key's bytes are used for one purpose only.
 *
 * Every entry names the data key id it was MACed with, so old entries still
 * verify with the key that made them; the verifier refuses an entry MACed under
 * an older key version than an entry before it (audit-verifier.ts).
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hkdfSha256 } from '../crypto/hkdf.js';
import { isLockboxError } from '../errors.js';
import {
  activeDataKeyIdFor,
  dataKeyScope,
  dataKeyVersionIn,
  scopeHasDataKey,
} from '../store/data-key-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys, OpenDataKey } from '../vault/data-keys.js';

export const AUDIT_SCOPE = 'lockbox:audit';

const MAC_KEY_INFO = Buffer.from('lockbox audit chain mac v1', 'utf8');

export interface AuditMacKey {
  /** The data key id (16 hex), written into each entry's key_id. */
  readonly id: string;
  readonly key: KeyObject;
}

/** HMAC-SHA256 as lowercase hex. */
export function macHex(key: AuditMacKey, ...parts: Uint8Array[]): string {
  const hmac = createHmac('sha256', key.key);
  for (const part of parts) hmac.update(part);
  return hmac.digest('hex');
}

export type AuditKeySource = Pick<DataKeys, 'activeFor' | 'open'>;

/** Whether any data key of the audit scope exists: one does from the log's first append on. */
export async function auditKeyExists(db: Kysely<LockboxSchema>): Promise<boolean> {
  return scopeHasDataKey(db, AUDIT_SCOPE);
}

/** The id of the audit scope's active data key, or undefined (none yet, or retired by a re-key). */
export async function activeAuditKeyId(db: Kysely<LockboxSchema>): Promise<string | undefined> {
  return activeDataKeyIdFor(db, AUDIT_SCOPE);
}

export class AuditKeys {
  readonly #db: Kysely<LockboxSchema>;
  readonly #dataKeys: AuditKeySource;
  readonly #derived = new Map<string, AuditMacKey>();
  readonly #versions = new Map<string, number | null>();
  /** Keys this handle created when the store had no audit key at all: only they may start a chain. */
  readonly #createdFirst = new Set<string>();
  #current: Promise<AuditMacKey> | undefined;

  constructor(db: Kysely<LockboxSchema>, dataKeys: AuditKeySource) {
    this.#db = db;
    this.#dataKeys = dataKeys;
  }

  /**
   * The key new entries are MACed with: the scope's active data key, created
   * (wrapped under the primary master key) on first use. Looked up once per handle;
   * a failed lookup is retried on the next call.
   */
  current(): Promise<AuditMacKey> {
    if (this.#current === undefined) {
      const pending = (async () => {
        const first = !(await auditKeyExists(this.#db));
        const key = this.#derive(await this.#dataKeys.activeFor(AUDIT_SCOPE));
        if (first) this.#createdFirst.add(key.id);
        return key;
      })();
      pending.catch(() => {
        if (this.#current === pending) this.#current = undefined;
      });
      this.#current = pending;
    }
    return this.#current;
  }

  /** Forgets the current key, so the next `current()` looks the active one up again (after a re-key). */
  forgetCurrent(): void {
    this.#current = undefined;
  }

  /**
   * Whether `key` was created by this handle as the store's first audit key. An
   * empty log with no head may be started (head written from nothing) only then:
   * otherwise the log had entries once, and they and the head were deleted.
   */
  mayStartChain(key: AuditMacKey): boolean {
    return this.#createdFirst.has(key.id);
  }

  /** The key's version in the audit scope (1, 2, …), or null when no audit-scope data key has this id. */
  async version(id: string, db: Kysely<LockboxSchema> = this.#db): Promise<number | null> {
    const known = this.#versions.get(id);
    if (known !== undefined) return known;
    const found = await dataKeyVersionIn(db, AUDIT_SCOPE, id);
    this.#versions.set(id, found);
    return found;
  }

  /**
   * The MAC key for an entry's key id, or undefined when no data key of the audit
   * scope has that id (the entry's key_id was edited). Throws when the key exists
   * but the keyring cannot unwrap it: that is a configuration problem, not tampering.
   * Inside a transaction pass it as `db` (SQLite has one connection, which the
   * transaction holds).
   */
  async byId(id: string, db: Kysely<LockboxSchema> = this.#db): Promise<AuditMacKey | undefined> {
    const known = this.#derived.get(id);
    if (known !== undefined) return known;
    // Only keys of the audit scope count: a key_id edited to name some other
    // scope's data key must not verify.
    if ((await dataKeyScope(db, id)) !== AUDIT_SCOPE) return undefined;
    try {
      return this.#derive(await this.#dataKeys.open(id, db));
    } catch (err) {
      if (isLockboxError(err, 'DATA_KEY_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  #derive(open: OpenDataKey): AuditMacKey {
    const known = this.#derived.get(open.id);
    if (known !== undefined) return known;
    const bytes = open.key.export();
    const macBytes = hkdfSha256(bytes, Buffer.alloc(0), MAC_KEY_INFO, 32);
    bytes.fill(0);
    const derived = { id: open.id, key: createSecretKey(macBytes) };
    macBytes.fill(0);
    this.#derived.set(open.id, derived);
    return derived;
  }
}
