/**
 * Opening a Lockbox: connect, migrate, prove the keyring, and hand out the
 * vault's services. Everything else (rotation, backup, audit, tokens) is built on
 * the handle this returns.
 */
import { randomUUID } from 'node:crypto';
import { nowIso } from '../clock.js';
import { LockboxError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import { connectStore, type DatabaseDrivers, type Store } from '../store/connect.js';
import { getMeta, insertMetaIfAbsent, setMeta } from '../store/meta-rows.js';
import { migrateToLatest, schemaVersion } from '../store/migrate.js';
import type { Actor, AuditSink } from './audit-sink.js';
import { DataKeys, DEFAULT_DATA_KEY_CACHE } from './data-keys.js';
import { Fields } from './fields.js';
import { createIntegrityKey, openIntegrityKey } from './integrity-key.js';
import { type IntegrityReport, integrityReport, readinessProblems } from './integrity-report.js';
import { upgradeIntegrity } from './integrity-upgrade.js';
import { checkKeyring, type KeyCheck } from './key-check.js';
import { masterKeyKnown, writeMasterKeyRecord } from './master-key-records.js';
import { Secrets } from './secrets.js';
import { type VaultStatus, vaultStatus } from './status.js';
import { META } from './store-meta.js';

export interface OpenVaultOptions {
  /** A database URL (file path, sqlite:, postgres://) or an already connected store. */
  database?: string | Store;
  /** Driver factories, needed when `database` is a URL. */
  drivers?: DatabaseDrivers;
  keyring: Keyring;
  /**
   * 'open-or-create' (default): initialise an empty database. 'open': refuse an
   * uninitialised one (STORE_NOT_INITIALIZED). 'create': refuse an initialised one
   * (STORE_ALREADY_INITIALIZED).
   */
  mode?: 'open-or-create' | 'open' | 'create';
  /** Who writes, for `updated_by` and audit entries (default: app). */
  actor?: Actor;
  /**
   * Where secret set/read/delete events go: a sink, or a factory called once
   * with the store and data keys before the services are built (the audit log
   * needs both, and they exist only inside open).
   */
  audit?: AuditSink | AuditSinkFactory;
  dataKeyCacheSize?: number;
  maxValueBytes?: number;
}

export type AuditSinkFactory = (parts: { store: Store; dataKeys: DataKeys }) => AuditSink;

export class Vault {
  readonly store: Store;
  readonly dataKeys: DataKeys;
  readonly secrets: Secrets;
  readonly fields: Fields;
  readonly keyCheck: KeyCheck;
  readonly schemaVersion: number;
  readonly storeId: string;
  #closed = false;

  private constructor(
    store: Store,
    dataKeys: DataKeys,
    options: OpenVaultOptions,
    keyCheck: KeyCheck,
    version: number,
    storeId: string,
  ) {
    this.store = store;
    this.dataKeys = dataKeys;
    this.keyCheck = keyCheck;
    this.schemaVersion = version;
    this.storeId = storeId;
    const actor = options.actor ?? { id: 'app' };
    const audit =
      typeof options.audit === 'function' ? options.audit({ store, dataKeys }) : options.audit;
    this.secrets = new Secrets(store, dataKeys, {
      defaultActor: actor,
      ...(audit === undefined ? {} : { audit }),
      ...(options.maxValueBytes === undefined ? {} : { maxValueBytes: options.maxValueBytes }),
    });
    this.fields = new Fields(store.db, store.dialect, dataKeys);
  }

  get keyring(): Keyring {
    return this.dataKeys.keyring;
  }

  static async open(options: OpenVaultOptions): Promise<Vault> {
    const store =
      typeof options.database === 'object'
        ? options.database
        : connectStore(options.database, options.drivers ?? {});
    const ownsStore = typeof options.database !== 'object';
    try {
      const mode = options.mode ?? 'open-or-create';
      const current = await schemaVersion(store);
      let storeId = current > 0 ? await getMeta(store.db, META.storeId) : undefined;
      if (storeId !== undefined && mode === 'create') {
        throw new LockboxError(
          'STORE_ALREADY_INITIALIZED',
          `${store.location} already holds a Lockbox store`,
        );
      }
      if (storeId === undefined && mode === 'open') {
        throw new LockboxError(
          'STORE_NOT_INITIALIZED',
          `${store.location} holds no Lockbox store; run lockbox init`,
        );
      }
      const version = await migrateToLatest(store, {
        '0003_integrity': (trx) => upgradeIntegrity(trx, options.keyring),
      });
      if (storeId === undefined) storeId = await initialise(store, options.keyring);
      const keyCheck = await checkKeyring(store.db, options.keyring);
      // Opened once per handle; missing or unopenable is a hard error, never a re-creation.
      const dataKeys = new DataKeys(
        store.db,
        options.keyring,
        await openIntegrityKey(store.db, options.keyring),
        options.dataKeyCacheSize ?? DEFAULT_DATA_KEY_CACHE,
      );
      return new Vault(store, dataKeys, options, keyCheck, version, storeId);
    } catch (err) {
      if (ownsStore) await store.close();
      throw err;
    }
  }

  async status(): Promise<VaultStatus> {
    return vaultStatus(this.store.db, this.keyring, this.dataKeys, this.schemaVersion);
  }

  /**
   * Why this instance should not serve right now ([] when it may): its primary
   * master key retired by another instance's rotation, or rows failing their
   * integrity check. Read-only; a few small queries (for /readyz).
   */
  async readinessProblems(): Promise<{ code: string; message: string }[]> {
    return readinessProblems(await this.integrityReport());
  }

  /** Rows failing their integrity check and the primary's record (integrity-report.ts). */
  integrityReport(): Promise<IntegrityReport> {
    return integrityReport(this.store.db, this.dataKeys.integrity, this.keyring);
  }

  /**
   * Whether the store has ever recorded `fingerprint` or still holds a data
   * key wrapped under it (a tool asks this before deleting a key file).
   */
  isMasterKeyKnown(fingerprint: string): Promise<boolean> {
    return masterKeyKnown(this.store.db, fingerprint);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.store.close();
  }
}

/**
 * Marks an empty database as a Lockbox store, creates its integrity key and
 * records the primary key's fingerprint (MACed). Only the process that wins the
 * store id insert does the rest, so concurrent inits make one integrity key.
 */
async function initialise(store: Store, keyring: Keyring): Promise<string> {
  return store.db.transaction().execute(async (trx) => {
    const now = nowIso();
    // A concurrent init may win the insert; then both return the winner's id.
    const inserted = await insertMetaIfAbsent(trx, META.storeId, randomUUID());
    const storeId = (await getMeta(trx, META.storeId))!;
    if (!inserted) return storeId;
    await setMeta(trx, META.createdAt, now);
    const integrity = await createIntegrityKey(trx, keyring, undefined);
    await writeMasterKeyRecord(trx, integrity, {
      fingerprint: keyring.primary.fingerprint,
      state: 'active',
      created_at: now,
      retired_at: null,
    });
    return storeId;
  });
}
