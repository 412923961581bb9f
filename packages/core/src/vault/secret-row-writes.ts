/**
 * Writing one secret version: seal the value for the version it will be stored
 * at, and store it with a guarded statement (store/secret-rows.ts) that lands
 * only while the row is still at the version read and the data key sealed with
 * is still active. Secrets.set and the bundle import both write through here, on
 * the store's handle or inside a caller's transaction.
 *
 * The guard's decision, when the statement lands nowhere: if the scope's active
 * key is no longer the one sealed with, a data re-key retired it — seal again
 * under the new key and retry (never store under a retired key, which the re-key
 * would then destroy); otherwise the row changed under us, which the caller
 * decides about (Secrets re-reads and retries, an import refuses).
 */
import { LockboxError } from '../errors.js';
import type { Executor } from '../store/executor.js';
import type { ValueType } from '../store/schema.js';
import {
  insertSecretIfKeyActive,
  type SecretRow,
  type StoredVersion,
  updateSecretIfUnchanged,
} from '../store/secret-rows.js';
import type { DataKeys, OpenDataKey } from './data-keys.js';
import { sealSecret } from './secret-ciphertext.js';

/** How often a write re-encrypts when re-keys keep retiring the scope's key under it. */
const MAX_KEY_CHANGES = 5;

/** What to store; the version and created_at come from the row as read. */
export interface SecretVersionWrite {
  scope: string;
  name: string;
  type: ValueType;
  plaintext: Uint8Array;
  metadata: string | null;
  /** Keep the stored metadata (an update that was given none). */
  keepMetadata: boolean;
  updatedAt: string;
  updatedBy: string | null;
}

export type WriteOutcome =
  | { written: true; key: OpenDataKey; stored: StoredVersion }
  /** The row is no longer at `current`; `key` is still the scope's active key. */
  | { written: false; key: OpenDataKey };

/**
 * Seals `write` for the version after `current` (version 1 when undefined)
 * with `key`, and stores it if the row is still at `current`; re-seals under the
 * scope's new key while a re-key keeps retiring it (VERSION_CONFLICT after
 * MAX_KEY_CHANGES).
 */
export async function writeSecretVersion(
  db: Executor,
  dataKeys: DataKeys,
  write: SecretVersionWrite,
  current: StoredVersion | undefined,
  key: OpenDataKey,
): Promise<WriteOutcome> {
  const stored: StoredVersion = {
    version: (current?.version ?? 0) + 1,
    createdAt: current?.createdAt ?? write.updatedAt,
  };
  let sealer = key;
  for (let keyChanges = 0; ; ) {
    const row: SecretRow = {
      scope: write.scope,
      name: write.name,
      version: stored.version,
      value_type: write.type,
      ciphertext: '',
      data_key_id: sealer.id,
      metadata: write.metadata,
      created_at: stored.createdAt,
      updated_at: write.updatedAt,
      updated_by: write.updatedBy,
    };
    row.ciphertext = sealSecret(sealer, row, write.plaintext);
    const written =
      current === undefined
        ? await insertSecretIfKeyActive(db, row)
        : await updateSecretIfUnchanged(db, row, current, write.keepMetadata);
    if (written) return { written: true, key: sealer, stored };
    const active = await dataKeys.activeFor(write.scope, db);
    if (active.id === sealer.id) return { written: false, key: active };
    keyChanges += 1;
    if (keyChanges === MAX_KEY_CHANGES) {
      throw new LockboxError(
        'VERSION_CONFLICT',
        `"${write.scope}/${write.name}" was not written: its scope's data key kept changing`,
        { details: { scope: write.scope, name: write.name } },
      );
    }
    sealer = active;
  }
}

/** The bytes to seal and the type to store for a value; `owned` when we made the buffer. */
export function plaintextOf(value: string | Uint8Array): {
  type: ValueType;
  plaintext: Uint8Array;
  owned: boolean;
} {
  return typeof value === 'string'
    ? { type: 'utf8', plaintext: Buffer.from(value, 'utf8'), owned: true }
    : { type: 'bytes', plaintext: value, owned: false };
}
