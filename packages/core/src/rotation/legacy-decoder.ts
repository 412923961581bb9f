/**
 * Reading an application's legacy values for adoption: plaintext, Fernet tokens
 * and `v2:` AES-GCM values, with the legacy keys the operator gives.
 *
 * Legacy formats do not name their key, so (as Python's MultiFernet does) each
 * given key is tried in turn — the one place Lockbox does that; Lockbox's own
 * formats always name the key. A value in a format for which no key was given
 * (or plaintext, unless adopting plaintext was asked for) is skipped, not failed.
 */

import type { LegacyFormat } from '../crypto/legacy/detect-legacy-format.js';
import { decryptFernet, type FernetKey, parseFernetKey } from '../crypto/legacy/fernet.js';
import { decryptV2 } from '../crypto/legacy/v2.js';
import { parseMasterKey } from '../crypto/master-key.js';
import { isLockboxError, LockboxError } from '../errors.js';

export interface LegacyKeys {
  /** Fernet keys (URL-safe base64 of 32 bytes), as the application configured them. */
  fernetKeys?: readonly string[] | undefined;
  /** `v2:` keys: 32 bytes, or their hex/base64/base64url text. */
  v2Keys?: readonly (string | Uint8Array)[] | undefined;
  /** Adopt values that are neither Lockbox, Fernet nor `v2:` as plaintext. */
  plaintext?: boolean | undefined;
}

function labelled<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!isLockboxError(err)) throw err;
    throw new LockboxError(err.code, `${what}: ${err.message}`, { cause: err });
  }
}

export class LegacyDecoder {
  readonly #fernet: FernetKey[];
  readonly #v2: Buffer[];
  readonly #plaintext: boolean;

  /** Throws KEY_INVALID_ENCODING / KEY_INVALID_LENGTH naming the key's position (never its value). */
  constructor(keys: LegacyKeys) {
    this.#fernet = (keys.fernetKeys ?? []).map((text, i) =>
      labelled(`Fernet key ${i + 1}`, () => parseFernetKey(text)),
    );
    this.#v2 = (keys.v2Keys ?? []).map((key, i) =>
      labelled(`v2 key ${i + 1}`, () =>
        typeof key === 'string' ? parseMasterKey(key, `v2 key ${i + 1}`) : Buffer.from(key),
      ),
    );
    this.#plaintext = keys.plaintext === true;
    if (this.#fernet.length === 0 && this.#v2.length === 0 && !this.#plaintext) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        'adoption needs a Fernet key, a v2 key, or plaintext adoption turned on',
      );
    }
  }

  /** Whether values of this format are to be adopted. */
  handles(format: LegacyFormat): boolean {
    if (format === 'fernet') return this.#fernet.length > 0;
    if (format === 'v2') return this.#v2.length > 0;
    return format === 'plaintext' && this.#plaintext;
  }

  /**
   * The value's plaintext bytes. Throws LEGACY_MALFORMED or LEGACY_DECRYPT_FAILED
   * (no given key opens it); call only for formats this decoder handles.
   */
  decode(format: LegacyFormat, value: string): Buffer {
    if (format === 'plaintext') return Buffer.from(value, 'utf8');
    const keys: readonly unknown[] = format === 'fernet' ? this.#fernet : this.#v2;
    let last: unknown;
    for (const key of keys) {
      try {
        return format === 'fernet'
          ? decryptFernet(key as FernetKey, value)
          : decryptV2(key as Buffer, value);
      } catch (err) {
        if (!isLockboxError(err, 'LEGACY_DECRYPT_FAILED')) throw err;
        last = err;
      }
    }
    throw last instanceof LockboxError
      ? last
      : new LockboxError('LEGACY_DECRYPT_FAILED', `no key was given for ${format} values`);
  }

  /** Zeroes the raw v2 keys (Fernet keys live in KeyObjects). */
  dispose(): void {
    for (const key of this.#v2) key.fill(0);
  }
}
