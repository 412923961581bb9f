/**
 * The ways an application gives `openLockbox` its master keys, so that opening
 * a store is one line: `masterKey` (the key's text — hex, base64 or base64url,
 * as an `ENCRYPTION_KEY` variable holds it — or its 32 bytes), `masterKeyFile`
 * (a 0600 key file), `masterKeyUri` (a key in a PKCS#11 token, docs/keys.md),
 * `previousKeys` / `previousKeyFiles` / `previousKeyUris` (unwrap-only keys kept
 * through a rotation), or a ready `keyring`. Exactly one primary source.
 */
import { MASTER_KEY_BYTES, parseMasterKey } from '../crypto/master-key.js';
import { LockboxError } from '../errors.js';
import { masterKeyFromFile } from './key-providers.js';
import { Keyring, type MasterKey, masterKeyFrom } from './keyring.js';
import { Pkcs11MasterKey } from './pkcs11/pkcs11-master-key.js';

/** A master key: its text (hex, base64, base64url) or its 32 bytes. */
export type MasterKeyValue = string | Uint8Array;

export interface KeyringOptions {
  /** A keyring built by the caller. Exclusive with the key options below. */
  keyring?: Keyring;
  /** The primary master key. A blank string counts as absent (an unset variable). */
  masterKey?: MasterKeyValue | undefined;
  /** A key file holding the primary master key. Exclusive with `masterKey`. */
  masterKeyFile?: string | undefined;
  /** A PKCS#11 URI naming the primary master key in a token (pkcs11js loaded only then). */
  masterKeyUri?: string | undefined;
  /** Previous master keys: they only unwrap, until a rotation moved everything off them. */
  previousKeys?: readonly MasterKeyValue[] | undefined;
  /** Key files holding previous master keys. */
  previousKeyFiles?: readonly string[] | undefined;
  /** PKCS#11 URIs of previous master keys. */
  previousKeyUris?: readonly string[] | undefined;
}

function bytesOf(value: MasterKeyValue, what: string): Buffer {
  if (typeof value === 'string') return parseMasterKey(value, what);
  if (value.length !== MASTER_KEY_BYTES) {
    throw new LockboxError(
      'KEY_INVALID_LENGTH',
      `${what} is ${value.length} bytes; it must be exactly ${MASTER_KEY_BYTES}`,
    );
  }
  return Buffer.from(value);
}

const blank = (value: MasterKeyValue | undefined): boolean =>
  value === undefined || (typeof value === 'string' && value.trim() === '');

/**
 * The keyring the options describe. Throws KEY_MISSING without a primary key,
 * INVALID_ARGUMENT when two primary sources are given, KEY_DUPLICATE when a key
 * appears twice, and the parsers' codes for a malformed key or key file — each
 * naming the option, never the value. Raw key bytes are zeroed once the
 * keyring holds them (the caller's own buffers are left alone).
 */
export async function keyringFromOptions(options: KeyringOptions): Promise<Keyring> {
  const hasKey = !blank(options.masterKey);
  const hasFile = options.masterKeyFile !== undefined && options.masterKeyFile.trim() !== '';
  const hasUri = options.masterKeyUri !== undefined && options.masterKeyUri.trim() !== '';
  const hasPrevious =
    (options.previousKeys?.length ?? 0) > 0 ||
    (options.previousKeyFiles?.length ?? 0) > 0 ||
    (options.previousKeyUris?.length ?? 0) > 0;
  if (options.keyring !== undefined) {
    if (hasKey || hasFile || hasUri || hasPrevious) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        'give either `keyring` or master key options (masterKey, masterKeyFile, masterKeyUri, previousKeys, previousKeyFiles, previousKeyUris), not both',
      );
    }
    return options.keyring;
  }
  if ([hasKey, hasFile, hasUri].filter(Boolean).length > 1) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      'give the primary master key one way: `masterKey`, `masterKeyFile` or `masterKeyUri`',
    );
  }
  if (!hasKey && !hasFile && !hasUri) {
    throw new LockboxError(
      'KEY_MISSING',
      'no master key: give `masterKey` (for example process.env.ENCRYPTION_KEY), `masterKeyFile`, `masterKeyUri` or `keyring`',
    );
  }
  const raw: Buffer[] = [];
  try {
    if (!hasUri) {
      raw.push(
        hasKey
          ? bytesOf(options.masterKey as MasterKeyValue, 'masterKey')
          : await masterKeyFromFile(options.masterKeyFile as string),
      );
    }
    (options.previousKeys ?? []).forEach((key, i) => {
      raw.push(bytesOf(key, `previousKeys[${i}]`));
    });
    for (const path of options.previousKeyFiles ?? []) raw.push(await masterKeyFromFile(path));
    const local: MasterKey[] = raw.map((bytes) => masterKeyFrom(bytes));
    const primary = hasUri
      ? await Pkcs11MasterKey.open(options.masterKeyUri as string)
      : (local.shift() as MasterKey);
    for (const uri of options.previousKeyUris ?? []) local.push(await Pkcs11MasterKey.open(uri));
    return new Keyring(primary, local);
  } finally {
    for (const key of raw) key.fill(0);
  }
}
