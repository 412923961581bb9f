/**
 * @lockbox/core — the whole public API, as explicit named exports.
 */

// crypto
export {
  CIPHERTEXT_TAG,
  decryptParsed,
  encryptToText,
  isCiphertext,
  parseCiphertext,
} from './crypto/ciphertext.js';
export { constantTimeEqual } from './crypto/constant-time.js';
export { dataKeyContext, encodeContext, fieldContext, secretContext } from './crypto/context.js';
export { fingerprint, fingerprintBytes, KEY_ID_BYTES } from './crypto/fingerprint.js';
export { hkdfSha256, hmacSha256 } from './crypto/hkdf.js';
export {
  formatMasterKey,
  generateMasterKey,
  MASTER_KEY_BYTES,
  parseMasterKey,
} from './crypto/master-key.js';
export {
  DATA_KEY_BYTES,
  parseWrappedKey,
  unwrapParsed,
  WRAPPED_KEY_TAG,
  wrapKey,
} from './crypto/wrapped-key.js';
export {
  ERROR_CODES,
  type ErrorCode,
  isLockboxError,
  LockboxError,
  type LockboxErrorOptions,
} from './errors.js';
// keys
export {
  checkSecretPath,
  MAX_SECRET_FILE_BYTES,
  readSecretFile,
  SECRET_FILE_MODE,
  type WriteSecretFileOptions,
  writeSecretFile,
} from './keys/key-file.js';
export {
  type KeyringConfig,
  keyringFromConfig,
  MASTER_KEY_ENV,
  masterKeyFromEnv,
  masterKeyFromFile,
  PREVIOUS_KEYS_ENV,
  parseKeyList,
  splitKeyList,
  writeMasterKeyFile,
} from './keys/key-providers.js';
export { Keyring, type MasterKey, masterKeyFrom, wrappingFingerprint } from './keys/keyring.js';
export { Lockbox, type OpenLockboxOptions, openLockbox } from './open-lockbox.js';

// store
export {
  connectStore,
  type DatabaseDrivers,
  DEFAULT_DATABASE,
  type DialectName,
  parseDatabaseUrl,
  redactDatabaseUrl,
  type Store,
} from './store/connect.js';
export { migrateToLatest, schemaVersion } from './store/migrate.js';
export { SCHEMA_VERSION } from './store/migrations.js';
export type { LockboxSchema } from './store/schema.js';

// vault
export type { Actor, AuditEvent, AuditSink } from './vault/audit-sink.js';
export { DataKeys, type OpenDataKey } from './vault/data-keys.js';
export { type FieldRegistration, Fields, type RowId } from './vault/fields.js';
export { inspectKeys, type KeyCheck } from './vault/key-check.js';
export { type OpenVaultOptions, Vault } from './vault/lockbox.js';
export {
  INTERNAL_SCOPE_PREFIX,
  MAX_NAME_LENGTH,
  MAX_SCOPE_LENGTH,
  validateName,
  validateScope,
  validateUserScope,
} from './vault/names.js';
export { type ListedSecret, type SecretInfo, Secrets, type SetOptions } from './vault/secrets.js';
export type { UndecryptableGroup, VaultStatus } from './vault/status.js';
export { getMeta, META, setMeta } from './vault/store-meta.js';
