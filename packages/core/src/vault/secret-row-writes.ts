/**
 * Writing one secret version: seal the value for the version it will be stored
 * at, and store it with a guarded statement (store/secret-rows.ts) that lands
 * only while the row is still at the version read and the data key sealed with
 * is still active. Secrets.set (one secret, on the store's handle) and the
 * bundle import (batches, inside its transaction) both write through here.
 *
 * The guard's decision, when the statement lands nowhere: if the scope's active
 * key is no longer the one sealed with, a data re-key retired it — seal again
 * under the new key and retry (never store under a retired key, which the re-key
 * would then destroy); otherwise the row changed under us, which the caller
 * decides about (Secrets re-reads and retries, an import refuses).
 *
 * A batch (the import, inside its transaction) takes the same guard as one
 * read instead of one per row: the data keys it seals with are read active —
 * and on PostgreSQL held so until it commits — before it seals, a scope whose
 * key a re-key retired meanwhile moving to the new key first; then its rows are
 * written in two statements (new rows, overwrites at the next version). A
 * batch's overwrites replace the stored metadata (keepMetadata is for single
 * writes, which may leave it as it is).
 */
import { LockboxError } from '../errors.js';
import type { Executor } from '../store/executor.js';
import type { ValueType } from '../store/schema.js';
import {
  holdActiveDataKeys,
  insertNewSecrets,
  insertSecretIfKeyActive,
  overwriteSecretsAtNextVersion,
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
  const stored = nextVersion(write, current);
  let sealer = key;
  for (let keyChanges = 0; ; ) {
    const row = sealedRow(write, stored, sealer);
    const written =
      current === undefined
        ? await insertSecretIfKeyActive(db, row)
        : await updateSecretIfUnchanged(db, row, current, write.keepMetadata);
    if (written) return { written: true, key: sealer, stored };
    const active = await dataKeys.activeFor(write.scope, db);
    if (active.id === sealer.id) return { written: false, key: active };
    keyChanges += 1;
    if (keyChanges === MAX_KEY_CHANGES) throw keyKeptChanging(write);
    sealer = active;
  }
}

/** One secret of a batch: what to store, and the row as classified (undefined: none). */
export interface BatchedWrite {
  write: SecretVersionWrite;
  current: StoredVersion | undefined;
}

/**
 * Writes a batch inside the caller's transaction `trx`, each scope sealed with
 * `keys`' key for it (updated in place when a re-key retired one). `lock` holds
 * the keys active until commit (PostgreSQL). Returns how many new rows and
 * overwrites landed; a row another writer created or changed meanwhile does not.
 */
export async function writeSecretVersionsInTransaction(
  trx: Executor,
  dataKeys: DataKeys,
  batch: readonly BatchedWrite[],
  keys: Map<string, OpenDataKey>,
  lock: boolean,
): Promise<{ created: number; overwritten: number }> {
  for (let keyChanges = 0; ; keyChanges++) {
    const scopes = [...new Set(batch.map((b) => b.write.scope))];
    const sealers = scopes.map((scope) => keys.get(scope) as OpenDataKey);
    const active = await holdActiveDataKeys(
      trx,
      sealers.map((k) => k.id),
      lock,
    );
    const retired = scopes.filter((_, i) => !active.has((sealers[i] as OpenDataKey).id));
    if (retired.length === 0) break;
    const first = batch.find((b) => b.write.scope === retired[0]) as BatchedWrite;
    if (keyChanges + 1 === MAX_KEY_CHANGES) throw keyKeptChanging(first.write);
    for (const scope of retired) keys.set(scope, await dataKeys.activeFor(scope, trx));
  }
  const creates: SecretRow[] = [];
  const overwrites: SecretRow[] = [];
  for (const { write, current } of batch) {
    const row = sealedRow(write, nextVersion(write, current), keys.get(write.scope) as OpenDataKey);
    (current === undefined ? creates : overwrites).push(row);
  }
  return {
    created: await insertNewSecrets(trx, creates),
    overwritten: await overwriteSecretsAtNextVersion(trx, overwrites),
  };
}

function nextVersion(write: SecretVersionWrite, current: StoredVersion | undefined): StoredVersion {
  return {
    version: (current?.version ?? 0) + 1,
    createdAt: current?.createdAt ?? write.updatedAt,
  };
}

/** The row to store: `write` at `stored`, sealed with `key` for exactly that version. */
function sealedRow(write: SecretVersionWrite, stored: StoredVersion, key: OpenDataKey): SecretRow {
  const row: SecretRow = {
    scope: write.scope,
    name: write.name,
    version: stored.version,
    value_type: write.type,
    ciphertext: '',
    data_key_id: key.id,
    metadata: write.metadata,
    created_at: stored.createdAt,
    updated_at: write.updatedAt,
    updated_by: write.updatedBy,
  };
  row.ciphertext = sealSecret(key, row, write.plaintext);
  return row;
}

function keyKeptChanging(write: SecretVersionWrite): LockboxError {
  return new LockboxError(
    'VERSION_CONFLICT',
    `"${write.scope}/${write.name}" was not written: its scope's data key kept changing`,
    { details: { scope: write.scope, name: write.name } },
  );
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
