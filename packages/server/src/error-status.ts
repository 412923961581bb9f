/**
 * The one table from Lockbox error codes to HTTP status codes.
 *
 * Typed as a total record over ErrorCode, so adding a code to the catalogue
 * without deciding its status here is a compile error. Client mistakes are 4xx;
 * faults in stored data or server configuration are 5xx but keep their code and
 * message (those are LockboxError messages, which never carry secrets); only
 * unknown errors become a generic INTERNAL.
 */
import type { ErrorCode } from '@lockbox/core';

export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  // Keys and keyring: a key supplied in a request that is malformed is the client's fault.
  KEY_INVALID_ENCODING: 400,
  KEY_INVALID_LENGTH: 400,
  KEY_MISSING: 400,
  KEY_FILE_NOT_FOUND: 500,
  KEY_FILE_INSECURE: 500,
  KEY_FILE_EXISTS: 409,
  KEY_WRONG: 422,
  KEY_NOT_IN_KEYRING: 500,
  KEY_SAME_AS_OLD: 422,
  KEY_STILL_NEEDED: 409,
  KEY_DUPLICATE: 422,
  // PKCS#11 keys are server configuration; a token that went away is a temporary outage.
  KEY_URI_INVALID: 500,
  PKCS11_UNAVAILABLE: 500,
  PKCS11_MODULE_LOAD_FAILED: 500,
  PKCS11_TOKEN_NOT_FOUND: 500,
  PKCS11_PIN_MISSING: 500,
  PKCS11_PIN_INCORRECT: 500,
  PKCS11_KEY_NOT_FOUND: 500,
  PKCS11_KEY_EXISTS: 409,
  PKCS11_KEY_UNSUITABLE: 500,
  PKCS11_MECHANISM_UNSUPPORTED: 500,
  PKCS11_TOKEN_UNAVAILABLE: 503,
  PKCS11_FAILED: 500,
  PASSPHRASE_PARAMS_INVALID: 500,
  // Formats and decryption: stored data the server cannot read.
  CIPHERTEXT_MALFORMED: 500,
  CIPHERTEXT_UNKNOWN_FORMAT: 500,
  DECRYPT_FAILED: 500,
  WRAPPED_KEY_MALFORMED: 500,
  LEGACY_MALFORMED: 500,
  LEGACY_DECRYPT_FAILED: 500,
  // Store
  STORE_URL_UNSUPPORTED: 500,
  STORE_DRIVER_MISSING: 500,
  STORE_SCHEMA_TOO_NEW: 500,
  STORE_NOT_INITIALIZED: 500,
  STORE_ALREADY_INITIALIZED: 409,
  STORE_FAILED: 503,
  STORE_FLUSH_FAILED: 503,
  // Vault
  NAME_INVALID: 400,
  SCOPE_INVALID: 400,
  VALUE_TOO_LARGE: 413,
  TEXT_INVALID: 400,
  METADATA_INVALID: 400,
  SECRET_NOT_FOUND: 404,
  SECRET_UNDECRYPTABLE: 500,
  DATA_KEY_NOT_FOUND: 500,
  DATA_KEY_UNDECRYPTABLE: 500,
  FIELD_NOT_REGISTERED: 404,
  FIELD_INVALID: 400,
  FIELD_KEY_UNSUITABLE: 400,
  FIELD_ROW_KEY_INVALID: 400,
  FIELD_IN_USE: 409,
  VERSION_CONFLICT: 409,
  // Integrity: stored rows changed outside Lockbox, or an instance behind a rotation.
  INTEGRITY_KEY_MISSING: 500,
  INTEGRITY_CHECK_FAILED: 500,
  MASTER_KEY_RETIRED: 503,
  // Rotation: a key that fails its proof of possession is unprocessable input.
  ROTATION_IN_PROGRESS: 409,
  ROTATION_NOT_FOUND: 404,
  ROTATION_OLD_KEY_MISMATCH: 422,
  ROTATION_FIRST_ROW_FAILED: 422,
  // Backup and recovery
  BUNDLE_MALFORMED: 400,
  BUNDLE_TOO_LARGE: 413,
  BUNDLE_TOO_EXPENSIVE: 422,
  BUNDLE_VERSION_UNSUPPORTED: 422,
  BUNDLE_RECORD_UNSUPPORTED: 422,
  BUNDLE_DECRYPT_FAILED: 422,
  BUNDLE_DUPLICATE_RECORD: 400,
  IMPORT_CONFLICT: 409,
  IMPORT_BUSY: 503,
  RECOVERY_NOT_CONFIGURED: 409,
  RECOVERY_IDENTITY_INVALID: 400,
  RECOVERY_IDENTITY_MISMATCH: 422,
  RECOVERY_RECIPIENT_UNAUTHENTICATED: 500,
  RECIPIENT_INVALID: 400,
  RECOVERY_INCOMPLETE: 409,
  RESTORE_TARGET_NOT_EMPTY: 409,
  // Audit
  AUDIT_CHAIN_BROKEN: 500,
  AUDIT_ANCHOR_INVALID: 400,
  // API and tokens
  AUTH_MISSING: 401,
  AUTH_INVALID: 401,
  PERMISSION_DENIED: 403,
  RATE_LIMITED: 429,
  REQUEST_INVALID: 400,
  REQUEST_TOO_LARGE: 413,
  REQUEST_HEADERS_TOO_LARGE: 431,
  NOT_FOUND: 404,
  NOT_READY: 503,
  TOKEN_NOT_FOUND: 404,
  // Raised by clients (the CLI's --server mode, clients/python), never by the server itself.
  SERVER_UNREACHABLE: 502,
  // Processes and files
  ENV_NAME_INVALID: 400,
  ENV_COLLISION: 409,
  FILE_EXISTS: 409,
  PATH_INVALID: 400,
  INVALID_ARGUMENT: 400,
  INTERNAL: 500,
};

export function statusFor(code: ErrorCode): number {
  return ERROR_STATUS[code];
}
