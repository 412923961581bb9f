/**
 * The one place that knows how a field value's ciphertext is sealed and opened.
 *
 * A field value is lb1: under its field scope's data key, bound to table, column
 * and every key column's value (crypto/context.ts fieldContext). `Fields` seals
 * and opens through here with the vault's handle; bundle export and import do
 * the same inside their transactions (passing the transaction to DataKeys, which
 * on SQLite's single connection is the only handle that does not wait forever).
 */
import type { Kysely } from 'kysely';
import {
  CIPHERTEXT_TAG,
  decryptParsed,
  encryptToText,
  parseCiphertext,
} from '../crypto/ciphertext.js';
import { fieldContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys, OpenDataKey } from './data-keys.js';
import { describeRowKey } from './row-key.js';

/** Where a field value lives: its field and its row's key values (canonical text, key-column order). */
export interface FieldValueBinding {
  table: string;
  column: string;
  primaryKey: readonly string[];
  values: readonly string[];
}

function contextOf(binding: FieldValueBinding): Buffer {
  return fieldContext(binding.table, binding.column, binding.primaryKey, binding.values);
}

/** Seals `plaintext` for the row `binding` names with `key` (the field scope's active data key). */
export function sealFieldValue(
  key: OpenDataKey,
  binding: FieldValueBinding,
  plaintext: Uint8Array,
): string {
  return encryptToText(key.idBytes, key.key, plaintext, contextOf(binding));
}

/**
 * Opens a field value stored at `binding`. Throws CIPHERTEXT_UNKNOWN_FORMAT (not
 * lb1:) or SECRET_UNDECRYPTABLE naming the table, column and row key (never the
 * value) with the underlying code in details.reason.
 */
export async function openFieldValue(
  dataKeys: Pick<DataKeys, 'open'>,
  binding: FieldValueBinding,
  ciphertext: string,
  db?: Kysely<LockboxSchema>,
): Promise<Buffer> {
  const { table, column } = binding;
  try {
    const parsed = parseCiphertext(ciphertext);
    // Fields are always lb1: (their tables have no version column to bind).
    if (parsed.tag !== CIPHERTEXT_TAG) {
      throw new LockboxError('CIPHERTEXT_UNKNOWN_FORMAT', `field values are "${CIPHERTEXT_TAG}"`);
    }
    const dataKey = await dataKeys.open(parsed.keyId, db);
    return decryptParsed(parsed, dataKey.key, contextOf(binding));
  } catch (err) {
    if (!(err instanceof LockboxError)) throw err;
    const row = describeRowKey(binding.primaryKey, binding.values);
    throw new LockboxError(
      err.code === 'CIPHERTEXT_UNKNOWN_FORMAT'
        ? 'CIPHERTEXT_UNKNOWN_FORMAT'
        : 'SECRET_UNDECRYPTABLE',
      `${table}.${column} of row ${row} cannot be decrypted (${err.code})`,
      {
        cause: err,
        details: { ...err.details, table, column, rowId: row, reason: err.code },
      },
    );
  }
}
