/** Comparison of secret values in time that does not depend on where they differ. */
import { timingSafeEqual } from 'node:crypto';

/**
 * True when `a` and `b` hold the same bytes. Lengths are not secret (they are
 * fixed by the formats), so unequal lengths return false at once.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
