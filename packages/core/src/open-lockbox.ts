/**
 * openLockbox: the library's front door. Opens the vault (connect, migrate, prove
 * the keyring) and builds the services on top of it. Each service module adds
 * itself here and nowhere else.
 */
import { AuditLog } from './audit/audit-log.js';
import { Backup } from './backup/backup.js';
import { Recovery } from './backup/recovery.js';
import { type KeyringOptions, keyringFromOptions } from './keys/keyring-options.js';
import { Rotation } from './rotation/rotation.js';
import { type DatabaseDrivers, parseDatabaseUrl } from './store/connect.js';
import { loadDrivers } from './store/load-drivers.js';
import { Tokens } from './tokens/tokens.js';
import type { AuditSink } from './vault/audit-sink.js';
import type { Fields } from './vault/fields.js';
import type { IntegrityReport } from './vault/integrity-report.js';
import { type OpenVaultOptions, Vault } from './vault/lockbox.js';
import type { Secrets } from './vault/secrets.js';
import type { VaultStatus } from './vault/status.js';

export interface OpenLockboxOptions
  extends Omit<OpenVaultOptions, 'audit' | 'keyring' | 'drivers'>,
    KeyringOptions {
  /**
   * Driver factories. Optional: with a URL and no drivers, core imports
   * better-sqlite3 or pg itself (optional peer dependencies; a missing one is
   * STORE_DRIVER_MISSING naming the package).
   */
  drivers?: DatabaseDrivers;
  /**
   * true: record every secret set, read and delete in the hash-chained audit log
   * (the CLI and server do; each entry is a serialised insert, so the embedded
   * default is false). An AuditSink: send those events there instead. Token
   * create/revoke are always recorded in the audit log.
   */
  audit?: boolean | AuditSink;
  /**
   * With `audit: true`: append to a chain of this process's own instead of the
   * shared chain 0 (see AuditLogOptions.ownChain), for a long-running process
   * beside other instances. `lockbox serve` sets it. Default false.
   */
  ownAuditChain?: boolean;
}

export class Lockbox {
  readonly vault: Vault;
  readonly secrets: Secrets;
  readonly fields: Fields;
  readonly audit: AuditLog;
  readonly tokens: Tokens;
  readonly recovery: Recovery;
  readonly backup: Backup;
  readonly rotation: Rotation;

  /** `audit`: the vault's own audit log when it records secret events (openLockbox builds it first). */
  constructor(vault: Vault, audit: AuditLog = new AuditLog(vault.store, vault.dataKeys)) {
    this.vault = vault;
    this.secrets = vault.secrets;
    this.fields = vault.fields;
    this.audit = audit;
    this.tokens = new Tokens(vault.store, vault.dataKeys, this.audit);
    this.recovery = new Recovery(vault, this.audit);
    this.backup = new Backup(vault, this.audit);
    this.rotation = new Rotation(vault, this.audit);
  }

  status(): Promise<VaultStatus> {
    return this.vault.status();
  }

  /** Why this instance should not serve now ([] when it may); see Vault.readinessProblems. */
  readinessProblems(): Promise<{ code: string; message: string }[]> {
    return this.vault.readinessProblems();
  }

  /** Security-relevant rows that fail their integrity check; see Vault.integrityReport. */
  integrityReport(): Promise<IntegrityReport> {
    return this.vault.integrityReport();
  }

  /** Gives back the audit chain this handle holds (if any), then closes the store. */
  async close(): Promise<void> {
    try {
      await this.audit.close();
    } catch {
      // The lease goes stale by itself; closing the store matters more.
    }
    await this.vault.close();
  }
}

/**
 * Opens a store in one call:
 * `openLockbox({ database: 'sqlite:./lockbox.db', masterKey: process.env.ENCRYPTION_KEY })`.
 * Connects (loading the driver when none is given), migrates, proves the
 * keyring against the stored data keys (KEY_WRONG otherwise) and builds the
 * services. docs/library.md shows it end to end.
 */
export async function openLockbox(options: OpenLockboxOptions): Promise<Lockbox> {
  const {
    audit,
    ownAuditChain,
    keyring: givenKeyring,
    masterKey,
    masterKeyFile,
    masterKeyUri,
    previousKeys,
    previousKeyFiles,
    previousKeyUris,
    drivers: givenDrivers,
    ...vaultOptions
  } = options;
  const keyring = await keyringFromOptions({
    ...(givenKeyring === undefined ? {} : { keyring: givenKeyring }),
    masterKey,
    masterKeyFile,
    masterKeyUri,
    previousKeys,
    previousKeyFiles,
    previousKeyUris,
  });
  const drivers =
    givenDrivers ??
    (typeof vaultOptions.database === 'object'
      ? undefined
      : await loadDrivers(parseDatabaseUrl(vaultOptions.database).dialect));
  // With audit: true the log is built inside open, before the services that
  // record into it, and the Lockbox shares that one log (no setter, no window
  // in which a secret read goes unrecorded).
  let log: AuditLog | undefined;
  const vault = await Vault.open({
    ...vaultOptions,
    keyring,
    ...(drivers === undefined ? {} : { drivers }),
    ...(audit === true
      ? {
          audit: ({ store, dataKeys }) => {
            log = new AuditLog(store, dataKeys, { ownChain: ownAuditChain === true });
            return log;
          },
        }
      : typeof audit === 'object'
        ? { audit }
        : {}),
  });
  return new Lockbox(vault, log);
}
