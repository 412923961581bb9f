/**
 * Opening one stored data key under a keyring: the wrapped bytes unwrapped with
 * the data key's context, as a KeyObject. Used by DataKeys (vault/data-keys.ts)
 * and, before a handle's DataKeys exists, by the startup key check and the
 * integrity key's opening.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { dataKeyContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';

export interface OpenDataKey {
  /** 16 hex characters. */
  readonly id: string;
  readonly idBytes: Buffer;
  readonly key: KeyObject;
}

/**
 * Unwraps a stored data key row under `keyring`; errors name the scope, key id
 * and fingerprint needed. Needs no handle: the key check and the integrity key's
 * opening run it before the handle's DataKeys exists.
 */
export function unwrapDataKeyRow(
  keyring: Keyring,
  row: { id: string; scope: string; wrapped: string | null },
): OpenDataKey {
  if (row.wrapped === null) {
    throw new LockboxError(
      'DATA_KEY_UNDECRYPTABLE',
      `data key ${row.id} of scope "${row.scope}" was destroyed`,
      {
        details: { scope: row.scope, dataKeyId: row.id },
      },
    );
  }
  try {
    const bytes = keyring.unwrap(row.wrapped, dataKeyContext(row.scope, row.id));
    const key = createSecretKey(bytes);
    bytes.fill(0);
    return { id: row.id, idBytes: Buffer.from(row.id, 'hex'), key };
  } catch (err) {
    if (err instanceof LockboxError && err.code === 'KEY_NOT_IN_KEYRING') {
      throw new LockboxError(
        'KEY_NOT_IN_KEYRING',
        `data key ${row.id} of scope "${row.scope}" needs master key ${String(err.details.fingerprint)}, which is not in the keyring`,
        { cause: err, details: { ...err.details, scope: row.scope, dataKeyId: row.id } },
      );
    }
    throw new LockboxError(
      'DATA_KEY_UNDECRYPTABLE',
      `data key ${row.id} of scope "${row.scope}" does not unwrap`,
      {
        cause: err,
        details: { scope: row.scope, dataKeyId: row.id },
      },
    );
  }
}
