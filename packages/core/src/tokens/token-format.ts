/**
 * The API token format: `lbx_<id>_<secret>`.
 *
 * - `id`: 12 lowercase hex characters (6 random bytes). Public: it names the token
 *   in lists, audit entries and logs, and finds its row.
 * - `secret`: 32 random bytes, base64url without padding (43 characters). Shown
 *   once at creation and never stored.
 *
 * The store keeps only `sha256:<hex>` of the secret (bound to the id). A plain
 * SHA-256 is enough here: the secret has 256 bits of entropy, so there is nothing
 * for a slow password hash or a keyed MAC to protect against — a leaked hash
 * cannot be searched back to its secret. Binding the id means a hash copied onto
 * another token's row does not make that token's secret valid.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'lbx_';
export const TOKEN_ID_HEX = 12;
export const TOKEN_SECRET_BYTES = 32;
const HASH_PREFIX = 'sha256:';

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

/** What the store keeps for a token: `sha256:` + hex of SHA-256("lockbox-token-v1" ‖ id ‖ secret). */
export function hashTokenSecret(id: string, secret: Uint8Array): string {
  const digest = createHash('sha256')
    .update('lockbox-token-v1\0', 'utf8')
    .update(id, 'utf8')
    .update('\0', 'utf8')
    .update(secret)
    .digest('hex');
  return `${HASH_PREFIX}${digest}`;
}
