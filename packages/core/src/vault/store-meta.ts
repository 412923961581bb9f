/**
 * The names of the store's metadata entries (lockbox_meta; its statements are
 * store/meta-rows.ts).
 */

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
