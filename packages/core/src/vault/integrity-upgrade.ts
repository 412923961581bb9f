/**
 * The keyed step of migration 0003_integrity: for a store that predates the
 * integrity key, prove the keyring, create the key, and MAC every
 * security-relevant row that exists at that moment. It runs inside the migration
 * transaction, so the schema change and the stamping commit together or not at
 * all, and once only: afterwards a missing key is INTEGRITY_KEY_MISSING, never a
 * second stamping.
 *
 * Trust on first use: rows a database writer planted *before* the upgrade are
 * stamped like the rest (docs/security.md says so).
 */
import type { Keyring } from '../keys/keyring.js';
import type { Executor } from '../store/executor.js';
import { allFieldRows, setFieldMac } from '../store/field-rows.js';
import { allMasterKeyRows, setMasterKeyMac } from '../store/master-key-rows.js';
import { getMeta } from '../store/meta-rows.js';
import { allTokens, setTokenMac } from '../store/token-rows.js';
import { setAuthenticatedMeta } from './authenticated-meta.js';
import { createIntegrityKey, type IntegrityKey } from './integrity-key.js';
import { checkKeyring } from './key-check.js';
import { FIELD_MAC, MASTER_KEY_MAC, rowMac, TOKEN_MAC } from './row-macs.js';
import { META } from './store-meta.js';

export async function upgradeIntegrity(trx: Executor, keyring: Keyring): Promise<void> {
  // A database that is not a store yet is stamped by initialise instead.
  if ((await getMeta(trx, META.storeId)) === undefined) return;
  // A wrong key must write nothing (the open is refused just after, too).
  await checkKeyring(trx, keyring);
  const recipient = await getMeta(trx, META.recoveryRecipient);
  const key = await createIntegrityKey(trx, keyring, recipient);
  await stampRows(trx, key);
  if (recipient !== undefined) {
    await setAuthenticatedMeta(trx, key, META.recoveryRecipient, recipient);
  }
}

async function stampRows(trx: Executor, key: IntegrityKey): Promise<void> {
  for (const row of await allTokens(trx, 'id')) {
    await setTokenMac(trx, row.id, rowMac(key, TOKEN_MAC, row));
  }
  for (const row of await allFieldRows(trx)) {
    await setFieldMac(trx, row.table_name, row.column_name, rowMac(key, FIELD_MAC, row));
  }
  for (const row of await allMasterKeyRows(trx)) {
    await setMasterKeyMac(trx, row.fingerprint, rowMac(key, MASTER_KEY_MAC, row));
  }
}
