/** lbk1: wrapped-key vectors: data keys that unwrap, and every way a text is refused. */
import { envelopeCaseBuilder } from './envelope-case.js';
import {
  CIPHERTEXT_TAG,
  DATA_KEY,
  DATA_KEY_ID,
  encodeContext,
  fingerprint,
  flipBit,
  hex,
  MASTER_A,
  MASTER_B,
  nonceBytes,
  seal,
  WRAPPED_KEY_TAG,
  withDirtyTail,
  withPayload,
} from './reference-format.js';

const CONTEXT = ['data-key', 'prod', hex(DATA_KEY_ID)];
const AS_SEALED = { key: MASTER_A, context: CONTEXT };
const { success, refusal } = envelopeCaseBuilder('wrapped_key');

const wrapped = (masterKey, n, context = CONTEXT) => ({
  key: masterKey,
  keyId: fingerprint(masterKey),
  context,
  nonce: nonceBytes(n),
  plaintext: DATA_KEY,
});

/** A well-formed header with a key part of `keyBytes` bytes (any GCM tag). */
const sized = (keyBytes) =>
  withPayload(
    WRAPPED_KEY_TAG,
    Buffer.concat([fingerprint(MASTER_A), nonceBytes(199), Buffer.alloc(keyBytes + 16, 0x5a)]),
  );

export function wrappedKeyCases() {
  const base = seal(
    WRAPPED_KEY_TAG,
    fingerprint(MASTER_A),
    MASTER_A,
    nonceBytes(101),
    DATA_KEY,
    encodeContext(CONTEXT),
  );
  const asCiphertext = seal(
    CIPHERTEXT_TAG,
    fingerprint(MASTER_A),
    MASTER_A,
    nonceBytes(102),
    DATA_KEY,
    encodeContext(CONTEXT),
  );
  const failed = (name, description, text, opened = AS_SEALED) =>
    refusal('decrypt_failed', name, description, text, opened);
  const bad = (name, description, text) => refusal('malformed', name, description, text, AS_SEALED);
  const unknown = (name, description, text) =>
    refusal('unknown_format', name, description, text, AS_SEALED);
  return [
    success(
      '',
      "a data key wrapped under master key A; the key id is A's fingerprint",
      wrapped(MASTER_A, 101),
    ),
    success('master-b', 'the same data key wrapped under master key B', wrapped(MASTER_B, 103)),
    success(
      'unicode-scope',
      'a UTF-8 scope name',
      wrapped(MASTER_A, 104, ['data-key', 'user:ユーザー42', hex(DATA_KEY_ID)]),
    ),
    failed('wrong-master-key', 'opened with master key B although the key id names A', base, {
      key: MASTER_B,
      context: CONTEXT,
    }),
    failed(
      'other-scope',
      'opened for another scope: wrapped keys cannot move between scopes',
      base,
      {
        key: MASTER_A,
        context: ['data-key', 'staging', hex(DATA_KEY_ID)],
      },
    ),
    failed('other-data-key-id', 'opened for another data-key id in the same scope', base, {
      key: MASTER_A,
      context: ['data-key', 'prod', '0000000000000000'],
    }),
    failed('flipped-tag', 'one bit of the GCM tag changed', flipBit(base, WRAPPED_KEY_TAG, -1)),
    failed(
      'flipped-wrapped-key',
      'one bit of the wrapped key changed',
      flipBit(base, WRAPPED_KEY_TAG, 30),
    ),
    bad('31-byte-key', 'a key part of 31 bytes', sized(31)),
    bad('33-byte-key', 'a key part of 33 bytes (over-long)', sized(33)),
    bad('empty-key', 'no key part at all', sized(0)),
    bad('bare-tag', 'the tag with no payload', WRAPPED_KEY_TAG),
    bad('bad-character', 'a character outside the base64url alphabet', `${base.slice(0, -1)}.`),
    bad(
      'non-canonical-tail',
      'unused low bits of the last character set: a second spelling',
      withDirtyTail(base),
    ),
    unknown('ciphertext-tag', 'an lb1: ciphertext is not a wrapped key', asCiphertext),
    unknown('future-version', 'a version tag this version does not know', `lbk2:${base.slice(5)}`),
    unknown('empty', 'the empty string', ''),
  ];
}
