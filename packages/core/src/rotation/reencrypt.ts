/**
 * Re-encryption of one batch: item i is decrypted with the key that opens it and
 * encrypted with its scope's new key — under the same associated data and tag for
 * a field, as lb2: bound to the row's version for a secret (an lb1: secret moves
 * forward; see vault/secret-ciphertext.ts). Every key is
 * in hand before the loop starts, so the loop never waits on the database; a
 * failed item yields its error code, never a partial value.
 */
import {
  type CiphertextTag,
  decryptParsed,
  encryptToText,
  parseCiphertext,
} from '../crypto/ciphertext.js';
import { isLockboxError } from '../errors.js';
import type { OpenDataKey } from '../vault/data-keys.js';

/** Per item: the new ciphertext, or the error code that stopped it. */
export type ReencryptResult = string | { code: string };

/** How the new ciphertext is sealed: its tag and associated data. */
export interface SealAs {
  tag: CiphertextTag;
  context: Uint8Array;
}

interface Item {
  text: string;
  /** The associated data the current text opens under. */
  context: Uint8Array;
  from: OpenDataKey;
  to: OpenDataKey;
  sealAs: SealAs;
}

export class ReencryptBatch {
  readonly #items: Item[] = [];

  get size(): number {
    return this.#items.length;
  }

  add(text: string, context: Uint8Array, from: OpenDataKey, to: OpenDataKey, sealAs: SealAs): void {
    this.#items.push({ text, context, from, to, sealAs });
  }

  run(): ReencryptResult[] {
    return this.#items.map((item) => {
      try {
        const plaintext = decryptParsed(parseCiphertext(item.text), item.from.key, item.context);
        try {
          const { tag, context } = item.sealAs;
          return encryptToText(item.to.idBytes, item.to.key, plaintext, context, tag);
        } finally {
          plaintext.fill(0);
        }
      } catch (err) {
        return { code: isLockboxError(err) ? err.code : 'INTERNAL' };
      }
    });
  }
}
