/** Builds lb1:, lb2: and lbk1: vector cases in the shape format-vectors.test.ts reads. */
import {
  CIPHERTEXT_TAG,
  encodeContext,
  fingerprint,
  hex,
  payloadOf,
  ROW_CIPHERTEXT_TAG,
  seal,
  WRAPPED_KEY_TAG,
} from './reference-format.js';

const FORMATS = {
  ciphertext: { tag: CIPHERTEXT_TAG, prefix: 'lb1', malformed: 'CIPHERTEXT_MALFORMED' },
  row_ciphertext: { tag: ROW_CIPHERTEXT_TAG, prefix: 'lb2', malformed: 'CIPHERTEXT_MALFORMED' },
  wrapped_key: { tag: WRAPPED_KEY_TAG, prefix: 'lbk1', malformed: 'WRAPPED_KEY_MALFORMED' },
};

/**
 * `success` and `refusal` case builders for one format: "ciphertext" (lb1:),
 * "row_ciphertext" (lb2:, written as kind "ciphertext") or "wrapped_key".
 */
export function envelopeCaseBuilder(format) {
  const { tag, prefix, malformed } = FORMATS[format];
  const kind = format === 'row_ciphertext' ? 'ciphertext' : format;
  const codes = {
    decrypt_failed: 'DECRYPT_FAILED',
    malformed,
    unknown_format: 'CIPHERTEXT_UNKNOWN_FORMAT',
  };
  const body = (description, key, keyId, context, nonce, plaintext, text, expect) => ({
    kind,
    description,
    key: hex(key),
    ...(kind === 'wrapped_key' ? { key_fingerprint: hex(fingerprint(key)) } : {}),
    key_id: keyId === null ? null : hex(keyId),
    context,
    context_hex: hex(encodeContext(context)),
    nonce: nonce === null ? null : hex(nonce),
    plaintext: plaintext === null ? null : hex(plaintext),
    text,
    expect,
    ...(expect === 'success' ? {} : { lockbox_error: codes[expect] }),
  });

  /** A value the reader must open to `plaintext`; sealed here with the fixed nonce. */
  function success(name, description, { key, keyId, context, nonce, plaintext }) {
    const text = seal(tag, keyId, key, nonce, plaintext, encodeContext(context));
    return {
      file: `${prefix}-success${name ? `-${name}` : ''}`,
      body: body(description, key, keyId, context, nonce, plaintext, text, 'success'),
    };
  }

  /** A text the reader must refuse with `expect` when opened with `key` and `context`. */
  function refusal(expect, name, description, text, { key, context }) {
    // Only a text that parses has a key id and nonce worth showing.
    const parses = expect === 'decrypt_failed';
    const payload = parses ? payloadOf(text, tag) : null;
    return {
      file: `${prefix}-${expect.replace('_', '-')}-${name}`,
      body: body(
        description,
        key,
        payload?.subarray(0, 8) ?? null,
        context,
        payload?.subarray(8, 20) ?? null,
        null,
        text,
        expect,
      ),
    };
  }

  return { success, refusal };
}
