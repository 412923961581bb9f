/**
 * Encrypting and decrypting secret rows inside a transaction.
 *
 * Secrets' own methods use the vault's database handle; on SQLite (one
 * connection, held by an open transaction) calling them from inside a
 * transaction would wait forever. Backup works in transactions, so it seals and
 * opens rows here, with exactly the format and associated data Secrets uses
 * (`secretContext(scope, name, type)`), passing the transaction to DataKeys.
 */
import type { Kysely } from 'kysely';
import { decryptParsed, encryptToText, parseCiphertext } from '../crypto/ciphertext.js';
import { secretContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import type { LockboxSchema, ValueType } from '../store/schema.js';
import type { DataKeys, OpenDataKey } from '../vault/data-keys.js';

export interface StoredSecret {
  scope: string;
  name: string;
  value_type: ValueType;
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
    return decryptParsed(parsed, key.key, secretContext(row.scope, row.name, row.value_type));
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

/** Seals a value for (scope, name) with `key` (the scope's active data key). */
export function encryptSecretValue(
  key: OpenDataKey,
  scope: string,
  name: string,
  value: string | Uint8Array,
): { ciphertext: string; type: ValueType } {
  const type: ValueType = typeof value === 'string' ? 'utf8' : 'bytes';
  const plaintext = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const ciphertext = encryptToText(
    key.idBytes,
    key.key,
    plaintext,
    secretContext(scope, name, type),
  );
  if (typeof value === 'string') plaintext.fill(0);
  return { ciphertext, type };
}
