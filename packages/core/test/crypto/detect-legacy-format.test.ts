/** Format detection for adoption: the documented heuristics, rule by rule. */

import { pythonLegacy } from '@lockbox/test-helpers';
import { describe, expect, it } from 'vitest';
import { encryptToText } from '../../src/crypto/ciphertext.js';
import { encodeContext } from '../../src/crypto/context.js';
import { detectLegacyFormat } from '../../src/crypto/legacy/detect-legacy-format.js';
import { encryptFernet, parseFernetKey } from '../../src/crypto/legacy/fernet.js';
import { encryptV2 } from '../../src/crypto/legacy/v2.js';
import { wrapKey } from '../../src/crypto/wrapped-key.js';

const key = Buffer.alloc(32, 3);
const keyId = Buffer.alloc(8, 1);
const fernetKey = parseFernetKey(key.toString('base64url'));

describe('detectLegacyFormat', () => {
  it('recognises Lockbox ciphertexts and wrapped keys, and future Lockbox tags', () => {
    expect(
      detectLegacyFormat(encryptToText(keyId, key, Buffer.from('x'), encodeContext(['field']))),
    ).toBe('lockbox');
    expect(
      detectLegacyFormat(wrapKey(keyId, key, Buffer.alloc(32), encodeContext(['data-key']))),
    ).toBe('lockbox');
    expect(detectLegacyFormat('lb2:anything')).toBe('lockbox');
    expect(detectLegacyFormat('lb9:')).toBe('lockbox');
  });

  it('recognises v2: values', () => {
    expect(detectLegacyFormat(encryptV2(key, Buffer.from('x')))).toBe('v2');
  });

  it('recognises Fernet tokens padded or not, of every plaintext length', () => {
    for (let n = 0; n < 40; n++) {
      const token = encryptFernet(fernetKey, Buffer.alloc(n, 1));
      expect(detectLegacyFormat(token)).toBe('fernet');
      expect(detectLegacyFormat(token.replace(/=+$/, ''))).toBe('fernet');
    }
    for (const c of pythonLegacy.fernet) expect(detectLegacyFormat(c.token)).toBe('fernet');
  });

  it('treats near-misses of Fernet as plaintext', () => {
    const token = encryptFernet(fernetKey, Buffer.from('value'));
    const raw = Buffer.from(token, 'base64url');
    const otherVersion = Buffer.from(raw);
    otherVersion[0] = 0x81;
    expect(detectLegacyFormat(otherVersion.toString('base64url'))).toBe('plaintext');
    expect(detectLegacyFormat(raw.subarray(0, raw.length - 1).toString('base64url'))).toBe(
      'plaintext',
    );
    expect(detectLegacyFormat(raw.subarray(0, 72).toString('base64url'))).toBe('plaintext');
    expect(detectLegacyFormat(`${token} `)).toBe('plaintext');
  });

  it.each([
    ['empty', ''],
    ['a password', 'hunter2'],
    ['an API key', 'sk_live_51HqLyjWDarjtT1zdp7dcXYZ'],
    ['a URL', 'postgres://user:pw@host:5432/db'],
    ['JSON', '{"token":"gAAAA"}'],
    ['a prefix-like word', 'lbx1:not ours'],
    [
      'a long base64url string not starting with 0x80',
      Buffer.alloc(89, 0x7f).toString('base64url'),
    ],
  ])('classifies %s as plaintext', (_name, value) => {
    expect(detectLegacyFormat(value)).toBe('plaintext');
  });
});
