/**
 * lb2: ciphertext vectors: secret rows bound to their version and creation time,
 * and the rollbacks that binding refuses.
 */
import { envelopeCaseBuilder } from './envelope-case.js';
import {
  CIPHERTEXT_TAG,
  DATA_KEY,
  DATA_KEY_ID,
  encodeContext,
  flipBit,
  nonceBytes,
  payloadOf,
  ROW_CIPHERTEXT_TAG,
  seal,
  withPayload,
} from './reference-format.js';

const CREATED = '2026-01-02T03:04:05.678Z';
/** As vault/secret-ciphertext.ts binds a row: label, scope, name, value type, version, created_at. */
const row = (version, createdAt = CREATED) => [
  'secret',
  'prod',
  'STRIPE_API_KEY',
  'utf8',
  String(version),
  createdAt,
];
const SECRET_V3 = row(3);
const { success, refusal } = envelopeCaseBuilder('row_ciphertext');

const sealed = (n, plaintext, context) =>
  seal(ROW_CIPHERTEXT_TAG, DATA_KEY_ID, DATA_KEY, nonceBytes(n), plaintext, encodeContext(context));
const ok = (name, description, n, plaintext, context) =>
  success(name, description, {
    key: DATA_KEY,
    keyId: DATA_KEY_ID,
    context,
    nonce: nonceBytes(n),
    plaintext,
  });

export function rowCiphertextCases() {
  const base = sealed(201, Buffer.from('sk_live_example'), SECRET_V3);
  const opened = (context) => ({ key: DATA_KEY, context });
  const lb1 = seal(
    CIPHERTEXT_TAG,
    DATA_KEY_ID,
    DATA_KEY,
    nonceBytes(203),
    Buffer.from('sk_live_example'),
    encodeContext(['secret', 'prod', 'STRIPE_API_KEY', 'utf8']),
  );
  return [
    ok('secret', 'a secret row at version 3', 201, Buffer.from('sk_live_example'), SECRET_V3),
    ok('empty-plaintext', 'an empty value at version 1', 202, Buffer.alloc(0), row(1)),
    refusal(
      'decrypt_failed',
      'rolled-back',
      'the version-3 ciphertext put back under version 4 (a rollback): refused',
      base,
      opened(row(4)),
    ),
    refusal(
      'decrypt_failed',
      'recreated-row',
      'the same version of an earlier life of the row (deleted and created again): refused',
      base,
      opened(row(3, '2026-02-01T00:00:00.000Z')),
    ),
    refusal(
      'decrypt_failed',
      'opened-as-lb1-context',
      'opened with the lb1: secret context (no version): refused',
      base,
      opened(['secret', 'prod', 'STRIPE_API_KEY', 'utf8']),
    ),
    refusal(
      'decrypt_failed',
      'relabelled-lb1',
      'an lb1: payload under the lb2: tag: the tag is part of the associated data',
      ROW_CIPHERTEXT_TAG + lb1.slice(CIPHERTEXT_TAG.length),
      opened(['secret', 'prod', 'STRIPE_API_KEY', 'utf8']),
    ),
    refusal(
      'decrypt_failed',
      'flipped-body',
      'one bit of the encrypted value changed',
      flipBit(base, ROW_CIPHERTEXT_TAG, 20),
      opened(SECRET_V3),
    ),
    refusal(
      'malformed',
      'truncated',
      'a 35-byte payload: shorter than key id, nonce and tag',
      withPayload(ROW_CIPHERTEXT_TAG, payloadOf(base, ROW_CIPHERTEXT_TAG).subarray(0, 35)),
      opened(SECRET_V3),
    ),
    refusal(
      'unknown_format',
      'upper-case',
      'tags are case-sensitive',
      `LB2:${base.slice(4)}`,
      opened(SECRET_V3),
    ),
  ];
}
