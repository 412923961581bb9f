/**
 * @lockbox/core — the public API: what an application, the server and the CLI
 * use, as explicit named exports. Primitives and formats are behind
 * `@lockbox/core/hazmat`; everything else is internal. Why each group is public:
 *
 * - audit/: reading, verifying and anchoring the log (`lockbox audit`, GET /v1/audit, doctor).
 * - backup/: bundles, snapshots and recovery (`lockbox export|import|snapshot|restore|recover`, /v1/backup).
 * - crypto/: telling a Lockbox ciphertext apart, fingerprints, making a master key — nothing that encrypts on its own.
 * - env/: how `lockbox run` maps secrets to a child's environment and audits it.
 * - errors: LockboxError and the stable codes every caller branches on.
 * - keys/: master-key sources (env, file, passphrase, age identity, PKCS#11) and the keyring.
 * - open-lockbox: the one-line entry point an application starts from.
 * - rotation/: master rotation, data re-key, field adoption, their jobs, options and census.
 * - store/: database URLs and drivers, the schema version (init, doctor, inspectStore).
 * - tokens/: API tokens, their format and permissions (the server's auth, `lockbox token`).
 * - vault/: secrets, fields, names, status, integrity reports and the Vault they hang on.
 */

export {
  ANCHOR_PREFIX,
  type AuditAnchor,
  formatAnchor,
  parseAnchor,
} from './audit/audit-anchor.js';
export type { AuditEntry, AuditOutcome } from './audit/audit-entry.js';
export {
  type AuditListOptions,
  AuditLog,
  DEFAULT_AUDIT_PAGE,
  MAX_AUDIT_PAGE,
} from './audit/audit-log.js';
export type { AuditBreak, AuditVerifyResult, VerifyOptions } from './audit/audit-verifier.js';
export type { RowStateCheck } from './audit/row-state-check.js';
export type {
  SecretVersionCheck,
  VersionMismatch,
  VersionMismatchKind,
} from './audit/secret-version-check.js';

