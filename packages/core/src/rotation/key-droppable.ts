/**
 * The check before a master key leaves the keyring: it may go only when no live
 * data key is wrapped under it (the vault would otherwise refuse to open with
 * KEY_WRONG, and the rows under it would be unreadable), and never while it is
 * the primary (new data keys are wrapped under the primary).
 */
import { LockboxError } from '../errors.js';
import { countSecretsUnderMasterKey } from '../store/secret-row-counts.js';
import type { Vault } from '../vault/lockbox.js';
import { liveDataKeysUnder } from './master-rotation.js';

/** Throws KEY_STILL_NEEDED (with counts) unless `fingerprint` can be dropped from the keyring. */
export async function assertKeyDroppable(
  source: Vault | { readonly vault: Vault },
  fingerprint: string,
): Promise<void> {
  const vault = 'vault' in source ? source.vault : source;
  if (vault.keyring.primary.fingerprint === fingerprint) {
    throw new LockboxError(
      'KEY_STILL_NEEDED',
      `master key ${fingerprint} is the primary key: new data keys are wrapped under it; rotate to another key first (lockbox rotate master)`,
      { details: { fingerprint, primary: true } },
    );
  }
  const dataKeys = await liveDataKeysUnder(vault.store.db, fingerprint);
  if (dataKeys === 0) return;
  const secrets = await countSecretsUnderMasterKey(vault.store.db, fingerprint);
  throw new LockboxError(
    'KEY_STILL_NEEDED',
    `master key ${fingerprint} still wraps ${dataKeys} data key(s) used by ${secrets} secret(s) (and any field rows on them); finish \`lockbox rotate master\` and check \`lockbox doctor\` before dropping it`,
    { details: { fingerprint, dataKeys, secrets } },
  );
}
