/**
 * @lockbox/core/hazmat — the primitives under the vault. Tink-style: an
 * application never needs these to keep secrets (`@lockbox/core` is enough);
 * they exist for tools, migrations, tests and the benchmarks, and using them
 * wrongly can lose or expose data. Why each group is here:
 *
 * - audit/: the chain's constants (genesis hash, head key, advisory lock, audit scope) for tools that inspect the raw table.
 * - backup/: the bundle's raw records and reader, for tools and tests that take bundles apart.
 * - crypto/: ciphertext and wrapped-key formats, contexts, HKDF/HMAC, constant-time compare, the legacy Fernet and `v2:` codecs (adoption peers).
 * - keys/: age wrapping, the passphrase KDF, PKCS#11 module loading and key attributes.
 * - rotation/: the rotation lock and mode choice, for tests that hold or race them.
 * - store/: migrations and the schema, for tools that create or inspect the tables.
 * - vault/: data keys, the integrity scope, key checks and the metadata table.
 */

export { AUDIT_ADVISORY_LOCK } from './audit/audit-chain.js';
export { GENESIS_HASH } from './audit/audit-entry.js';
export { AUDIT_HEAD_META, type AuditHead } from './audit/audit-head.js';
export { AUDIT_SCOPE } from './audit/audit-keys.js';
export type { RowRollback, RowRollbackKind } from './audit/row-state-check.js';
export { AGE_MAGIC, type ByteSource, looksLikeAge } from './backup/age-stream.js';
export type {
  BundleField,
  BundleHeader,
  BundleRecord,
  BundleTrailer,
} from './backup/bundle-format.js';
export { type BundleItem, readBundle } from './backup/bundle-reader.js';
export { FIELD_RECORD_KIND, type FieldValueRecord } from './backup/field-record.js';
export {
  CIPHERTEXT_TAG,
  type CiphertextTag,
  decryptParsed,
  encryptToText,
  parseCiphertext,
  ROW_CIPHERTEXT_TAG,
} from './crypto/ciphertext.js';
export { constantTimeEqual } from './crypto/constant-time.js';
export {
  dataKeyContext,
  encodeContext,
  fieldContext,
  secretContext,
  secretRowContext,
} from './crypto/context.js';
export { fingerprintBytes, KEY_ID_BYTES } from './crypto/fingerprint.js';
export { hkdfSha256, hmacSha256 } from './crypto/hkdf.js';
export { detectLegacyFormat, type LegacyFormat } from './crypto/legacy/detect-legacy-format.js';
export {
  decryptFernet,
  encryptFernet,
  type FernetKey,
  parseFernetKey,
} from './crypto/legacy/fernet.js';
export { decryptV2, encryptV2, V2_PREFIX } from './crypto/legacy/v2.js';
export {
  DATA_KEY_BYTES,
  parseWrappedKey,
  unwrapParsed,
  WRAPPED_KEY_TAG,
  wrapKey,
} from './crypto/wrapped-key.js';
export { unwrapWithIdentity, wrapToRecipient } from './keys/age-identity.js';
export { wrappingFingerprint } from './keys/keyring.js';
export {
  derivePassphraseKey,
  formatPassphraseParams,
  newPassphraseParams,
  type PassphraseParams,
  parsePassphraseParams,
} from './keys/passphrase-key.js';
export { PKCS11_FINGERPRINT_MESSAGE } from './keys/pkcs11/pkcs11-fingerprint.js';
export { masterKeyAttributes } from './keys/pkcs11/pkcs11-keygen.js';
export { type LoadedModule, loadPkcs11Module } from './keys/pkcs11/pkcs11-module.js';
export { assertKeyDroppable } from './rotation/key-droppable.js';
export {
  type RotationLockHandle,
  type RotationLockInfo,
  rotationLockInfo,
  withRotationLock,
} from './rotation/rotation-lock.js';
export {
  AUTO_ATOMIC_MAX_DATA_KEYS,
  AUTO_ATOMIC_MAX_UNITS,
  chooseMode,
  type ModeDecision,
} from './rotation/rotation-mode.js';
export { getMeta, setMeta } from './store/meta-rows.js';
export { migrateToLatest } from './store/migrate.js';
export { SCHEMA_VERSION } from './store/migrations.js';
export type { LockboxSchema } from './store/schema.js';
export { DataKeys, type OpenDataKey } from './vault/data-keys.js';
export { INTEGRITY_SCOPE } from './vault/integrity-key.js';
export { inspectKeys, type KeyCheck } from './vault/key-check.js';
export { META } from './vault/store-meta.js';
