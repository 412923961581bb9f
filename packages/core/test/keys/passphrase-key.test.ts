import { randomBytes } from 'node:crypto';
import { expectError, expectRejection } from '@lockbox/test-helpers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  derivePassphraseKey,
  formatPassphraseParams,
  newPassphraseParams,
  type PassphraseParams,
  parsePassphraseParams,
} from '../../src/keys/passphrase-key.js';

/** Small parameters keep derivation fast; the bounds allow log2(N) = 10. */
const fast = (salt: Buffer = randomBytes(16)): PassphraseParams => ({
  N: 2 ** 10,
  r: 8,
  p: 1,
  salt,
});
const PASSPHRASE = 'correct horse battery staple canary-7d2e';

describe('derivePassphraseKey', () => {
  it('derives the same 32-byte key from the same passphrase and params', async () => {
    const params = fast();
    const a = await derivePassphraseKey(PASSPHRASE, params);
    const b = await derivePassphraseKey(
      PASSPHRASE,
      parsePassphraseParams(formatPassphraseParams(params)),
    );
    expect(a).toHaveLength(32);
    expect(b).toEqual(a);
  });

  it('derives different keys for a different salt, passphrase or cost', async () => {
    const params = fast();
    const base = await derivePassphraseKey(PASSPHRASE, params);
    expect(await derivePassphraseKey(PASSPHRASE, fast())).not.toEqual(base);
    expect(await derivePassphraseKey(`${PASSPHRASE}!`, params)).not.toEqual(base);
    expect(await derivePassphraseKey(PASSPHRASE, { ...params, N: 2 ** 11 })).not.toEqual(base);
    expect(await derivePassphraseKey(PASSPHRASE, { ...params, r: 4 })).not.toEqual(base);
  });

  it('matches an independent scrypt implementation on a fixed vector', async () => {
    // Computed with Python's hashlib.scrypt: P = UTF-8(NFC("café lockbox")),
    // S = bytes 0..15, N = 1024, r = 8, p = 1, dkLen = 32.
    const params = parsePassphraseParams('scrypt$10$8$1$AAECAwQFBgcICQoLDA0ODw');
    const key = await derivePassphraseKey('cafe\u0301 lockbox', params);
    expect(key.toString('hex')).toBe(
      '5df87e96bb8793a91328e41a6dcfd99d5731b1c2f2ff541c6de054cba15c555c',
    );
  });

  it('treats composed and decomposed Unicode passphrases alike (NFC)', async () => {
    const params = fast();
    const composed = await derivePassphraseKey('caf\u00e9', params);
    expect(await derivePassphraseKey('cafe\u0301', params)).toEqual(composed);
  });

  it('accepts the passphrase as bytes', async () => {
    const params = fast();
    expect(await derivePassphraseKey(Buffer.from(PASSPHRASE), params)).toEqual(
      await derivePassphraseKey(PASSPHRASE, params),
    );
  });

  it('refuses an empty passphrase and out-of-bounds params without echoing the passphrase', async () => {
    await expectRejection(derivePassphraseKey('', fast()), 'INVALID_ARGUMENT');
    await expectRejection(
      derivePassphraseKey(PASSPHRASE, { ...fast(), N: 1000 }),
      'PASSPHRASE_PARAMS_INVALID',
      [PASSPHRASE],
    );
    await expectRejection(
      derivePassphraseKey(PASSPHRASE, fast(randomBytes(8))),
      'PASSPHRASE_PARAMS_INVALID',
      [PASSPHRASE],
    );
  });

  it('derives with the default parameters (N = 2^17 needs more than node’s default maxmem)', async () => {
    const key = await derivePassphraseKey(PASSPHRASE, newPassphraseParams());
    expect(key).toHaveLength(32);
  });
});

describe('passphrase params text', () => {
  it('formats the defaults as scrypt$17$8$1$<22-character base64url salt>', () => {
    const params = newPassphraseParams();
    expect(params).toMatchObject({ N: 2 ** 17, r: 8, p: 1 });
    expect(params.salt).toHaveLength(16);
    const text = formatPassphraseParams(params);
    expect(text).toMatch(/^scrypt\$17\$8\$1\$[A-Za-z0-9_-]{22}$/);
    expect(parsePassphraseParams(text)).toEqual(params);
  });

  it('gives every call a fresh salt', () => {
    expect(newPassphraseParams().salt).not.toEqual(newPassphraseParams().salt);
  });

  it('round-trips every in-bounds parameter set', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 20 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        (logN, r, p, salt) => {
          const params = { N: 2 ** logN, r, p, salt: Buffer.from(salt) };
          expect(parsePassphraseParams(formatPassphraseParams(params))).toEqual(params);
        },
      ),
    );
  });

  it('accepts the bounds themselves', () => {
    const salt = randomBytes(16).toString('base64url');
    for (const text of [
      `scrypt$10$1$1$${salt}`,
      `scrypt$22$2$1$${salt}`,
      `scrypt$15$32$16$${salt}`,
    ]) {
      expect(() => parsePassphraseParams(text)).not.toThrow();
    }
  });

  it('refuses malformed or out-of-bounds text with PASSPHRASE_PARAMS_INVALID', () => {
    const salt = randomBytes(16).toString('base64url');
    const cases = [
      '',
      'scrypt',
      `scrypt$17$8$1`,
      `scrypt$17$8$1$${salt}$extra`,
      `argon2$17$8$1$${salt}`,
      `SCRYPT$17$8$1$${salt}`,
      `scrypt$9$8$1$${salt}`, // log2 N below 10
      `scrypt$23$8$1$${salt}`, // log2 N above 22
      `scrypt$17$0$1$${salt}`,
      `scrypt$17$33$1$${salt}`,
      `scrypt$17$8$0$${salt}`,
      `scrypt$17$8$17$${salt}`,
      `scrypt$22$8$1$${salt}`, // 128·N·r = 4 GiB: over the memory bound
      `scrypt$017$8$1$${salt}`, // leading zero
      `scrypt$17$8$+1$${salt}`,
      `scrypt$17.0$8$1$${salt}`,
      `scrypt$17$8$1$${randomBytes(15).toString('base64url')}`, // salt under 16 bytes
      `scrypt$17$8$1$${randomBytes(65).toString('base64url')}`,
      `scrypt$17$8$1$${randomBytes(16).toString('base64')}`, // padded standard base64
      `scrypt$17$8$1$${salt.slice(0, -1)}`, // non-canonical length
      `scrypt$17$8$1$`,
      `scrypt$1e3$8$1$${salt}`,
    ];
    for (const text of cases)
      expectError(() => parsePassphraseParams(text), 'PASSPHRASE_PARAMS_INVALID');
  });

  it('refuses to format a cost that is not a power of two', () => {
    expectError(() => formatPassphraseParams({ ...fast(), N: 3000 }), 'PASSPHRASE_PARAMS_INVALID');
  });
});
