/**
 * The keyring: the master keys an instance is configured with.
 *
 * Exactly one primary key wraps new data keys; any number of previous keys can
 * only unwrap. A wrapped key names the master key that opens it (its fingerprint
 * is the key id), so the keyring looks the key up instead of trying keys in turn.
 * A key is a provider of wrap and unwrap: a local key (env, file, passphrase)
 * keeps its bytes only inside a KeyObject and writes "lbk1:"; a PKCS#11 key
 * (keys/pkcs11/) never has its bytes here and writes "lbh1:".
 */
import { createSecretKey } from 'node:crypto';
import { fingerprintBytes } from '../crypto/fingerprint.js';
import { HSM_WRAPPED_KEY_TAG, parseHsmWrappedKey } from '../crypto/hsm-wrapped-key.js';
import { MASTER_KEY_BYTES } from '../crypto/master-key.js';
import { parseWrappedKey, unwrapParsed, wrapKey } from '../crypto/wrapped-key.js';
import { LockboxError } from '../errors.js';

/** Where a master key lives: bytes in this process (env, file, passphrase), or a PKCS#11 token. */
export type MasterKeyProvider = 'local' | 'pkcs11';

export interface MasterKey {
  /** The 8-byte key id (the fingerprint's bytes). */
  readonly id: Buffer;
  /** 16 lowercase hex characters; safe to show and to store. */
  readonly fingerprint: string;
  readonly provider: MasterKeyProvider;
  /** Wraps a 32-byte data key, bound to `context`, in this provider's format. */
  wrap(dataKey: Uint8Array, context: Uint8Array): string;
  /**
   * Unwraps a data key this key wrapped. DECRYPT_FAILED when it does not
   * verify; the format's malformed/unknown-format codes for other text.
   */
  unwrap(wrapped: string, context: Uint8Array): Buffer;
}

/**
 * A master key whose bytes are in this process, writing "lbk1:". The bytes live
 * only in a KeyObject captured by wrap/unwrap: no field hands them out, so
 * nothing that holds the keyring (a service, a log line, a debugger's
 * object dump) can read or copy the key.
 */
export interface LocalMasterKey extends MasterKey {
  readonly provider: 'local';
}

export function masterKeyFrom(bytes: Uint8Array): LocalMasterKey {
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new LockboxError(
      'KEY_INVALID_LENGTH',
      `a master key is ${MASTER_KEY_BYTES} bytes, got ${bytes.length}`,
    );
  }
  const id = fingerprintBytes(bytes);
  const key = createSecretKey(bytes);
  return {
    id,
    fingerprint: id.toString('hex'),
    provider: 'local',
    wrap: (dataKey, context) => wrapKey(id, key, dataKey, context),
    unwrap: (wrapped, context) => unwrapParsed(parseWrappedKey(wrapped), key, context),
  };
}

export class Keyring {
  readonly primary: MasterKey;
  readonly previous: readonly MasterKey[];
  readonly #byFingerprint = new Map<string, MasterKey>();

  constructor(primary: MasterKey, previous: readonly MasterKey[] = []) {
    this.primary = primary;
    this.previous = previous;
    for (const key of [primary, ...previous]) {
      if (this.#byFingerprint.has(key.fingerprint)) {
        throw new LockboxError(
          'KEY_DUPLICATE',
          `key ${key.fingerprint} appears twice in the keyring`,
          {
            details: { fingerprint: key.fingerprint },
          },
        );
      }
      this.#byFingerprint.set(key.fingerprint, key);
    }
  }

  /** Builds a keyring from raw 32-byte keys. */
  static fromBytes(primary: Uint8Array, previous: readonly Uint8Array[] = []): Keyring {
    return new Keyring(masterKeyFrom(primary), previous.map(masterKeyFrom));
  }

  all(): readonly MasterKey[] {
    return [this.primary, ...this.previous];
  }

  fingerprints(): string[] {
    return this.all().map((k) => k.fingerprint);
  }

  get(fingerprint: string): MasterKey | undefined {
    return this.#byFingerprint.get(fingerprint);
  }

  has(fingerprint: string): boolean {
    return this.#byFingerprint.has(fingerprint);
  }

  /** A keyring with `key` as primary and this keyring's keys (minus `key`) as previous. */
  withPrimary(key: MasterKey): Keyring {
    const rest = this.all().filter((k) => k.fingerprint !== key.fingerprint);
    return new Keyring(key, rest);
  }

  /** Wraps a data key under the primary master key. */
  wrap(dataKey: Uint8Array, context: Uint8Array): string {
    return this.primary.wrap(dataKey, context);
  }

  /**
   * Unwraps a data key with the master key its envelope names. Throws
   * `KEY_NOT_IN_KEYRING` (details.fingerprint = the key it needs) when that key
   * is not configured, and `DECRYPT_FAILED` when the envelope does not verify.
   */
  unwrap(wrapped: string, context: Uint8Array): Buffer {
    const keyId = wrappingFingerprint(wrapped);
    const key = this.#byFingerprint.get(keyId);
    if (key === undefined) {
      throw new LockboxError(
        'KEY_NOT_IN_KEYRING',
        `the master key ${keyId} is not in the keyring`,
        {
          details: { fingerprint: keyId },
        },
      );
    }
    // The key parses its own format: an lbh1: envelope naming a local key (or the reverse) is refused.
    return key.unwrap(wrapped, context);
  }
}

/**
 * The fingerprint of the master key that wrapped `wrapped` ("lbk1:" or "lbh1:"),
 * without unwrapping it.
 */
export function wrappingFingerprint(wrapped: string): string {
  return wrapped.startsWith(HSM_WRAPPED_KEY_TAG)
    ? parseHsmWrappedKey(wrapped).keyId
    : parseWrappedKey(wrapped).keyId;
}
