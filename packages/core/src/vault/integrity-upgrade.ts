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
import type { Kysely } from 'kysely';
import type { Keyring } from '../keys/keyring.js';
import type { LockboxSchema } from '../store/schema.js';
import { setAuthenticatedMeta } from './authenticated-meta.js';
import { DataKeys } from './data-keys.js';
import { createIntegrityKey, type IntegrityKey } from './integrity-key.js';
import { checkKeyring } from './key-check.js';
import { FIELD_MAC, MASTER_KEY_MAC, rowMac, TOKEN_MAC } from './row-macs.js';
import { getMeta, META } from './store-meta.js';

type Db = Kysely<LockboxSchema>;

export async function upgradeIntegrity(trx: Db, keyring: Keyring): Promise<void> {
  // A database that is not a store yet is stamped by initialise instead.
  if ((await getMeta(trx, META.storeId)) === undefined) return;
  // A wrong key must write nothing (the open is refused just after, too).
  await checkKeyring(trx, keyring, new DataKeys(trx, keyring));
  const recipient = await getMeta(trx, META.recoveryRecipient);
  const key = await createIntegrityKey(trx, keyring, recipient);
  await stampRows(trx, key);
  if (recipient !== undefined) {
    await setAuthenticatedMeta(trx, key, META.recoveryRecipient, recipient);
  }
}

async function stampRows(trx: Db, key: IntegrityKey): Promise<void> {
  for (const row of await trx.selectFrom('lockbox_tokens').selectAll().execute()) {
    await trx
      .updateTable('lockbox_tokens')
      .set({ mac: rowMac(key, TOKEN_MAC, row) })
      .where('id', '=', row.id)
      .execute();
  }
  for (const row of await trx.selectFrom('lockbox_fields').selectAll().execute()) {
    await trx
      .updateTable('lockbox_fields')
      .set({ mac: rowMac(key, FIELD_MAC, row) })
      .where('table_name', '=', row.table_name)
      .where('column_name', '=', row.column_name)
      .execute();
  }
  for (const row of await trx.selectFrom('lockbox_master_keys').selectAll().execute()) {
    await trx
      .updateTable('lockbox_master_keys')
      .set({ mac: rowMac(key, MASTER_KEY_MAC, row) })
      .where('fingerprint', '=', row.fingerprint)
      .execute();
  }
}
