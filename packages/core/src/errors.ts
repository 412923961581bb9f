/**
 * The one catalogue of Lockbox error codes.
 *
 * Every failure Lockbox reports is a `LockboxError` whose `code` comes from this
 * table. Codes are stable: scripts, the HTTP layer (one mapping table in the
 * server) and docs/errors.md depend on them. Messages name scopes, names, tables,
 * rows and key fingerprints — never a key, a plaintext or a ciphertext.
 */
export const ERROR_CODES = {
  // Keys and keyring
  KEY_INVALID_ENCODING: 'A key is not valid hex, base64 or base64url.',
  KEY_INVALID_LENGTH: 'A key decoded to the wrong number of bytes (a master key is 32 bytes).',
  KEY_MISSING: 'No master key is configured.',
  KEY_FILE_NOT_FOUND: 'A key or identity file does not exist.',
  KEY_FILE_INSECURE: 'A key file is readable by group or others; chmod 600 it.',
  KEY_FILE_EXISTS: 'Refused to overwrite an existing key file without force.',
  KEY_WRONG: 'The configured keyring opens none of the stored data keys.',
  KEY_NOT_IN_KEYRING: 'A ciphertext or wrapped key names a key that the keyring does not hold.',
  KEY_SAME_AS_OLD: 'The new key is the same as the old key.',
  KEY_STILL_NEEDED: 'A key cannot be dropped while stored data still needs it.',
  KEY_DUPLICATE: 'The same key appears twice in the keyring.',
  KEY_URI_INVALID: 'A PKCS#11 key URI is malformed or asks for something Lockbox refuses.',
  PKCS11_UNAVAILABLE: 'A pkcs11: key was given but the optional package pkcs11js is not installed.',
  PKCS11_MODULE_LOAD_FAILED:
    'The PKCS#11 module named by module-path cannot be loaded or initialised.',
  PKCS11_TOKEN_NOT_FOUND: 'No token (or more than one) matches the key URI.',
  PKCS11_PIN_MISSING: 'The key URI names a PIN source that is unset or empty.',
  PKCS11_PIN_INCORRECT: 'The token refused the PIN (incorrect, locked or the wrong length).',
  PKCS11_KEY_NOT_FOUND: 'No secret key object (or more than one) on the token matches the key URI.',
  PKCS11_KEY_EXISTS: 'keygen refused: the token already holds a key object with that label.',
  PKCS11_KEY_UNSUITABLE:
    'The key object is not a non-extractable, sensitive AES-256 key allowed to encrypt, decrypt and sign.',
  PKCS11_MECHANISM_UNSUPPORTED: 'The token does not offer CKM_AES_GCM or CKM_AES_CMAC.',
  PKCS11_TOKEN_UNAVAILABLE:
    'The token went away during an operation and could not be reached again.',
  PKCS11_FAILED:
    'The PKCS#11 module reported an unexpected error (its CKR_ name is in details.reason).',
  PASSPHRASE_PARAMS_INVALID: 'Stored passphrase (scrypt) parameters are malformed.',
  // Formats and decryption
  CIPHERTEXT_MALFORMED: 'A ciphertext is truncated, too long or badly encoded.',
  CIPHERTEXT_UNKNOWN_FORMAT: 'A ciphertext starts with a format tag this version does not know.',
  DECRYPT_FAILED: 'Authentication failed: wrong key, wrong context, or tampered data.',
  WRAPPED_KEY_MALFORMED: 'A wrapped data key is truncated, too long or badly encoded.',
  LEGACY_MALFORMED: 'A legacy (Fernet or v2:) value is malformed.',
  LEGACY_DECRYPT_FAILED: 'A legacy value failed to authenticate under the legacy key.',
  // Store
  STORE_URL_UNSUPPORTED: 'The database URL names a dialect Lockbox does not support.',
  STORE_DRIVER_MISSING:
    'The npm package that drives this database (better-sqlite3 or pg) is not installed.',
  STORE_SCHEMA_TOO_NEW: 'The database was written by a newer Lockbox; upgrade before opening it.',
  STORE_NOT_INITIALIZED: 'The database holds no Lockbox store; run `lockbox init`.',
  STORE_ALREADY_INITIALIZED: 'The database already holds a Lockbox store.',
  STORE_FAILED: 'The database reported an error.',
  STORE_FLUSH_FAILED:
    'A change was committed but could not be flushed to disk; a power loss may still undo it.',
  // Vault
  NAME_INVALID: 'A secret name is empty, too long or contains control characters.',
  SCOPE_INVALID: 'A scope is empty, too long or contains control characters.',
  VALUE_TOO_LARGE: 'A secret value is larger than the limit.',
  TEXT_INVALID:
    'Text is not valid Unicode (invalid UTF-8 or a lone surrogate); it is refused, never altered.',
  METADATA_INVALID: 'Metadata is not a plain JSON object, or is nested too deeply.',
  SECRET_NOT_FOUND: 'No secret exists at that scope and name.',
  SECRET_UNDECRYPTABLE: 'A stored secret cannot be decrypted with the configured keys.',
  DATA_KEY_NOT_FOUND: 'A ciphertext names a data key that the store does not hold.',
  DATA_KEY_UNDECRYPTABLE: 'A stored data key cannot be unwrapped with the configured keyring.',
  FIELD_NOT_REGISTERED: 'The table and column are not a registered field.',
  FIELD_INVALID: 'A field registration names an invalid table or column.',
  INTEGRITY_KEY_MISSING:
    "The store's integrity key is missing or was edited; Lockbox never re-creates it.",
  INTEGRITY_CHECK_FAILED:
    'A security-relevant row fails its integrity check (changed outside Lockbox); it is not used.',
  MASTER_KEY_RETIRED:
    'The primary master key is retired in the store (another instance rotated); no data key is created under it.',
  FIELD_KEY_UNSUITABLE:
    "A field's row-key columns are missing, nullable, of an unsupported type, or not covered by a primary key or unique index over exactly them.",
  FIELD_ROW_KEY_INVALID:
    "A row key does not name exactly the field's key columns, or a value is not a string, bigint or safe integer.",
  FIELD_IN_USE:
    'A field registration cannot be removed, or its key columns changed, while rows hold Lockbox ciphertext.',
  VERSION_CONFLICT: 'The value changed since it was read (compare-and-swap failed).',
  // Rotation
  ROTATION_IN_PROGRESS: 'Another rotation is running, or an interrupted one is unfinished.',
  ROTATION_NOT_FOUND: 'There is no rotation job to resume.',
  ROTATION_OLD_KEY_MISMATCH: 'The old key does not match the stored fingerprint.',
  ROTATION_FIRST_ROW_FAILED:
    'The first row could not be decrypted with the old key; nothing was changed.',
  // Backup and recovery
  BUNDLE_MALFORMED: 'A bundle is not a well-formed Lockbox bundle.',
  BUNDLE_TOO_LARGE: 'A bundle is larger than the configured limit.',
  BUNDLE_TOO_EXPENSIVE:
    'A bundle header demands more decryption work than allowed (scrypt work factor or recipient stanzas).',
  BUNDLE_VERSION_UNSUPPORTED:
    'A bundle or snapshot has a schema version this Lockbox does not read.',
  BUNDLE_DECRYPT_FAILED: 'A bundle could not be decrypted with the given identity or passphrase.',
  BUNDLE_DUPLICATE_RECORD:
    'A bundle holds the same secret (scope and name), or the same field value (table, column and row key), twice.',
  BUNDLE_RECORD_UNSUPPORTED: 'A bundle holds a record of a kind this Lockbox does not read.',
  IMPORT_CONFLICT: 'The import found conflicts and the policy is to fail.',
  IMPORT_BUSY: 'The server is already reading as many bundles as it allows; retry shortly.',
  RECOVERY_NOT_CONFIGURED: 'No recovery recipient is configured.',
  RECOVERY_IDENTITY_INVALID: 'The recovery identity is malformed.',
  RECOVERY_IDENTITY_MISMATCH: 'The recovery identity does not match the stored recovery recipient.',
  RECOVERY_RECIPIENT_UNAUTHENTICATED:
    'The stored recovery recipient fails its integrity check; no data key is wrapped to it.',
  RECIPIENT_INVALID: 'An age recipient is malformed.',
  RECOVERY_INCOMPLETE:
    'Some data keys are not wrapped to the recovery recipient, so recovery cannot rebuild them.',
  RESTORE_TARGET_NOT_EMPTY: 'A snapshot can only be restored into a store that holds no secrets.',
  // Audit
  AUDIT_CHAIN_BROKEN: 'The audit chain does not verify.',
  AUDIT_ANCHOR_INVALID:
    'An audit anchor is malformed, belongs to another store, or does not authenticate.',
  // API and tokens
  AUTH_MISSING: 'The request has no bearer token.',
  AUTH_INVALID: 'The bearer token is unknown, revoked or malformed.',
  PERMISSION_DENIED: 'The token lacks the permission this action needs.',
  RATE_LIMITED: 'Too many failed authentication attempts; try again later.',
  REQUEST_INVALID: 'The request does not match the schema.',
  REQUEST_TOO_LARGE: 'The request body is larger than the limit.',
  REQUEST_HEADERS_TOO_LARGE: 'The request headers are larger than the limit.',
  NOT_FOUND: 'The resource does not exist.',
  NOT_READY: 'The instance has not passed its startup key check.',
  TOKEN_NOT_FOUND: 'No token with that id exists.',
  SERVER_UNREACHABLE: 'A client could not reach the Lockbox server, or the answer was not one.',
  // Processes and files
  ENV_NAME_INVALID: 'A secret name cannot become an environment variable name.',
  ENV_COLLISION: 'Two secrets, or a secret and an existing variable, map to the same variable.',
  FILE_EXISTS: 'Refused to overwrite an existing file.',
  PATH_INVALID: 'A file path argument is not acceptable.',
  INVALID_ARGUMENT: 'An argument is invalid.',
  INTERNAL: 'An internal error; please report it.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface LockboxErrorOptions {
  cause?: unknown;
  /** Public, non-secret facts (scope, name, fingerprint, table, row) for tools and APIs. */
  details?: Record<string, unknown>;
}

export class LockboxError extends Error {
  override readonly name = 'LockboxError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string = ERROR_CODES[code],
    options: LockboxErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isLockboxError(err: unknown, code?: ErrorCode): err is LockboxError {
  return err instanceof LockboxError && (code === undefined || err.code === code);
}
