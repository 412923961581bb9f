/** The `v2:` reader against values written by Python's AESGCM and against its own writer. */
import { createSecretKey } from 'node:crypto';
import { pythonLegacy } from '@lockbox/test-helpers';
import { describe, expect, it } from 'vitest';
import { decryptV2, encryptV2 } from '../../src/crypto/legacy/v2.js';
import { isLockboxError, LockboxError } from '../../src/errors.js';

const key = Buffer.alloc(32, 0x42);
const nonce = Buffer.from('000102030405060708090a0b', 'hex');

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof LockboxError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('v2: values written by Python cryptography', () => {
  it.each(pythonLegacy.v2.map((c, i) => ({ ...c, i })))('decrypts case $i (padded base64)', (c) => {
    expect(decryptV2(Buffer.from(c.key, 'hex'), c.text).toString('hex')).toBe(c.plaintext);
    expect(decryptV2(Buffer.from(c.key, 'hex'), c.text.replace(/=+$/, '')).toString('hex')).toBe(
      c.plaintext,
    );
  });
});

describe('v2: format', () => {
  it('lays out nonce ‖ ciphertext ‖ tag with no associated data, so a fixed nonce reproduces the text', () => {
    const text = encryptV2(key, Buffer.from('hello'), { nonce });
    expect(text.startsWith('v2:')).toBe(true);
    const payload = Buffer.from(text.slice(3), 'base64url');
    expect(payload.subarray(0, 12)).toEqual(nonce);
    expect(payload.length).toBe(12 + 5 + 16);
    expect(encryptV2(key, Buffer.from('hello'), { nonce })).toBe(text);
  });

  it('round-trips empty and long values under a raw key or a KeyObject', () => {
    for (const plaintext of [Buffer.alloc(0), Buffer.alloc(5000, 1)]) {
      const text = encryptV2(key, plaintext);
      expect(decryptV2(createSecretKey(key), text)).toEqual(plaintext);
    }
  });

  it('refuses a wrong key or a changed byte as LEGACY_DECRYPT_FAILED', () => {
    const text = encryptV2(key, Buffer.from('secret'), { nonce });
    expect(codeOf(() => decryptV2(Buffer.alloc(32, 1), text))).toBe('LEGACY_DECRYPT_FAILED');
    const payload = Buffer.from(text.slice(3), 'base64url');
    for (let i = 0; i < payload.length; i++) {
      const changed = Buffer.from(payload);
      changed[i] = (changed[i] ?? 0) ^ 0x01;
      expect(codeOf(() => decryptV2(key, `v2:${changed.toString('base64url')}`))).toBe(
        'LEGACY_DECRYPT_FAILED',
      );
    }
  });

  it.each([
    ['no prefix', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['another prefix', 'v3:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an empty payload', 'v2:'],
    ['a payload shorter than nonce and tag', `v2:${Buffer.alloc(27).toString('base64url')}`],
    ['characters outside the alphabet', 'v2:AAAA*AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['misplaced padding', `v2:${Buffer.alloc(40).toString('base64url')}=`],
  ])('refuses %s as LEGACY_MALFORMED', (_name, text) => {
    expect(codeOf(() => decryptV2(key, text))).toBe('LEGACY_MALFORMED');
  });

  it('refuses a key that is not 32 bytes', () => {
    const err = (() => {
      try {
        decryptV2(Buffer.alloc(16), 'v2:');
      } catch (e) {
        return e;
      }
    })();
    expect(isLockboxError(err, 'KEY_INVALID_LENGTH')).toBe(true);
  });
});
