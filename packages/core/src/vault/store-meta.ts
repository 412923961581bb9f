/** The store's key/value metadata table (store id, recovery recipient, backup state). */
import type { Kysely } from 'kysely';
import type { LockboxSchema } from '../store/schema.js';

export async function getMeta(db: Kysely<LockboxSchema>, key: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('lockbox_meta')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.value;
}

export async function setMeta(
  db: Kysely<LockboxSchema>,
  key: string,
  value: string,
): Promise<void> {
  await db
    .insertInto('lockbox_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

export async function deleteMeta(db: Kysely<LockboxSchema>, key: string): Promise<void> {
  await db.deleteFrom('lockbox_meta').where('key', '=', key).execute();
}

export const META = {
  storeId: 'store_id',
  createdAt: 'created_at',
  /** age X25519 recipient every data key is also wrapped to. */
  recoveryRecipient: 'recovery_recipient',
  /** When a bundle was last exported. */
  lastExportAt: 'last_export_at',
  /** When data keys or master keys last changed (rotation, recovery). */
  keysChangedAt: 'keys_changed_at',
  /** scrypt parameters, when the master key is derived from a passphrase. */
  passphraseParams: 'passphrase_params',
} as const;
