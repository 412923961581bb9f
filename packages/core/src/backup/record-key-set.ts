/**
 * Duplicate detection for (scope, name) pairs in a stream of records, in 16
 * bytes per record.
 *
 * A bundle may hold any number of records in any order, and one (scope, name)
 * twice must be refused. Remembering the names themselves would cost ~100 bytes
 * each; instead each pair is hashed (SHA-256 under a random per-set salt, over
 * the length-prefixed pair so "a"+"bc" and "ab"+"c" differ) to 128 bits and kept
 * in an open-addressing table of 32-bit words. Two different pairs colliding in
 * 128 bits has probability ~n²/2¹²⁹ — never, in practice — and the salt keeps a
 * crafted bundle from aiming for it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { encodeContext } from '../crypto/context.js';

const WORDS = 4;
const INITIAL_SLOTS = 1024;

export class RecordKeySet {
  readonly #salt = randomBytes(16);
  #table = new Uint32Array(INITIAL_SLOTS * WORDS);
  #slots = INITIAL_SLOTS;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds the pair; returns false when it was already present. */
  add(scope: string, name: string): boolean {
    const digest = createHash('sha256')
      .update(this.#salt)
      .update(encodeContext([scope, name]))
      .digest();
    // Word 0 is forced odd so an all-zero slot always means "empty".
    const words = [
      digest.readUInt32LE(0) | 1,
      digest.readUInt32LE(4),
      digest.readUInt32LE(8),
      digest.readUInt32LE(12),
    ] as const;
    if (!this.#insert(this.#table, this.#slots, words)) return false;
    this.#size += 1;
    if (this.#size * 2 > this.#slots) this.#grow();
    return true;
  }

  #insert(
    table: Uint32Array,
    slots: number,
    words: readonly [number, number, number, number],
  ): boolean {
    let slot = (words[1] >>> 0) & (slots - 1);
    for (;;) {
      const at = slot * WORDS;
      if (table[at] === 0) {
        table.set(words, at);
        return true;
      }
      if (
        table[at] === words[0] >>> 0 &&
        table[at + 1] === words[1] >>> 0 &&
        table[at + 2] === words[2] >>> 0 &&
        table[at + 3] === words[3] >>> 0
      ) {
        return false;
      }
      slot = (slot + 1) & (slots - 1);
    }
  }

  #grow(): void {
    const slots = this.#slots * 2;
    const table = new Uint32Array(slots * WORDS);
    for (let i = 0; i < this.#slots; i++) {
      const at = i * WORDS;
      if (this.#table[at] === 0) continue;
      const words = [
        this.#table[at] as number,
        this.#table[at + 1] as number,
        this.#table[at + 2] as number,
        this.#table[at + 3] as number,
      ] as const;
      this.#insert(table, slots, words);
    }
    this.#table = table;
    this.#slots = slots;
  }
}
