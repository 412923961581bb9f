/**
 * Random nonces sliced from a pooled buffer.
 *
 * One call into the CSPRNG per 4,096 nonces instead of one per encryption. Each
 * pool is filled once and never reused: when it runs out a fresh buffer is
 * allocated, so a nonce handed out earlier can never change under its holder.
 * GCM with 96-bit random nonces is safe for about 2^32 encryptions per key
 * (docs/security.md says when to rotate); pooling does not change that bound.
 */
import { randomFillSync } from 'node:crypto';

export const NONCE_BYTES = 12;
const NONCES_PER_POOL = 4096;

let pool = Buffer.alloc(0);
let offset = 0;

/** Returns 12 fresh random bytes (a view into a pool that is never refilled in place). */
export function nextNonce(): Buffer {
  if (offset + NONCE_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(NONCE_BYTES * NONCES_PER_POOL));
    offset = 0;
  }
  const nonce = pool.subarray(offset, offset + NONCE_BYTES);
  offset += NONCE_BYTES;
  return nonce;
}
