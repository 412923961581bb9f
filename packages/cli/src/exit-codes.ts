/**
 * The CLI's exit codes: one table from LockboxError codes to process exit codes,
 * so scripts can tell "fix your command" from "wrong key" from "not there" from
 * "try again later". docs/cli.md documents the same table (a test keeps the two
 * in step). A code not listed here is a plain failure (1).
 *
 * `lockbox run` is the exception: after the child starts, its own exit code (or
 * 128 + signal number) is passed through unchanged.
 */
import type { ErrorCode } from '@lockbox/core';

export const EXIT = {
  /** Success. */
  OK: 0,
  /** Any failure not listed below (database errors, internal errors, tampered data). */
  FAILURE: 1,
  /** Usage: bad arguments, bad input or bad configuration; fix the command and retry. */
  USAGE: 2,
  /** Wrong key: the configured keys (or the identity or passphrase given) cannot open the data. */
  WRONG_KEY: 3,
  /** Not found: the store, secret, token or job named does not exist. */
  NOT_FOUND: 4,
  /** Conflict or busy: existing state prevents the change (or another process holds it). */
  CONFLICT: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every LockboxError code with an exit code other than FAILURE, grouped by exit code. */
export const EXIT_CODE_GROUPS: Readonly<Record<Exclude<ExitCode, 0 | 1>, readonly ErrorCode[]>> = {
  [EXIT.USAGE]: [
    'INVALID_ARGUMENT',
    'PATH_INVALID',
    'NAME_INVALID',
    'SCOPE_INVALID',
    'VALUE_TOO_LARGE',
    'TEXT_INVALID',
    'METADATA_INVALID',
    'KEY_INVALID_ENCODING',
    'KEY_INVALID_LENGTH',
    'KEY_MISSING',
    'KEY_FILE_NOT_FOUND',
    'KEY_FILE_INSECURE',
    'KEY_DUPLICATE',
    'KEY_SAME_AS_OLD',
    'PASSPHRASE_PARAMS_INVALID',
    'KEY_URI_INVALID',
    'PKCS11_UNAVAILABLE',
    'PKCS11_PIN_MISSING',
    'STORE_URL_UNSUPPORTED',
    'STORE_DRIVER_MISSING',
    'FIELD_INVALID',
    'FIELD_KEY_UNSUITABLE',
    'FIELD_ROW_KEY_INVALID',
    'ENV_NAME_INVALID',
    'ENV_COLLISION',
    'RECIPIENT_INVALID',
    'RECOVERY_IDENTITY_INVALID',
    'BUNDLE_MALFORMED',
    'BUNDLE_TOO_LARGE',
    'BUNDLE_TOO_EXPENSIVE',
    'BUNDLE_VERSION_UNSUPPORTED',
    'BUNDLE_RECORD_UNSUPPORTED',
    'BUNDLE_DUPLICATE_RECORD',
    'REQUEST_INVALID',
    'REQUEST_TOO_LARGE',
    'REQUEST_HEADERS_TOO_LARGE',
  ],
  [EXIT.WRONG_KEY]: [
    'KEY_WRONG',
    'KEY_NOT_IN_KEYRING',
    'ROTATION_OLD_KEY_MISMATCH',
    'ROTATION_FIRST_ROW_FAILED',
    'DECRYPT_FAILED',
    'SECRET_UNDECRYPTABLE',
    'DATA_KEY_UNDECRYPTABLE',
    'LEGACY_DECRYPT_FAILED',
    'BUNDLE_DECRYPT_FAILED',
    'RECOVERY_IDENTITY_MISMATCH',
    'PKCS11_PIN_INCORRECT',
  ],
  [EXIT.NOT_FOUND]: [
    'SECRET_NOT_FOUND',
    'STORE_NOT_INITIALIZED',
    'NOT_FOUND',
    'TOKEN_NOT_FOUND',
    'ROTATION_NOT_FOUND',
    'FIELD_NOT_REGISTERED',
    'RECOVERY_NOT_CONFIGURED',
    'PKCS11_TOKEN_NOT_FOUND',
    'PKCS11_KEY_NOT_FOUND',
  ],
  [EXIT.CONFLICT]: [
    'ROTATION_IN_PROGRESS',
    'VERSION_CONFLICT',
    'IMPORT_CONFLICT',
    'IMPORT_BUSY',
    'STORE_ALREADY_INITIALIZED',
    'KEY_FILE_EXISTS',
    'FILE_EXISTS',
    'KEY_STILL_NEEDED',
    'RESTORE_TARGET_NOT_EMPTY',
    'FIELD_IN_USE',
    'PKCS11_KEY_EXISTS',
  ],
};

const BY_CODE = new Map<string, ExitCode>();
for (const [exit, codes] of Object.entries(EXIT_CODE_GROUPS)) {
  for (const code of codes) BY_CODE.set(code, Number(exit) as ExitCode);
}

/** The exit code for a LockboxError code; FAILURE (1) for codes not in the table. */
export function exitCodeFor(code: string): ExitCode {
  return BY_CODE.get(code) ?? EXIT.FAILURE;
}
