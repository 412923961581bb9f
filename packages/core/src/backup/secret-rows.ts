/**
 * Encrypting and decrypting secret rows inside a transaction.
 *
 * Secrets' own methods use the vault's database handle; on SQLite (one
 * connection, held by an open transaction) calling them from inside a
 * transaction would wait forever. Backup works in transactions, so it seals and
 * opens rows here, with exactly the format and associated data Secrets uses
 * (vault/secret-ciphertext.ts), passing the transaction to DataKeys.
 */
import type { Kysely } from 'kysely';
import { parseCiphertext } from '../crypto/ciphertext.js';
import { LockboxError } from '../errors.js';
import type { LockboxSchema, ValueType } from '../store/schema.js';
import type { DataKeys, OpenDataKey } from '../vault/data-keys.js';
import { openSecret, type SecretBinding, sealSecret } from '../vault/secret-ciphertext.js';

export interface StoredSecret extends SecretBinding {
  ciphertext: string;
}

/** Decrypts a stored row; SECRET_UNDECRYPTABLE (naming scope/name and the key needed) otherwise. */
export async function decryptSecretRow(
  dataKeys: DataKeys,
  row: StoredSecret,
  db: Kysely<LockboxSchema>,
): Promise<Buffer> {
  try {
    const parsed = parseCiphertext(row.ciphertext);
    const key = await dataKeys.open(parsed.keyId, db);
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

/**
 * Seals a value for the row (scope, name) as it will be stored — at `version`,
 * created at `createdAt` — with `key` (the scope's active data key).
 */
export function encryptSecretValue(
  key: OpenDataKey,
  row: { scope: string; name: string; version: number; createdAt: string },
  value: string | Uint8Array,
): { ciphertext: string; type: ValueType } {
  const type: ValueType = typeof value === 'string' ? 'utf8' : 'bytes';
  const plaintext = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const ciphertext = sealSecret(
    key,
    {
      scope: row.scope,
      name: row.name,
      value_type: type,
      version: row.version,
      created_at: row.createdAt,
    },
    plaintext,
  );
  if (typeof value === 'string') plaintext.fill(0);
  return { ciphertext, type };
}