export type { AgeDecryption, AgeEncryption } from './backup/age-stream.js';
export { Backup, type BackupCaller } from './backup/backup.js';
export { type BackupState, backupState } from './backup/backup-state.js';
export { BUNDLE_FORMAT, BUNDLE_VERSION } from './backup/bundle-format.js';
export { DEFAULT_MAX_BUNDLE_BYTES } from './backup/bundle-reader.js';
export type { ExportOptions, ExportSummary } from './backup/export-bundle.js';
export type { FieldExportSummary } from './backup/export-field-values.js';
export {
  CONFLICT_POLICIES,
  type ConflictPolicy,
  type ImportAction,
  type ImportConflict,
  type ImportOptions,
  type ImportReport,
  type ScopeImportCounts,
} from './backup/import-bundle.js';
export type {
  FieldImportCounts,
  FieldRegistrationState,
} from './backup/import-field-values.js';
export type { RecoverStoreOptions, RecoverySummary } from './backup/recover-store.js';
export { Recovery, type RecoveryChange, type RecoveryCoverage } from './backup/recovery.js';
export type { RestoreOptions, RestoreSummary } from './backup/restore-snapshot.js';
export { SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from './backup/snapshot-format.js';
export type { SnapshotOptions, SnapshotSummary } from './backup/take-snapshot.js';

export { isCiphertext } from './crypto/ciphertext.js';
export { fingerprint } from './crypto/fingerprint.js';
export {
  formatMasterKey,
  generateMasterKey,
  MASTER_KEY_BYTES,
  parseMasterKey,
} from './crypto/master-key.js';
export { type AuditInjectionOptions, auditInjection } from './env/audit-injection.js';
export { ENV_NAME_PATTERN, toEnvName } from './env/env-names.js';
export {
  type EnvPlanEntry,
  type EnvSecretSource,
  planSecretsEnv,
  readEnvPlan,
  type SecretsToEnvOptions,
  secretsToEnv,
} from './env/secrets-to-env.js';
export {
  ERROR_CODES,
  type ErrorCode,
  isLockboxError,
  LockboxError,
  type LockboxErrorOptions,
} from './errors.js';
export {
  type AgeKeyPair,
  formatAgeIdentityFile,
  generateAgeIdentity,
  parseAgeIdentity,
  parseAgeRecipient,
  recipientFromIdentity,
  writeAgeIdentityFile,
} from './keys/age-identity.js';
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
export {
  Keyring,
  type LocalMasterKey,
  type MasterKey,
  type MasterKeyProvider,
  masterKeyFrom,
} from './keys/keyring.js';
export {
  type KeyringOptions,
  keyringFromOptions,
  type MasterKeyValue,
} from './keys/keyring-options.js';
export { generatePkcs11MasterKey } from './keys/pkcs11/pkcs11-keygen.js';
export { Pkcs11MasterKey } from './keys/pkcs11/pkcs11-master-key.js';
export { isPkcs11Uri, type Pkcs11Uri, parsePkcs11Uri } from './keys/pkcs11/pkcs11-uri.js';
export { Lockbox, type OpenLockboxOptions, openLockbox } from './open-lockbox.js';

export type { AdoptionCounts, AdoptionResult } from './rotation/adoption.js';
export {
  type Census,
  type CensusOptions,
  census,
  type FieldCensus,
  type MasterKeyCensus,
} from './rotation/census.js';
export type { UnreadableRow } from './rotation/checkpoint.js';
export type { LegacyKeys } from './rotation/legacy-decoder.js';
export type { MasterKeyInput } from './rotation/master-key-input.js';
export { Rotation } from './rotation/rotation.js';
export type { RotationJob, RotationKind } from './rotation/rotation-jobs.js';
export type { RotationMode, RotationModeChoice } from './rotation/rotation-mode.js';
export type {
  AdoptAllOptions,
  AdoptOptions,
  DataRekeyResult,
  MasterRotationResult,
  RekeyDataOptions,
  ResumeOptions,
  RotateMasterOptions,
  RotationOptions,
  RotationStatus,
} from './rotation/rotation-options.js';
export type {
  ProgressListener,
  RotationPhase,
  RotationProgress,
} from './rotation/rotation-progress.js';

export {
  connectStore,
  type DatabaseDrivers,
  DEFAULT_DATABASE,
  type DialectName,
  parseDatabaseUrl,
  redactDatabaseUrl,
  type Store,
} from './store/connect.js';
export { schemaVersion } from './store/migrate.js';
export {
  can,
  PERMISSION_NAMES,
  type PermissionHolder,
  type PermissionName,
  parsePermission,
  parsePermissions,
} from './tokens/permissions.js';
export { matchScopeGlob } from './tokens/scope-glob.js';
export { formatToken, parseToken, TOKEN_PREFIX } from './tokens/token-format.js';
export {
  type CreatedToken,
  type CreateTokenOptions,
  TOKEN_TOUCH_INTERVAL_MS,
  type TokenActionOptions,
  type TokenInfo,
  Tokens,
} from './tokens/tokens.js';
export type { Actor, AuditEvent, AuditSink } from './vault/audit-sink.js';
export {
  type FieldDeclaration,
  type FieldRegistration,
  Fields,
  keyColumnsOf,
  type RowId,
  type RowKey,
  type RowKeyValue,
} from './vault/fields.js';
export { inspectStore, type StoreInspection } from './vault/inspect-store.js';
export type { IntegrityBreak, IntegrityReport } from './vault/integrity-report.js';
export { type OpenVaultOptions, Vault } from './vault/lockbox.js';
export {
  INTERNAL_SCOPE_PREFIX,
  MAX_NAME_LENGTH,
  MAX_SCOPE_LENGTH,
  validateName,
  validateScope,
  validateScopePrefix,
  validateUserScope,
} from './vault/names.js';
export { describeRowKey } from './vault/row-key.js';
export { type ListedSecret, type SecretInfo, Secrets, type SetOptions } from './vault/secrets.js';
export type { UndecryptableGroup, VaultStatus } from './vault/status.js';
export {
  assertWellFormed,
  decodeUtf8Strict,
  isWellFormedText,
  MAX_METADATA_DEPTH,
  validateMetadata,
} from './vault/text-input.js';
