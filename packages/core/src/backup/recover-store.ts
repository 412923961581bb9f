/**
 * The lost-master-key path: rebuild a store's access from its recovery wraps.
 *
 * It works on the Store directly, because the normal open refuses a store whose
 * master key is missing (the startup key check). Careful order, nothing written
 * until everything is proven:
 *   1. the store is initialised and has a recovery recipient (RECOVERY_NOT_CONFIGURED);
 *   2. the identity's recipient is that recipient (RECOVERY_IDENTITY_MISMATCH);
 *   3. every live data key has a recovery wrap (RECOVERY_INCOMPLETE, naming scopes);
 *   4. the new key is not one the data keys already use (KEY_SAME_AS_OLD);
 *   then, holding the rotation lock, in one transaction: each data key is
 *   unwrapped with the identity, proven against one of its secrets (DECRYPT_FAILED
 *   naming the scope and secret otherwise), and rewrapped under the new key;
 *   lockbox_master_keys records the new key as active and retires the others;
 *   META.keysChangedAt moves. Any failure rolls everything back.
 * Afterwards the old master key opens nothing (KEY_WRONG); the recovery wraps
 * are unchanged, so the same identity still recovers the store.
 */
import { createSecretKey } from 'node:crypto';
import { AuditLog } from '../audit/audit-log.js';
import { nowIso } from '../clock.js';
import { parseCiphertext } from '../crypto/ciphertext.js';
import { dataKeyContext } from '../crypto/context.js';
import { DATA_KEY_BYTES } from '../crypto/wrapped-key.js';
import { LockboxError } from '../errors.js';
import { parseAgeIdentity, unwrapWithIdentity } from '../keys/age-identity.js';
import { Keyring, type MasterKey, masterKeyFrom } from '../keys/keyring.js';
import { withRotationLock } from '../rotation/rotation-lock.js';
import { connectStore, type DatabaseDrivers, type Store } from '../store/connect.js';
import {
  isLiveDataKeyUnder,
  liveDataKeysAfter,
  rewrapDataKey,
  scopesMissingRecoveryWrap,
} from '../store/data-key-backup-rows.js';
import { liveDataKeyCount } from '../store/data-key-state-rows.js';
import { allMasterKeyRows } from '../store/master-key-rows.js';
import { getMeta, setMeta } from '../store/meta-rows.js';
import { migrateToLatest, schemaVersion } from '../store/migrate.js';
import { sampleSecretOnDataKey } from '../store/secret-row-counts.js';
import type { Actor } from '../vault/audit-sink.js';
import { DataKeys } from '../vault/data-keys.js';
import { INTEGRITY_SCOPE, IntegrityKey, openIntegrityKey } from '../vault/integrity-key.js';
import { writeMasterKeyRecord } from '../vault/master-key-records.js';
import { openSecret } from '../vault/secret-ciphertext.js';
import { META } from '../vault/store-meta.js';

export interface RecoverStoreOptions {
  /** A database URL or a connected store (left open). */
  database: string | Store;
  drivers?: DatabaseDrivers;
  /** The recovery identity: an identity file's text or a bare AGE-SECRET-KEY-1 line. */
  identity: string;
  /** The new master key (32 bytes) that will wrap every data key. */
  newKey: Uint8Array | MasterKey;
  actor?: Actor;
  /** Recorded on the audit entry. */
  requestId?: string;
  onProgress?: (progress: { dataKeys: number; total: number }) => void;
}

export interface RecoverySummary {
  recipient: string;
  newFingerprint: string;
  /** Master keys the store knew before, now retired. */
  retiredFingerprints: string[];
  dataKeys: number;
  /** Data keys proven by decrypting one of their secrets. */
  verified: number;
  /** False when the audit entry could not be written (the recovery itself succeeded). */
  audited: boolean;
}

const PAGE = 200;
const LISTED_SCOPES = 20;

export async function recoverStore(options: RecoverStoreOptions): Promise<RecoverySummary> {
  const owns = typeof options.database !== 'object';
  const store =
    typeof options.database === 'object'
      ? options.database
      : connectStore(options.database, options.drivers ?? {});
  try {
    return await recover(store, options);
  } finally {
    if (owns) await store.close();
  }
}

