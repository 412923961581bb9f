/**
 * openLockbox: the library's front door. Opens the vault (connect, migrate, prove
 * the keyring) and builds the services on top of it. Each service module adds
 * itself here and nowhere else.
 */
import { AuditLog } from './audit/audit-log.js';
import { Backup } from './backup/backup.js';
import { Recovery } from './backup/recovery.js';
import { Rotation } from './rotation/rotation.js';
import { Tokens } from './tokens/tokens.js';
import type { AuditSink } from './vault/audit-sink.js';
import type { Fields } from './vault/fields.js';
import type { IntegrityReport } from './vault/integrity-report.js';
import { type OpenVaultOptions, Vault } from './vault/lockbox.js';
import type { Secrets } from './vault/secrets.js';
import type { VaultStatus } from './vault/status.js';

export interface OpenLockboxOptions extends Omit<OpenVaultOptions, 'audit'> {
  /**
   * true: record every secret set, read and delete in the hash-chained audit log
   * (the CLI and server do; each entry is a serialised insert, so the embedded
   * default is false). An AuditSink: send those events there instead. Token
   * create/revoke are always recorded in the audit log.
   */
  audit?: boolean | AuditSink;
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

  constructor(vault: Vault) {
    this.vault = vault;
    this.secrets = vault.secrets;
    this.fields = vault.fields;
    this.audit = new AuditLog(vault.store, vault.dataKeys);
    this.tokens = new Tokens(vault.store.db, vault.dataKeys, this.audit);
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

  close(): Promise<void> {
    return this.vault.close();
  }
}

export async function openLockbox(options: OpenLockboxOptions): Promise<Lockbox> {
  const { audit, ...vaultOptions } = options;
  const vault = await Vault.open(
    typeof audit === 'object' ? { ...vaultOptions, audit } : vaultOptions,
  );
  const lockbox = new Lockbox(vault);
  if (audit === true) vault.secrets.setAuditSink(lockbox.audit);
  return lockbox;
}
