/** The pooled nonce source: fresh, unique nonces that never change after they are handed out. */
import { describe, expect, it } from 'vitest';
import { NONCE_BYTES, nextNonce } from '../../src/crypto/nonce-pool.js';

describe('nextNonce', () => {
  it('hands out unique 12-byte nonces across several pool refills', () => {
    const seen = new Set<string>();
    const draws = 3 * 4096 + 17;
    for (let i = 0; i < draws; i++) {
      const nonce = nextNonce();
      expect(nonce.length).toBe(NONCE_BYTES);
      seen.add(nonce.toString('hex'));
    }
    expect(seen.size).toBe(draws);
  });

  it('never changes a nonce it handed out earlier, even after the pool is replaced', () => {
    const held = Array.from({ length: 50 }, () => nextNonce());
    const copies = held.map((nonce) => Buffer.from(nonce));
    for (let i = 0; i < 3 * 4096; i++) nextNonce();
    held.forEach((nonce, i) => {
      expect(nonce.equals(copies[i] as Buffer)).toBe(true);
    });
  });
});
