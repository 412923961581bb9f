/**
 * The Fernet reader against the Fernet spec's own vectors and against tokens
 * written by Python's `cryptography`, plus the TTL and key-parsing contracts.
 */

import { pythonLegacy, refusal } from '@lockbox/test-helpers';
import { describe, expect, it } from 'vitest';
import {
  decryptFernet,
  encryptFernet,
  type FernetKey,
  parseFernetKey,
} from '../../src/crypto/legacy/fernet.js';
import type { ErrorCode } from '../../src/errors.js';
import { readPublicVectors } from './public-vectors.js';

interface GenerateCase {
  readonly token: string;
  readonly now: string;
  readonly iv: readonly number[];
  readonly src: string;
  readonly secret: string;
}
interface VerifyCase {
  readonly token: string;
  readonly now: string;
  readonly ttl_sec: number;
  readonly src: string;
  readonly secret: string;
}
interface InvalidCase {
  readonly desc: string;
  readonly token: string;
  readonly now: string;
  readonly ttl_sec: number;
  readonly secret: string;
}

const generate = readPublicVectors<GenerateCase[]>('fernet/generate.json');
const verify = readPublicVectors<VerifyCase[]>('fernet/verify.json');
const invalid = readPublicVectors<InvalidCase[]>('fernet/invalid.json');

/** The stable code (and message hint) each spec case must produce; a new case must be added here. */
const EXPECTED_REFUSAL: Record<string, { code: ErrorCode; message?: RegExp }> = {
  'incorrect mac': { code: 'LEGACY_DECRYPT_FAILED' },
  'too short': { code: 'LEGACY_MALFORMED' },
  'invalid base64': { code: 'LEGACY_MALFORMED' },
  'payload size not multiple of block size': { code: 'LEGACY_MALFORMED' },
  'payload padding error': { code: 'LEGACY_DECRYPT_FAILED', message: /padding/ },
  'far-future TS (unacceptable clock skew)': { code: 'LEGACY_DECRYPT_FAILED', message: /future/ },
  'expired TTL': { code: 'LEGACY_DECRYPT_FAILED', message: /expired/ },
  'incorrect IV (causes padding error)': { code: 'LEGACY_DECRYPT_FAILED', message: /padding/ },
};

const specKey = (secret: string): FernetKey => parseFernetKey(secret);

describe('Fernet spec vectors', () => {
  it.each(generate)('generate: reproduces $token from its iv and time', (c) => {
    const token = encryptFernet(specKey(c.secret), Buffer.from(c.src), {
      iv: Uint8Array.from(c.iv),
      now: new Date(c.now),
    });
    expect(token).toBe(c.token);
  });

  it.each(verify)('verify: decrypts $token within its ttl', (c) => {
    const plaintext = decryptFernet(specKey(c.secret), c.token, {
      ttlSeconds: c.ttl_sec,
      now: new Date(c.now),
    });
    expect(plaintext.toString('utf8')).toBe(c.src);
  });

  it.each(invalid)('invalid: refuses "$desc" with a stable code', (c) => {
    const expected = EXPECTED_REFUSAL[c.desc];
    expect(expected, `no expected code recorded for spec case "${c.desc}"`).toBeDefined();
    const err = refusal(() =>
      decryptFernet(specKey(c.secret), c.token, { ttlSeconds: c.ttl_sec, now: new Date(c.now) }),
    );
    expect(err.code).toBe(expected?.code);
    if (expected?.message) expect(err.message).toMatch(expected.message);
    expect(err.message).not.toContain(c.token);
    expect(err.message).not.toContain(c.secret);
  });
});

describe('Fernet tokens written by Python cryptography', () => {
  it.each(pythonLegacy.fernet.map((c, i) => ({ ...c, i })))(
    'decrypts case $i ($plaintext.length hex chars) with and without a ttl',
    (c) => {
      const key = parseFernetKey(c.key);
      expect(decryptFernet(key, c.token).toString('hex')).toBe(c.plaintext);
      const now = new Date((c.timestamp + 10) * 1000);
      expect(decryptFernet(key, c.token, { ttlSeconds: 60, now }).toString('hex')).toBe(
        c.plaintext,
      );
    },
  );

  it('reproduces a Python token byte for byte from the same key, time and iv', () => {
    for (const c of pythonLegacy.fernet) {
      const raw = Buffer.from(c.token, 'base64url');
      const token = encryptFernet(parseFernetKey(c.key), Buffer.from(c.plaintext, 'hex'), {
        now: new Date(c.timestamp * 1000),
        iv: raw.subarray(9, 25),
      });
      expect(token).toBe(c.token);
    }
  });

  it('refuses a Python token under another Python key', () => {
    const [first, second] = pythonLegacy.fernet;
    if (!first || !second) throw new Error('fixture needs two Fernet cases');
    expect(refusal(() => decryptFernet(parseFernetKey(second.key), first.token)).code).toBe(
      'LEGACY_DECRYPT_FAILED',
    );
  });
});

