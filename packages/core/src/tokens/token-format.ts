/**
 * The API token format: `lbx_<id>_<secret>`.
 *
 * - `id`: 12 lowercase hex characters (6 random bytes). Public: it names the token
 *   in lists, audit entries and logs, and finds its row.
 * - `secret`: 32 random bytes, base64url without padding (43 characters). Shown
 *   once at creation and never stored.
 *
 * The store keeps only a hash of the secret, bound to the id:
 * - `hmac-sha256:<hex>` (since migration 0003): HMAC-SHA256 under the token-hash key
 *   derived from the store's integrity key (vault/integrity-key.ts), so someone who
 *   can write the table but holds no master key cannot compute the hash of a
 *   secret they chose, i.e. cannot mint a token;
 * - `sha256:<hex>` (tokens made before 0003): the plain SHA-256 below. Still
 *   accepted, but only while the row's MAC, stamped at upgrade, verifies — a row
 *   inserted later with a hash computed this way fails its MAC.
 * Binding the id means a hash copied onto another token's row does not make that
 * token's secret valid (and the row MAC covers id and hash together).
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'lbx_';
export const TOKEN_ID_HEX = 12;
export const TOKEN_SECRET_BYTES = 32;
const HASH_PREFIX = 'sha256:';
export const KEYED_HASH_PREFIX = 'hmac-sha256:';
export const LEGACY_HASH_PREFIX = HASH_PREFIX;

const ID = /^[0-9a-f]{12}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export interface ParsedToken {
  id: string;
  secret: Buffer;
}

export function isTokenId(id: string): boolean {
  return ID.test(id);
}

export function newTokenId(): string {
  return randomBytes(TOKEN_ID_HEX / 2).toString('hex');
}

export function newTokenSecret(): Buffer {
  return randomBytes(TOKEN_SECRET_BYTES);
}

export function formatToken(id: string, secret: Uint8Array): string {
  return `${TOKEN_PREFIX}${id}_${Buffer.from(secret).toString('base64url')}`;
}

/**
 * Splits a token into id and secret bytes, or returns undefined when it is not
 * exactly the format above (wrong prefix, length, alphabet, or a non-canonical
 * base64url tail). Never throws, and says nothing about why.
 */
export function parseToken(text: string): ParsedToken | undefined {
  if (typeof text !== 'string' || text.length !== TOKEN_PREFIX.length + 12 + 1 + 43)
    return undefined;
  if (!text.startsWith(TOKEN_PREFIX)) return undefined;
  const id = text.slice(4, 16);
  const secretText = text.slice(17);
  if (text[16] !== '_' || !ID.test(id) || !SECRET.test(secretText)) return undefined;
  const secret = Buffer.from(secretText, 'base64url');
  // 43 characters carry 258 bits; the last 2 must be zero for the encoding to be canonical.
  if (secret.length !== TOKEN_SECRET_BYTES || secret.toString('base64url') !== secretText) {
    return undefined;
  }
  return { id, secret };
}

/** The pre-0003 stored hash: `sha256:` + hex of SHA-256("lockbox-token-v1\0" ‖ id ‖ "\0" ‖ secret). */
export function hashTokenSecret(id: string, secret: Uint8Array): string {
  const digest = createHash('sha256')
    .update('lockbox-token-v1\0', 'utf8')
    .update(id, 'utf8')
    .update('\0', 'utf8')
    .update(secret)
    .digest('hex');
  return `${HASH_PREFIX}${digest}`;
}
