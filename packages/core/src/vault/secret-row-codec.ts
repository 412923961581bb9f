/**
 * Opening a stored secret row: its data key (from the cache, or unwrapped from
 * the store through `db`, which may be a caller's transaction) and its bound
 * ciphertext (secret-ciphertext.ts). The one reader every service uses —
 * Secrets, census, re-key planning, export, import, restore — so a row that does
 * not open is reported alike everywhere.
 */
import { parseCiphertext } from '../crypto/ciphertext.js';
import { LockboxError } from '../errors.js';
import type { Executor } from '../store/executor.js';
import type { DataKeys } from './data-keys.js';
import { openSecret, type SecretBinding } from './secret-ciphertext.js';

/**
 * Decrypts a stored row; SECRET_UNDECRYPTABLE naming the scope/name and the key
 * needed otherwise. A ciphertext put back under another version (or another life
 * of the row) is SECRET_UNDECRYPTABLE with reason DECRYPT_FAILED, like any
 * tampering. Without `db` the data key is read with DataKeys' own handle.
 */
export async function openSecretRow(
  dataKeys: DataKeys,
  row: SecretBinding & { ciphertext: string },
  db?: Executor,
): Promise<Buffer> {
  try {
    const parsed = parseCiphertext(row.ciphertext);
    // A warm key is taken synchronously: awaiting open() would cost a promise per read.
    const key = dataKeys.cached(parsed.keyId) ?? (await dataKeys.open(parsed.keyId, db));
    return openSecret(parsed, key, row);
  } catch (err) {
    if (!(err instanceof LockboxError)) throw err;
    const needs =
      err.details.fingerprint === undefined
        ? ''
        : `; it needs master key ${String(err.details.fingerprint)}`;
    throw new LockboxError(
      'SECRET_UNDECRYPTABLE',
      `secret "${row.scope}/${row.name}" cannot be decrypted (${err.code})${needs}`,
      {
        cause: err,
        details: { ...err.details, scope: row.scope, name: row.name, reason: err.code },
      },
    );
  }
}
