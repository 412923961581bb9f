/**
 * The one place that knows how a secret row's ciphertext is bound.
 *
 * Writes always make lb2:, bound to scope, name, value type, version and
 * created_at as they will be stored; reads accept lb2: (that binding) and lb1:
 * (scope, name and value type only: rows written before format 2, moved forward
 * by a data re-key). Every path that writes secret ciphertext (set, import,
 * re-key) seals through here with the version it actually stores, and every
 * reader opens through here, so the two cannot drift apart.
 */
import {
  type CiphertextTag,
  decryptParsed,
  encryptToText,
  type ParsedCiphertext,
  ROW_CIPHERTEXT_TAG,
} from '../crypto/ciphertext.js';
import { secretContext, secretRowContext } from '../crypto/context.js';
import type { ValueType } from '../store/schema.js';
import type { OpenDataKey } from './data-keys.js';

/** The columns a secret ciphertext is bound to. */
export interface SecretBinding {
  scope: string;
  name: string;
  value_type: ValueType;
  /** As stored (PostgreSQL may hand integers back as strings). */
  version: number | string;
  created_at: string;
}

/** The associated data a ciphertext with `tag` must open under, for this row. */
export function secretContextFor(tag: CiphertextTag, row: SecretBinding): Buffer {
  if (tag === ROW_CIPHERTEXT_TAG) {
    return secretRowContext(
      row.scope,
      row.name,
      row.value_type,
      Number(row.version),
      row.created_at,
    );
  }
  return secretContext(row.scope, row.name, row.value_type);
}

/** Seals `plaintext` as the lb2: ciphertext of `row` (its version and created_at as they will be stored). */
export function sealSecret(key: OpenDataKey, row: SecretBinding, plaintext: Uint8Array): string {
  return encryptToText(
    key.idBytes,
    key.key,
    plaintext,
    secretContextFor(ROW_CIPHERTEXT_TAG, row),
    ROW_CIPHERTEXT_TAG,
  );
}

/** Opens a parsed secret ciphertext for `row`; DECRYPT_FAILED when it belongs to another row or version. */
export function openSecret(
  parsed: ParsedCiphertext,
  key: Pick<OpenDataKey, 'key'>,
  row: SecretBinding,
): Buffer {
  return decryptParsed(parsed, key.key, secretContextFor(parsed.tag, row));
}
