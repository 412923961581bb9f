/**
 * Duplicate detection for record keys ((scope, name) pairs, field rows) in a stream of records, in 16–32
 * bytes per record (12-byte slots, a table between 3/8 and 3/4 full).
 *
 * A bundle may hold any number of records in any order, and one (scope, name)
 * twice must be refused. Exact duplicate detection over unsorted input needs
 * memory linear in the number of records (or a second pass), so the aim is a
 * small constant: instead of the names (~100 bytes each), each pair is hashed —
 * SHA-256 under a random per-set salt, over the length-prefixed pair so "a"+"bc"
 * and "ab"+"c" differ — to 96 bits, kept in an open-addressing table of 32-bit
 * words at most three-quarters full. Two different pairs colliding in 96 bits
 * has probability ~n²/2⁹⁷ (below 10⁻¹⁷ for a million records), and the salt keeps
 * a crafted bundle from aiming for it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { encodeContext } from '../crypto/context.js';

const WORDS = 3;
const INITIAL_SLOTS = 1024;
/** Grow when more than this fraction of the slots is used. */
const MAX_LOAD = 0.75;

type Key = readonly [number, number, number];

export class RecordKeySet {
  readonly #salt = randomBytes(16);
  #table = new Uint32Array(INITIAL_SLOTS * WORDS);
  #slots = INITIAL_SLOTS;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /**
   * Adds the record key (a (scope, name) pair, or a field value's table, column
   * and key parts); returns false when it was already present.
   */
  add(...parts: readonly string[]): boolean {
    const digest = createHash('sha256').update(this.#salt).update(encodeContext(parts)).digest();
    // Word 0 is forced odd so an all-zero slot always means "empty".
    const key: Key = [
      (digest.readUInt32LE(0) | 1) >>> 0,
      digest.readUInt32LE(4),
      digest.readUInt32LE(8),
    ];
    if (!insert(this.#table, this.#slots, key)) return false;
    this.#size += 1;
    if (this.#size > this.#slots * MAX_LOAD) this.#grow();
    return true;
  }

  #grow(): void {
    const slots = this.#slots * 2;
    const table = new Uint32Array(slots * WORDS);
    const old = this.#table;
    for (let at = 0; at < old.length; at += WORDS) {
      if (old[at] === 0) continue;
      insert(table, slots, [old[at] as number, old[at + 1] as number, old[at + 2] as number]);
    }
    this.#table = table;
    this.#slots = slots;
  }
}

/** Inserts `key` (linear probing; `slots` is a power of two); false when it was there. */
function insert(table: Uint32Array, slots: number, key: Key): boolean {
  let slot = key[1] & (slots - 1);
  for (;;) {
    const at = slot * WORDS;
    if (table[at] === 0) {
      table[at] = key[0];
      table[at + 1] = key[1];
      table[at + 2] = key[2];
      return true;
    }
    if (table[at] === key[0] && table[at + 1] === key[1] && table[at + 2] === key[2]) return false;
    slot = (slot + 1) & (slots - 1);
  }
}
