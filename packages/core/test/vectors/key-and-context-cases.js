/** Vectors for fingerprints, context encodings and master-key text forms. */
import {
  DATA_KEY,
  DATA_KEY_ID,
  encodeContext,
  fingerprint,
  hex,
  MASTER_A,
  MASTER_B,
  TEXT_KEY,
} from './reference-format.js';

export function fingerprintCases() {
  const one = (name, description, key) => ({
    file: `fingerprint-${name}`,
    body: {
      kind: 'fingerprint',
      description,
      key: hex(key),
      fingerprint: hex(fingerprint(key)),
      expect: 'success',
    },
  });
  return [
    one('zero-key', 'the all-zero key', Buffer.alloc(32)),
    one('master-a', 'master key A (bytes 00..1f): the key id in the lbk1 vectors', MASTER_A),
    one('master-b', 'master key B (bytes 20..3f)', MASTER_B),
    one('data-key', 'the data key of the lb1 vectors (bytes 40..5f)', DATA_KEY),
  ];
}

export function contextCases() {
  const one = (name, description, parts) => ({
    file: `context-${name}`,
    body: {
      kind: 'context',
      description,
      context: parts,
      context_hex: hex(encodeContext(parts)),
      expect: 'success',
    },
  });
  return [
    one('secret', 'label "secret", scope, name, value type', [
      'secret',
      'prod',
      'STRIPE_API_KEY',
      'utf8',
    ]),
    one('field', 'label "field", table, column, row id', [
      'field',
      'connectors',
      'oauth_token',
      '42',
    ]),
    one(
      'field-v2',
      'label "field-v2" (a row key of several columns), table, column, then each key column and its value',
      ['field-v2', 'user_keys', 'api_key', 'user_id', '42', 'provider', 'github'],
    ),
    one('data-key', 'label "data-key", scope, data-key id (16 hex characters)', [
      'data-key',
      'prod',
      hex(DATA_KEY_ID),
    ]),
    one('empty-part', 'an empty part still has its 4-byte length', ['secret', '', 'NAME']),
    one('split-ab-c', 'parts "ab", "c": unlike split-a-bc', ['ab', 'c']),
    one('split-a-bc', 'parts "a", "bc": unlike split-ab-c', ['a', 'bc']),
    one('utf8', 'lengths count UTF-8 bytes, not characters', ['secret', 'テナント', '🔑']),
    one('no-parts', 'no parts encode to no bytes', []),
  ];
}

export function masterKeyCases() {
  const one = (name, description, text, lockboxError) => ({
    file: `master-key-${name}`,
    body: {
      kind: 'master_key',
      description,
      text,
      key: lockboxError ? null : hex(TEXT_KEY),
      expect: lockboxError ? 'malformed' : 'success',
      ...(lockboxError ? { lockbox_error: lockboxError } : {}),
    },
  });
  const base64 = TEXT_KEY.toString('base64');
  const base64url = TEXT_KEY.toString('base64url');
  const longer = Buffer.concat([TEXT_KEY, Buffer.from([0])]);
  return [
    one('hex', '64 hex characters', hex(TEXT_KEY)),
    one('hex-upper-case', 'hex is case-insensitive', hex(TEXT_KEY).toUpperCase()),
    one('base64', 'standard base64 with padding (the form Lockbox writes)', base64),
    one('base64-unpadded', 'standard base64 without padding', base64.replace(/=+$/, '')),
    one('base64url', 'base64url without padding', base64url),
    one('base64url-padded', 'base64url with padding', `${base64url}=`),
    one(
      'trailing-newline',
      'surrounding whitespace (a key file’s final newline) is ignored',
      `${base64}\n`,
    ),
    one('hex-31-bytes', '31 bytes of hex', hex(TEXT_KEY.subarray(0, 31)), 'KEY_INVALID_LENGTH'),
    one('hex-33-bytes', '33 bytes of hex', hex(longer), 'KEY_INVALID_LENGTH'),
    one(
      'base64-31-bytes',
      '31 bytes of base64',
      TEXT_KEY.subarray(0, 31).toString('base64'),
      'KEY_INVALID_LENGTH',
    ),
    one('base64-33-bytes', '33 bytes of base64', longer.toString('base64'), 'KEY_INVALID_LENGTH'),
    one('garbage', 'not hex, base64 or base64url', 'not a key!', 'KEY_INVALID_ENCODING'),
    one('empty', 'the empty string', '', 'KEY_INVALID_ENCODING'),
  ];
}
