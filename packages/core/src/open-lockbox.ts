/**
 * openLockbox: the library's front door. Opens the vault (connect, migrate, prove
 * the keyring) and builds the services on top of it. Each service module adds
 * itself here and nowhere else.
 */
import type { Fields } from './vault/fields.js';
import { type OpenVaultOptions, Vault } from './vault/lockbox.js';
import type { Secrets } from './vault/secrets.js';
import type { VaultStatus } from './vault/status.js';

export type OpenLockboxOptions = OpenVaultOptions;

export class Lockbox {
  readonly vault: Vault;
  readonly secrets: Secrets;
  readonly fields: Fields;

  constructor(vault: Vault) {
    this.vault = vault;
    this.secrets = vault.secrets;
    this.fields = vault.fields;
  }

  status(): Promise<VaultStatus> {
    return this.vault.status();
  }

  close(): Promise<void> {
    return this.vault.close();
  }
}

export async function openLockbox(options: OpenLockboxOptions): Promise<Lockbox> {
  return new Lockbox(await Vault.open(options));
}
