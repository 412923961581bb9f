/**
 * Parsing lb1: ciphertexts and lbk1: wrapped keys: every malformed input gets its
 * format's stable code before any decryption, and no message echoes the input.
 */

import { refusal } from '@lockbox/test-helpers';
import { describe, expect, it } from 'vitest';
import { decryptParsed, encryptToText, parseCiphertext } from '../../src/crypto/ciphertext.js';
import { encodeContext } from '../../src/crypto/context.js';
import { parseWrappedKey, unwrapParsed, wrapKey } from '../../src/crypto/wrapped-key.js';

const key = Buffer.alloc(32, 0x11);
const keyId = Buffer.from('0102030405060708', 'hex');
const context = encodeContext(['secret', 'prod', 'STRIPE_KEY']);
const ciphertext = encryptToText(keyId, key, Buffer.from('CANARY-plaintext-value'), context);
const wrapped = wrapKey(
  keyId,
  key,
  Buffer.alloc(32, 0x22),
  encodeContext(['data-key', 'prod', 'ab']),
);
const b64 = (bytes: Buffer) => bytes.toString('base64url');

describe('parseCiphertext', () => {
  it('reads the key id and keeps the payload for decryption', () => {
    const parsed = parseCiphertext(ciphertext);
    expect(parsed.keyId).toBe('0102030405060708');
    expect(decryptParsed(parsed, key, context).toString()).toBe('CANARY-plaintext-value');
  });

  it('accepts the shortest possible ciphertext (empty plaintext: 36 payload bytes)', () => {
    const empty = encryptToText(keyId, key, Buffer.alloc(0), context);
    expect(Buffer.from(empty.slice(4), 'base64url').length).toBe(36);
    expect(decryptParsed(parseCiphertext(empty), key, context).length).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['an unknown version tag', `lb9:${ciphertext.slice(4)}`],
    ['an upper-case tag', `LB1:${ciphertext.slice(4)}`],
    ['a wrapped key', wrapped],
    ['a tag without its colon', `lb1${ciphertext.slice(4)}`],
    ['leading whitespace', ` ${ciphertext}`],
  ])('refuses %s as CIPHERTEXT_UNKNOWN_FORMAT', (_name, text) => {
    expect(refusal(() => parseCiphertext(text)).code).toBe('CIPHERTEXT_UNKNOWN_FORMAT');
  });

  it.each([
    ['the bare tag', 'lb1:'],
    ['a truncated payload (35 bytes)', `lb1:${b64(Buffer.alloc(35))}`],
    ['a body cut to a length no encoder writes', ciphertext.slice(0, 4 + 4 * 10 + 1)],
    ['standard base64 characters', `lb1:${ciphertext.slice(4, -2)}+/`],
    ['padding', `lb1:${b64(Buffer.alloc(40))}==`],
    ['a trailing newline', `${ciphertext}\n`],
    ['an inner space', `${ciphertext.slice(0, 20)} ${ciphertext.slice(20)}`],
    ['non-zero unused bits in the last character', `lb1:${b64(Buffer.alloc(37)).slice(0, -1)}B`],
  ])('refuses %s as CIPHERTEXT_MALFORMED', (_name, text) => {
    const err = refusal(() => parseCiphertext(text));
    expect(err.code).toBe('CIPHERTEXT_MALFORMED');
    if (text.length > 8) expect(err.message).not.toContain(text.slice(4));
  });
});

describe('parseWrappedKey', () => {
  it('reads the master key id of a well-formed wrapped key', () => {
    expect(parseWrappedKey(wrapped).keyId).toBe('0102030405060708');
  });

  it.each([
    ['empty', ''],
    ['an lb1: ciphertext', ciphertext],
    ['an unknown version', `lbk2:${wrapped.slice(5)}`],
  ])('refuses %s as CIPHERTEXT_UNKNOWN_FORMAT', (_name, text) => {
    expect(refusal(() => parseWrappedKey(text)).code).toBe('CIPHERTEXT_UNKNOWN_FORMAT');
  });

  it.each([
    [
      'a truncated payload',
      `lbk1:${b64(Buffer.from(wrapped.slice(5), 'base64url').subarray(0, 67))}`,
    ],
    [
      'an over-long payload',
      `lbk1:${b64(Buffer.concat([Buffer.from(wrapped.slice(5), 'base64url'), Buffer.alloc(1)]))}`,
    ],
    ['a 31-byte key', `lbk1:${b64(Buffer.alloc(8 + 12 + 31 + 16))}`],
    ['a 33-byte key', `lbk1:${b64(Buffer.alloc(8 + 12 + 33 + 16))}`],
    ['bad base64url', `lbk1:${wrapped.slice(5, -1)}*`],
    ['the bare tag', 'lbk1:'],
  ])('refuses %s as WRAPPED_KEY_MALFORMED', (_name, text) => {
    expect(refusal(() => parseWrappedKey(text)).code).toBe('WRAPPED_KEY_MALFORMED');
  });

  it('refuses a wrapped key unwrapped under another data-key context', () => {
    const parsed = parseWrappedKey(wrapped);
    expect(
      refusal(() => unwrapParsed(parsed, key, encodeContext(['data-key', 'prod', 'cd']))).code,
    ).toBe('DECRYPT_FAILED');
  });
});