describe('Fernet TTL', () => {
  const key = parseFernetKey(Buffer.alloc(32, 7).toString('base64url'));
  const stamped = new Date('2024-01-01T00:00:00Z');
  const token = encryptFernet(key, Buffer.from('value'), { now: stamped });
  const at = (seconds: number) => new Date(stamped.getTime() + seconds * 1000);

  it('accepts a token exactly ttl seconds old and refuses one a second older', () => {
    expect(decryptFernet(key, token, { ttlSeconds: 60, now: at(60) }).toString()).toBe('value');
    const err = refusal(() => decryptFernet(key, token, { ttlSeconds: 60, now: at(61) }));
    expect(err.code).toBe('LEGACY_DECRYPT_FAILED');
    expect(err.message).toMatch(/expired/);
  });

  it('allows 60 s of clock skew for a future timestamp and no more', () => {
    expect(decryptFernet(key, token, { ttlSeconds: 60, now: at(-60) }).toString()).toBe('value');
    const err = refusal(() => decryptFernet(key, token, { ttlSeconds: 60, now: at(-61) }));
    expect(err.code).toBe('LEGACY_DECRYPT_FAILED');
    expect(err.message).toMatch(/future/);
  });

  it('ignores the timestamp when no ttl is given, as Python does', () => {
    expect(decryptFernet(key, token, { now: at(10 ** 9) }).toString()).toBe('value');
  });

  it('refuses a negative ttl as an invalid argument', () => {
    expect(refusal(() => decryptFernet(key, token, { ttlSeconds: -1 })).code).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('Fernet token encoding', () => {
  const key = parseFernetKey(Buffer.alloc(32, 9).toString('base64url'));
  // A token with a '-' or '_' in it, so that its standard-alphabet spelling differs:
  // with a random IV, about one token in fifty has neither and would read as valid.
  const token = (() => {
    for (;;) {
      const made = encryptFernet(key, Buffer.from('sixteen bytes!!!'), { now: new Date(0) });
      if (/[-_]/.test(made)) return made;
    }
  })();

  it('writes padded URL-safe base64 and reads it unpadded too', () => {
    expect(token.endsWith('=')).toBe(true);
    expect(decryptFernet(key, token.replace(/=+$/, '')).toString()).toBe('sixteen bytes!!!');
  });

  it.each([
    ['empty', ''],
    [
      'standard-alphabet base64',
      Buffer.from(token, 'base64url').toString('base64').replace(/=+$/, ''),
    ],
    ['surrounding whitespace', ` ${token}\n`],
    ['excess padding', `${token}==`],
    [
      'a wrong version byte',
      Buffer.concat([Buffer.from([0x81]), Buffer.from(token, 'base64url').subarray(1)]).toString(
        'base64url',
      ),
    ],
    ['a truncated token', token.slice(0, 80)],
  ])('refuses %s as LEGACY_MALFORMED', (_name, text) => {
    expect(refusal(() => decryptFernet(key, text)).code).toBe('LEGACY_MALFORMED');
  });

  it('refuses a token whose MAC byte was changed as LEGACY_DECRYPT_FAILED', () => {
    const raw = Buffer.from(token, 'base64url');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(refusal(() => decryptFernet(key, raw.toString('base64url'))).code).toBe(
      'LEGACY_DECRYPT_FAILED',
    );
  });
});

describe('parseFernetKey', () => {
  const bytes = Buffer.alloc(32, 0xab);

  it('accepts padded and unpadded URL-safe base64 with surrounding whitespace', () => {
    const padded = `${bytes.toString('base64url')}=`;
    for (const text of [padded, bytes.toString('base64url'), `${padded}\n`]) {
      const key = parseFernetKey(text);
      expect(key.signingKey.export().toString('hex')).toBe('ab'.repeat(16));
      expect(key.encryptionKey.symmetricKeySize).toBe(16);
    }
  });

  it('takes the signing key from the first 16 bytes and the encryption key from the last 16', () => {
    const split = Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 2)]);
    const key = parseFernetKey(split.toString('base64url'));
    expect(key.signingKey.export().toString('hex')).toBe('01'.repeat(16));
    expect(key.encryptionKey.export().toString('hex')).toBe('02'.repeat(16));
  });

  it.each([
    ['31 bytes', Buffer.alloc(31, 1).toString('base64url')],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64url')],
  ])('refuses %s with KEY_INVALID_LENGTH', (_name, text) => {
    expect(refusal(() => parseFernetKey(text)).code).toBe('KEY_INVALID_LENGTH');
  });

  it.each([
    ['empty', ''],
    ['garbage', 'CANARY-fernet-key!not*base64'],
    ['standard alphabet', `${Buffer.alloc(32, 0xfb).toString('base64')}`],
  ])('refuses %s with KEY_INVALID_ENCODING and never echoes it', (_name, text) => {
    const err = refusal(() => parseFernetKey(text));
    expect(err.code).toBe('KEY_INVALID_ENCODING');
    if (text.length > 0) expect(err.message).not.toContain(text);
  });
});
