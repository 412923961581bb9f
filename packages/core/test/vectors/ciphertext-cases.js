/** lb1: ciphertext vectors: values that open, and every way a text is refused. */
import { envelopeCaseBuilder } from './envelope-case.js';
import {
  CIPHERTEXT_TAG,
  counting,
  DATA_KEY,
  DATA_KEY_ID,
  encodeContext,
  flipBit,
  MASTER_B,
  nonceBytes,
  payloadOf,
  seal,
  WRAPPED_KEY_TAG,
  withDirtyTail,
  withPayload,
} from './reference-format.js';

/** As vault/secrets.ts binds a secret: label, scope, name, value type ('utf8' or 'bytes'). */
const SECRET = ['secret', 'prod', 'STRIPE_API_KEY', 'utf8'];
const FIELD = ['field', 'connectors', 'oauth_token', '42'];
const AS_SEALED = { key: DATA_KEY, context: SECRET };
const { success, refusal } = envelopeCaseBuilder('ciphertext');

const sealed = (n, plaintext, context = SECRET) =>
  seal(CIPHERTEXT_TAG, DATA_KEY_ID, DATA_KEY, nonceBytes(n), plaintext, encodeContext(context));
const ok = (name, description, n, plaintext, context = SECRET) =>
  success(name, description, {
    key: DATA_KEY,
    keyId: DATA_KEY_ID,
    context,
    nonce: nonceBytes(n),
    plaintext,
  });

function successes() {
  return [
    ok('secret', 'a secret bound to its scope and name', 1, Buffer.from('sk_live_example')),
    ok(
      'field',
      'a field value bound to table, column and row id',
      2,
      Buffer.from('ya29.a0'),
      FIELD,
    ),
    ok('empty-plaintext', 'an empty value: the shortest ciphertext (36 bytes)', 3, Buffer.alloc(0)),
    ok('one-byte', 'one byte: the last base64url group has 2 characters', 4, Buffer.from('x')),
    ok('two-bytes', 'two bytes: the last base64url group has 3 characters', 5, Buffer.from('xy')),
    ok('unicode', 'UTF-8 in the value and in the context', 6, Buffer.from('mot de passe — 鍵'), [
      'secret',
      'テナント:7',
      'clé 🔑',
      'utf8',
    ]),
    ok('binary-long', 'a 300-byte binary value', 7, counting(0x00, 300), FIELD),
    ok(
      'empty-context',
      'no context parts: the aad is only tag and key id',
      8,
      Buffer.from('x'),
      [],
    ),
  ];
}

function decryptFailures(base) {
  const refused = (name, description, text, opened = AS_SEALED) =>
    refusal('decrypt_failed', name, description, text, opened);
  const withContext = (context) => ({ key: DATA_KEY, context });
  const wrapped = seal(
    WRAPPED_KEY_TAG,
    DATA_KEY_ID,
    DATA_KEY,
    nonceBytes(9),
    counting(0x80, 32),
    encodeContext(SECRET),
  );
  return [
    refused(
      'wrong-name',
      'opened with another secret name',
      base,
      withContext(['secret', 'prod', 'OTHER', 'utf8']),
    ),
    refused(
      'wrong-scope',
      'opened with another scope',
      base,
      withContext(['secret', 'dev', 'STRIPE_API_KEY', 'utf8']),
    ),
    refused(
      'wrong-value-type',
      'opened as a bytes value, not utf8',
      base,
      withContext(['secret', 'prod', 'STRIPE_API_KEY', 'bytes']),
    ),
    refused(
      'wrong-label',
      'opened as a field, not a secret',
      base,
      withContext(['field', 'prod', 'STRIPE_API_KEY', 'utf8']),
    ),
    refused(
      'resplit-context',
      'scope "ab" and name "c" sealed, opened as "a" and "bc": the length prefixes keep them apart',
      sealed(10, Buffer.from('v'), ['secret', 'ab', 'c', 'utf8']),
      withContext(['secret', 'a', 'bc', 'utf8']),
    ),
    refused('wrong-key', 'opened with another key', base, { key: MASTER_B, context: SECRET }),
    refused(
      'flipped-key-id',
      'one bit of the (authenticated) key id changed',
      flipBit(base, CIPHERTEXT_TAG, 0),
    ),
    refused('flipped-nonce', 'one bit of the nonce changed', flipBit(base, CIPHERTEXT_TAG, 8)),
    refused(
      'flipped-body',
      'one bit of the encrypted value changed',
      flipBit(base, CIPHERTEXT_TAG, 20),
    ),
    refused('flipped-tag', 'one bit of the GCM tag changed', flipBit(base, CIPHERTEXT_TAG, -1)),
    refused(
      'relabelled-wrapped-key',
      'an lbk1: payload under the lb1: tag: the tag is part of the associated data',
      CIPHERTEXT_TAG + wrapped.slice(WRAPPED_KEY_TAG.length),
    ),
  ];
}

function malformed(base) {
  const refused = (name, description, text) =>
    refusal('malformed', name, description, text, AS_SEALED);
  const payload = payloadOf(base, CIPHERTEXT_TAG);
  return [
    refused('bare-tag', 'the tag with no payload', CIPHERTEXT_TAG),
    refused(
      'truncated',
      'a 35-byte payload: shorter than key id, nonce and tag',
      withPayload(CIPHERTEXT_TAG, payload.subarray(0, 35)),
    ),
    refused('bad-character', 'a character outside the base64url alphabet', `${base.slice(0, -1)}*`),
    refused(
      'standard-base64',
      "standard base64's '+' in place of '-'",
      `${base.slice(0, 10)}+${base.slice(11)}`,
    ),
    refused(
      'padding',
      "'=' padding is neither written nor read",
      `${withPayload(CIPHERTEXT_TAG, payload.subarray(0, 37))}==`,
    ),
    refused(
      'impossible-length',
      'a payload of 4n+1 characters, which no encoder writes',
      `${base}A`,
    ),
    refused(
      'non-canonical-tail',
      'unused low bits of the last character set: a second spelling',
      withDirtyTail(sealed(4, Buffer.from('x'))),
    ),
    refused('trailing-newline', 'surrounding whitespace is not trimmed', `${base}\n`),
  ];
}

function unknownFormats(base) {
  const refused = (name, description, text) =>
    refusal('unknown_format', name, description, text, AS_SEALED);
  const wrapped = seal(
    WRAPPED_KEY_TAG,
    DATA_KEY_ID,
    DATA_KEY,
    nonceBytes(11),
    DATA_KEY,
    encodeContext(SECRET),
  );
  return [
    refused('empty', 'the empty string', ''),
    refused('future-version', 'a version tag this version does not know', `lb9:${base.slice(4)}`),
    refused('upper-case', 'tags are case-sensitive', `LB1:${base.slice(4)}`),
    refused('wrapped-key-tag', 'a wrapped key is not a ciphertext', wrapped),
    refused(
      'legacy-v2',
      'a legacy v2: value belongs to the legacy reader',
      'v2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
    ),
    refused('no-tag', 'a bare base64url payload', base.slice(4)),
  ];
}

export function ciphertextCases() {
  const base = sealed(1, Buffer.from('sk_live_example'));
  return [...successes(), ...decryptFailures(base), ...malformed(base), ...unknownFormats(base)];
}
