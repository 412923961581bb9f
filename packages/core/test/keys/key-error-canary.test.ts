/**
 * Canary sweep: whatever text is offered as a key, a failing provider's error
 * (message, details, JSON, stack and causes) never contains it.
 */
import { randomBytes } from 'node:crypto';
import { expectError, expectRejection } from '@lockbox/test-helpers';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { keyringFromConfig, masterKeyFromEnv, parseKeyList } from '../../src/keys/key-providers.js';

/** Key-like text that is not a valid 32-byte key: wrong length, or a stray character. */
const badKeyText = fc.oneof(
  fc
    .uint8Array({ minLength: 9, maxLength: 64 })
    .filter((b) => b.length !== 32)
    .map((b) => Buffer.from(b).toString('base64')),
  fc
    .uint8Array({ minLength: 9, maxLength: 64 })
    .filter((b) => b.length !== 32)
    .map((b) => Buffer.from(b).toString('hex')),
  fc
    .tuple(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.constantFrom('!', '*', '.', '~'),
      fc.nat(40),
    )
    .map(([b, junk, at]) => {
      const text = Buffer.from(b).toString('base64');
      const i = at % text.length;
      return `${text.slice(0, i)}${junk}${text.slice(i)}`;
    }),
);

const code = (text: string) => {
  try {
    masterKeyFromEnv('K', { K: text });
  } catch (err) {
    return (err as { code: 'KEY_INVALID_ENCODING' | 'KEY_INVALID_LENGTH' }).code;
  }
  throw new Error('expected the key text to be refused');
};

describe('key errors never contain the key text', () => {
  it('from the environment provider', () => {
    fc.assert(
      fc.property(badKeyText, (text) => {
        expectError(
          () => masterKeyFromEnv('LOCKBOX_MASTER_KEY', { LOCKBOX_MASTER_KEY: text }),
          code(text),
          [text, text.slice(0, 12), text.slice(-12)],
        );
      }),
    );
  });

  it('from a previous-keys list, whatever the position of the bad entry', () => {
    fc.assert(
      fc.property(badKeyText, fc.nat(3), (text, position) => {
        const good = Array.from({ length: 3 }, () => randomBytes(32).toString('base64'));
        good.splice(position, 0, text);
        const err = expectError(() => parseKeyList(good.join(',')), code(text), [text, ...good]);
        if (err.details.entry !== position + 1)
          throw new Error(`wrong entry ${String(err.details.entry)}`);
      }),
      { numRuns: 50 },
    );
  });

  it('from keyringFromConfig', async () => {
    await fc.assert(
      fc.asyncProperty(badKeyText, async (text) => {
        await expectRejection(keyringFromConfig({ primary: text }), code(text), [text]);
      }),
      { numRuns: 50 },
    );
  });
});
