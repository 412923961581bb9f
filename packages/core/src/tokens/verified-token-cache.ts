/**
 * A short-lived memory of tokens that verified, so a server does not read the
 * token row and recompute two HMACs on every request.
 *
 * Why: with keep-alive clients every request carries the same token; verifying
 * it is a database round trip (on PostgreSQL) plus the token hash and the row
 * MAC, a large part of a cheap audited read.
 *
 * Contract:
 * - An entry is keyed by SHA-256 of the token text (the token itself is not
 *   kept), holds the verified record, and is used until `maxAgeMs` after the
 *   database read that verified it *began*. So a token revoked by another
 *   instance (or in the database) is refused by this one at most `maxAgeMs`
 *   after the revocation committed: any read that still saw it unrevoked began
 *   before that.
 * - Only successes are remembered: an unknown, wrong or revoked token always
 *   goes to the database (a token created a moment ago works at once).
 * - `forget(id)` drops every entry of a token (its revocation on this handle
 *   takes effect at once); at most `MAX_ENTRIES` are kept (all dropped when full).
 */
import { createHash } from 'node:crypto';
import type { TokenInfo } from './tokens.js';

const MAX_ENTRIES = 10_000;

export class VerifiedTokenCache {
  readonly #entries = new Map<string, { info: TokenInfo; until: number }>();

  /** The cache key of a token text: its SHA-256, so no token is held here. */
  static keyOf(tokenText: string): string {
    return createHash('sha256').update(tokenText, 'utf8').digest('base64');
  }

  get(key: string, now: number): TokenInfo | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.until) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.info;
  }

  /** Remembers `info` until `readStartedAt + maxAgeMs`. */
  set(key: string, info: TokenInfo, readStartedAt: number, maxAgeMs: number): void {
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(key, { info, until: readStartedAt + maxAgeMs });
  }

  forget(id: string): void {
    for (const [key, entry] of this.#entries) if (entry.info.id === id) this.#entries.delete(key);
  }
}