async function recover(store: Store, options: RecoverStoreOptions): Promise<RecoverySummary> {
  const db = store.db;
  const storeId = (await schemaVersion(store)) > 0 ? await getMeta(db, META.storeId) : undefined;
  if (storeId === undefined) {
    throw new LockboxError('STORE_NOT_INITIALIZED', `${store.location} holds no Lockbox store`);
  }
  await migrateToLatest(store);
  const recipient = await getMeta(db, META.recoveryRecipient);
  if (recipient === undefined) {
    throw new LockboxError(
      'RECOVERY_NOT_CONFIGURED',
      'this store has no recovery recipient, so its data keys were never wrapped for recovery',
    );
  }
  const pair = await parseAgeIdentity(options.identity);
  if (pair.recipient !== recipient) {
    throw new LockboxError(
      'RECOVERY_IDENTITY_MISMATCH',
      `the identity's public key is ${pair.recipient}, but this store's recovery recipient is ${recipient}`,
      { details: { expected: recipient, given: pair.recipient } },
    );
  }
  const newKey =
    options.newKey instanceof Uint8Array ? masterKeyFrom(options.newKey) : options.newKey;

  const scopes = await scopesMissingRecoveryWrap(db);
  if (scopes.length > 0) {
    throw new LockboxError(
      'RECOVERY_INCOMPLETE',
      `data keys of ${scopes.length} scope(s) have no recovery wrap (${scopes.slice(0, LISTED_SCOPES).join(', ')}${scopes.length > LISTED_SCOPES ? ', …' : ''}); nothing was changed`,
      { details: { scopes: scopes.slice(0, LISTED_SCOPES), count: scopes.length } },
    );
  }
  if (await isLiveDataKeyUnder(db, newKey.fingerprint)) {
    throw new LockboxError(
      'KEY_SAME_AS_OLD',
      `data keys are already wrapped under ${newKey.fingerprint}: this key is not lost — open the store with it`,
      { details: { fingerprint: newKey.fingerprint } },
    );
  }

  const summary = await withRotationLock(store, storeId, (lock) =>
    db.transaction().execute(async (trx) => {
      await lock.touch(trx);
      const total = await liveDataKeyCount(trx);
      let done = 0;
      let verified = 0;
      let after = '';
      let integrity: IntegrityKey | undefined;
      const now = nowIso();
      for (;;) {
        const rows = await liveDataKeysAfter(trx, after, PAGE);
        for (const row of rows) {
          const bytes = await unwrapWithIdentity(pair.identity, row.wrapped_recovery as string);
          try {
            if (bytes.length !== DATA_KEY_BYTES) {
              throw new LockboxError(
                'DECRYPT_FAILED',
                `the recovery wrap of data key ${row.id} (scope "${row.scope}") does not hold a ${DATA_KEY_BYTES}-byte key`,
                { details: { scope: row.scope, dataKeyId: row.id } },
              );
            }
            const sample = await sampleSecretOnDataKey(trx, row.id);
            if (sample !== undefined) {
              try {
                openSecret(
                  parseCiphertext(sample.ciphertext),
                  { key: createSecretKey(bytes) },
                  sample,
                ).fill(0);
              } catch (err) {
                throw new LockboxError(
                  'DECRYPT_FAILED',
                  `data key ${row.id} (scope "${row.scope}") from its recovery wrap does not decrypt secret "${sample.scope}/${sample.name}"; nothing was changed`,
                  {
                    cause: err,
                    details: { scope: sample.scope, name: sample.name, dataKeyId: row.id },
                  },
                );
              }
              verified += 1;
            }
            // Recovery carries the integrity key like any data key; it MACs the
            // master-key records written below.
            if (row.scope === INTEGRITY_SCOPE) {
              integrity = new IntegrityKey(row.id, createSecretKey(bytes));
            }
            await rewrapDataKey(trx, row.id, {
              wrapped: newKey.wrap(bytes, dataKeyContext(row.scope, row.id)),
              master_fingerprint: newKey.fingerprint,
              updated_at: now,
            });
          } finally {
            bytes.fill(0);
          }
          done += 1;
        }
        options.onProgress?.({ dataKeys: done, total });
        if (rows.length < PAGE) break;
        after = (rows[rows.length - 1] as (typeof rows)[number]).id;
      }
      if (integrity === undefined) {
        throw new LockboxError(
          'INTEGRITY_KEY_MISSING',
          'the store has no integrity key to recover; nothing was changed',
        );
      }
      // Every other active record is retired (the old keys are lost); a record
      // already retired is left as it is.
      const retired = (await allMasterKeyRows(trx)).filter(
        (r) => r.fingerprint !== newKey.fingerprint && r.state === 'active',
      );
      for (const record of retired) {
        await writeMasterKeyRecord(trx, integrity, {
          fingerprint: record.fingerprint,
          state: 'retired',
          created_at: record.created_at,
          retired_at: now,
        });
      }
      await writeMasterKeyRecord(trx, integrity, {
        fingerprint: newKey.fingerprint,
        state: 'active',
        created_at: now,
        retired_at: null,
      });
      await setMeta(trx, META.keysChangedAt, now);
      return {
        recipient,
        newFingerprint: newKey.fingerprint,
        retiredFingerprints: retired.map((r) => r.fingerprint),
        dataKeys: done,
        verified,
        audited: false,
      };
    }),
  );

  // The audit log's key is an ordinary data key, recovered above, so the chain continues.
  try {
    const keyring = new Keyring(newKey);
    const audit = new AuditLog(
      store,
      new DataKeys(db, keyring, await openIntegrityKey(db, keyring)),
    );
    await audit.record({
      action: 'recovery.recover',
      outcome: 'ok',
      details: {
        newFingerprint: summary.newFingerprint,
        retired: summary.retiredFingerprints,
        dataKeys: summary.dataKeys,
      },
      ...(options.actor === undefined ? {} : { actor: options.actor }),
      ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    });
    summary.audited = true;
  } catch {
    summary.audited = false;
  }
  return summary;
}
