/**
 * Re-encryption of one batch: item i is decrypted with the key that opens it and
 * encrypted with its scope's new key under the same associated data. Every key is
 * in hand before the loop starts, so the loop never waits on the database; a
 * failed item yields its error code, never a partial value.
 */
import { decryptParsed, encryptToText, parseCiphertext } from '../crypto/ciphertext.js';
import { isLockboxError } from '../errors.js';
import type { OpenDataKey } from '../vault/data-keys.js';

/** Per item: the new ciphertext, or the error code that stopped it. */
export type ReencryptResult = string | { code: string };

interface Item {
  text: string;
  context: Uint8Array;
  from: OpenDataKey;
  to: OpenDataKey;
}

export class ReencryptBatch {
  readonly #items: Item[] = [];

  get size(): number {
    return this.#items.length;
  }

  add(text: string, context: Uint8Array, from: OpenDataKey, to: OpenDataKey): void {
    this.#items.push({ text, context, from, to });
  }

  run(): ReencryptResult[] {
    return this.#items.map((item) => {
      try {
        const plaintext = decryptParsed(parseCiphertext(item.text), item.from.key, item.context);
        try {
          return encryptToText(item.to.idBytes, item.to.key, plaintext, item.context);
        } finally {
          plaintext.fill(0);
        }
      } catch (err) {
        return { code: isLockboxError(err) ? err.code : 'INTERNAL' };
      }
    });
  }
}
