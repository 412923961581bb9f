/**
 * The audit log's MAC keys.
 *
 * The audit key is an ordinary data key of the reserved internal scope
 * "lockbox:audit", so it is stored only wrapped under the master key (and the
 * recovery recipient), a master rotation rewraps it like any other, and a data
 * re-key leaves it alone (internal scopes are skipped). The HMAC key is derived
 * from it with HKDF so the data key's bytes are used for one purpose only.
 *
 * Every entry names the data key id it was MACed with, so if the scope ever gets a
 * new key version, old entries still verify with the key that made them.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hkdfSha256 } from '../crypto/hkdf.js';
import { isLockboxError } from '../errors.js';
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

export class AuditKeys {
  readonly #db: Kysely<LockboxSchema>;
  readonly #dataKeys: AuditKeySource;
  readonly #derived = new Map<string, AuditMacKey>();
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
      const pending = this.#dataKeys.activeFor(AUDIT_SCOPE).then((open) => this.#derive(open));
      pending.catch(() => {
        if (this.#current === pending) this.#current = undefined;
      });
      this.#current = pending;
    }
    return this.#current;
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
    const row = await db
      .selectFrom('lockbox_data_keys')
      .select('scope')
      .where('id', '=', id)
      .executeTakeFirst();
    // Only keys of the audit scope count: a key_id edited to name some other
    // scope's data key must not verify.
    if (row?.scope !== AUDIT_SCOPE) return undefined;
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
