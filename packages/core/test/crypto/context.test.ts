/** The associated-data context encoding: its exact bytes and its injectivity. */

import { refusal } from '@lockbox/test-helpers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dataKeyContext,
  encodeContext,
  fieldContext,
  secretContext,
} from '../../src/crypto/context.js';

describe('encodeContext', () => {
  it('writes each part as a 4-byte big-endian length and its UTF-8 bytes', () => {
    expect(encodeContext(['secret', 'é']).toString('hex')).toBe(
      '00000006736563726574' + '00000002c3a9',
    );
    expect(encodeContext([]).length).toBe(0);
    expect(encodeContext(['']).toString('hex')).toBe('00000000');
  });

  it('labels secrets, fields and data keys', () => {
    expect(secretContext('prod', 'KEY')).toEqual(encodeContext(['secret', 'prod', 'KEY', 'utf8']));
    expect(secretContext('prod', 'KEY', 'bytes')).toEqual(
      encodeContext(['secret', 'prod', 'KEY', 'bytes']),
    );
    expect(fieldContext('users', 'token', ['id'], ['42'])).toEqual(
      encodeContext(['field', 'users', 'token', '42']),
    );
    expect(fieldContext('user_keys', 'api_key', ['user_id', 'provider'], ['42', 'github'])).toEqual(
      encodeContext(['field-v2', 'user_keys', 'api_key', 'user_id', '42', 'provider', 'github']),
    );
    expect(dataKeyContext('prod', '00ff')).toEqual(encodeContext(['data-key', 'prod', '00ff']));
  });

  it('never encodes two different lists of parts alike', () => {
    const parts = fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }), { maxLength: 4 });
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        const same = a.length === b.length && a.every((part, i) => part === b[i]);
        expect(encodeContext(a).equals(encodeContext(b))).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes the same bytes as a plain length-prefixed UTF-8 encoder for any text', () => {
    const reference = (parts: string[]) =>
      Buffer.concat(
        parts.flatMap((part) => {
          const bytes = Buffer.from(part, 'utf8');
          const length = Buffer.alloc(4);
          length.writeUInt32BE(bytes.length);
          return [length, bytes];
        }),
      );
    const part = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }));
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), (parts) => {
        expect(encodeContext(parts).equals(reference(parts))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps parts apart however they are split', () => {
    expect(encodeContext(['ab', 'c']).equals(encodeContext(['a', 'bc']))).toBe(false);
    expect(encodeContext(['a', '']).equals(encodeContext(['a']))).toBe(false);
  });

  it('refuses a part holding a lone surrogate, which UTF-8 would make ambiguous', () => {
    expect(refusal(() => encodeContext(['secret', '\uD800'])).code).toBe('INVALID_ARGUMENT');
    expect(encodeContext(['🔑']).toString('hex')).toBe('00000004f09f9491');
  });
});
