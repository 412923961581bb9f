/**
 * Property tests for lb1: ciphertexts and lbk1: wrapped keys: any value round-trips
 * under its key and context, and any change (one bit of the payload or of the
 * text, another context, another key) is refused, never decrypted to wrong data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decryptParsed, encryptToText, parseCiphertext } from '../../src/crypto/ciphertext.js';
import { encodeContext } from '../../src/crypto/context.js';
import { parseWrappedKey, unwrapParsed, wrapKey } from '../../src/crypto/wrapped-key.js';
import { LockboxError } from '../../src/errors.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const keyId = fc.uint8Array({ minLength: 8, maxLength: 8 });
const plaintext = fc.uint8Array({ maxLength: 1024 });
const contextParts = fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 5 });
const RUNS = { numRuns: 300 };
/** A character position; the last character is drawn often because its unused bits need checking. */
const position = fc.oneof(fc.nat(), fc.constant('last' as const));

interface Format {
  readonly name: string;
  readonly tag: string;
  readonly malformed: string;
  readonly value: fc.Arbitrary<Uint8Array>;
  seal(keyId: Uint8Array, key: Uint8Array, value: Uint8Array, context: Uint8Array): string;
  open(text: string, key: Uint8Array, context: Uint8Array): Buffer;
}

const formats: Format[] = [
  {
    name: 'lb1: ciphertext',
    tag: 'lb1:',
    malformed: 'CIPHERTEXT_MALFORMED',
    value: plaintext,
    seal: encryptToText,
    open: (text, k, context) => decryptParsed(parseCiphertext(text), k, context),
  },
  {
    name: 'lbk1: wrapped key',
    tag: 'lbk1:',
    malformed: 'WRAPPED_KEY_MALFORMED',
    value: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    seal: wrapKey,
    open: (text, k, context) => unwrapParsed(parseWrappedKey(text), k, context),
  },
];

/** The code a refused open throws; fails the property if the open succeeds. */
function refusedWith(run: () => Buffer): string {
  try {
    run();
  } catch (err) {
    if (err instanceof LockboxError) return err.code;
    throw err;
  }
  throw new Error('a changed envelope decrypted');
}

const sameParts = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((part, i) => part === b[i]);

describe.each(formats)('$name', (format) => {
  it('round-trips any value under any key id, key and context', () => {
    fc.assert(
      fc.property(keyId, key, format.value, contextParts, (id, k, value, parts) => {
        const text = format.seal(id, k, value, encodeContext(parts));
        expect(text.startsWith(format.tag)).toBe(true);
        const parsed = format.tag === 'lb1:' ? parseCiphertext(text) : parseWrappedKey(text);
        expect(parsed.keyId).toBe(Buffer.from(id).toString('hex'));
        expect(format.open(text, k, encodeContext(parts))).toEqual(Buffer.from(value));
      }),
      RUNS,
    );
  });

  it('refuses a payload with any single bit flipped (header, nonce, body or tag)', () => {
    fc.assert(
      fc.property(keyId, key, format.value, contextParts, fc.nat(), (id, k, value, parts, at) => {
        const context = encodeContext(parts);
        const text = format.seal(id, k, value, context);
        const payload = Buffer.from(text.slice(format.tag.length), 'base64url');
        const bit = at % (payload.length * 8);
        payload[bit >> 3] = (payload[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        const changed = format.tag + payload.toString('base64url');
        // A flipped key-id bit makes the caller look up another key; even with the
        // original key the envelope fails, because the key id is authenticated.
        expect(refusedWith(() => format.open(changed, k, context))).toBe('DECRYPT_FAILED');
      }),
      RUNS,
    );
  });

  it('refuses any change of a single bit of the text form', () => {
    fc.assert(
      fc.property(
        keyId,
        key,
        format.value,
        contextParts,
        position,
        fc.nat(15),
        (id, k, value, parts, at, bit) => {
          const context = encodeContext(parts);
          const text = format.seal(id, k, value, context);
          const index = at === 'last' ? text.length - 1 : at % text.length;
          const changed =
            text.slice(0, index) +
            String.fromCharCode(text.charCodeAt(index) ^ (1 << bit)) +
            text.slice(index + 1);
          expect(['DECRYPT_FAILED', 'CIPHERTEXT_UNKNOWN_FORMAT', format.malformed]).toContain(
            refusedWith(() => format.open(changed, k, context)),
          );
        },
      ),
      RUNS,
    );
  });

  it('refuses another context', () => {
    fc.assert(
      fc.property(
        keyId,
        key,
        format.value,
        contextParts,
        contextParts,
        (id, k, value, parts, other) => {
          fc.pre(!sameParts(parts, other));
          const text = format.seal(id, k, value, encodeContext(parts));
          expect(refusedWith(() => format.open(text, k, encodeContext(other)))).toBe(
            'DECRYPT_FAILED',
          );
        },
      ),
      RUNS,
    );
  });

  it('refuses another key', () => {
    fc.assert(
      fc.property(keyId, key, key, format.value, contextParts, (id, k, other, value, parts) => {
        fc.pre(!Buffer.from(k).equals(Buffer.from(other)));
        const context = encodeContext(parts);
        const text = format.seal(id, k, value, context);
        expect(refusedWith(() => format.open(text, other, context))).toBe('DECRYPT_FAILED');
      }),
      RUNS,
    );
  });
});
