/**
 * Master keys as operators write them: the accepted encodings, the refused
 * lengths and encodings, and error messages that never contain the input.
 */

import { refusal } from '@lockbox/test-helpers';
import { describe, expect, it } from 'vitest';
import { formatMasterKey, generateMasterKey, parseMasterKey } from '../../src/crypto/master-key.js';

// A key whose base64 uses both '+' and '/' and needs padding, so the encodings differ.
const key = Buffer.from(`fbff${'00'.repeat(29)}fe`, 'hex');
const base64 = key.toString('base64');
const base64url = key.toString('base64url');
if (!base64.startsWith('+/')) throw new Error('the test key must encode with both + and /');

describe('parseMasterKey', () => {
  it.each([
    ['hex', key.toString('hex')],
    ['upper-case hex', key.toString('hex').toUpperCase()],
    ['padded base64', base64],
    ['unpadded base64', base64.replace(/=+$/, '')],
    ['unpadded base64url', base64url],
    ['padded base64url', `${base64url}=`],
    ['hex with a trailing newline', `${key.toString('hex')}\n`],
    ['base64 with a trailing newline', `${base64}\n`],
    ['base64url with a trailing CRLF', `${base64url}\r\n`],
  ])('accepts %s', (_name, text) => {
    expect(parseMasterKey(text)).toEqual(key);
  });

  it('round-trips the canonical form it writes', () => {
    const generated = generateMasterKey();
    expect(parseMasterKey(formatMasterKey(generated))).toEqual(generated);
  });

  it.each([
    ['31 bytes of hex', 'ab'.repeat(31)],
    ['33 bytes of hex', 'ab'.repeat(33)],
    ['31 bytes of base64', Buffer.alloc(31, 0xfb).toString('base64')],
    ['33 bytes of base64', Buffer.alloc(33, 0xfb).toString('base64')],
    ['31 bytes of base64url', Buffer.alloc(31, 0xfb).toString('base64url')],
    ['33 bytes of base64url', Buffer.alloc(33, 0xfb).toString('base64url')],
  ])('refuses %s with KEY_INVALID_LENGTH', (_name, text) => {
    expect(refusal(() => parseMasterKey(text)).code).toBe('KEY_INVALID_LENGTH');
  });

  it.each([
    ['empty', ''],
    ['only whitespace', ' \n'],
    ['punctuation', 'CANARY!master$key%value'],
    ['mixed base64 alphabets', `-${base64.slice(1)}`],
    ['an inner space', `${base64.slice(0, 10)} ${base64.slice(10)}`],
  ])('refuses %s with KEY_INVALID_ENCODING', (_name, text) => {
    expect(refusal(() => parseMasterKey(text)).code).toBe('KEY_INVALID_ENCODING');
  });

  it.each([
    ['garbage', 'CANARY_SECRET!do-not-log'],
    ['a short base64url key', 'CANARY-SECRET-do-not-log'],
    ['a long hex key', `cafe${'0123456789abcdef'.repeat(4)}`],
    [
      'a 33-byte base64 key',
      Buffer.concat([Buffer.from('CANARY-in-bytes!'), Buffer.alloc(17)]).toString('base64'),
    ],
  ])('never puts %s into the error message', (_name, text) => {
    const err = refusal(() => parseMasterKey(text, 'CANARY-what'));
    expect(err.message).not.toContain(text);
    expect(err.message).not.toContain(text.slice(0, 12));
    expect(JSON.stringify(err.toJSON())).not.toContain(text.slice(0, 12));
  });
});
