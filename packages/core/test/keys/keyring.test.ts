import { KeyObject, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { expectError } from '@lockbox/test-helpers';
import { describe, expect, it } from 'vitest';
import { dataKeyContext } from '../../src/crypto/context.js';
import { fingerprint } from '../../src/crypto/fingerprint.js';
import { Keyring, masterKeyFrom, wrappingFingerprint } from '../../src/keys/keyring.js';

const key = () => randomBytes(32);
const context = dataKeyContext('prod', 'dek-1');

describe('Keyring', () => {
  it('wraps new data keys under the primary key', () => {
    const primary = key();
    const keyring = Keyring.fromBytes(primary, [key()]);
    const dataKey = randomBytes(32);
    const wrapped = keyring.wrap(dataKey, context);
    expect(wrapped.startsWith('lbk1:')).toBe(true);
    expect(wrappingFingerprint(wrapped)).toBe(fingerprint(primary));
    expect(keyring.unwrap(wrapped, context)).toEqual(dataKey);
  });

  it('unwraps with a previous key after the primary changed', () => {
    const [oldKey, newKey] = [key(), key()];
    const dataKey = randomBytes(32);
    const wrapped = Keyring.fromBytes(oldKey).wrap(dataKey, context);
    const rotated = Keyring.fromBytes(newKey, [oldKey]);
    expect(rotated.unwrap(wrapped, context)).toEqual(dataKey);
    expect(wrappingFingerprint(rotated.wrap(dataKey, context))).toBe(fingerprint(newKey));
  });

  it('refuses the same key twice', () => {
    const primary = key();
    const err = expectError(() => Keyring.fromBytes(primary, [primary]), 'KEY_DUPLICATE');
    expect(err.details.fingerprint).toBe(fingerprint(primary));
    const other = key();
    expectError(() => Keyring.fromBytes(primary, [other, Buffer.from(other)]), 'KEY_DUPLICATE');
  });

  it('reports a wrapped key from an unknown master key as KEY_NOT_IN_KEYRING with its fingerprint', () => {
    const stranger = key();
    const wrapped = Keyring.fromBytes(stranger).wrap(randomBytes(32), context);
    const err = expectError(
      () => Keyring.fromBytes(key()).unwrap(wrapped, context),
      'KEY_NOT_IN_KEYRING',
      [wrapped],
    );
    expect(err.details.fingerprint).toBe(fingerprint(stranger));
    expect(err.message).toContain(fingerprint(stranger));
  });

  it('refuses a wrapped key moved to another context with DECRYPT_FAILED', () => {
    const keyring = Keyring.fromBytes(key());
    const dataKey = randomBytes(32);
    const wrapped = keyring.wrap(dataKey, context);
    for (const moved of [dataKeyContext('staging', 'dek-1'), dataKeyContext('prod', 'dek-2')]) {
      expectError(() => keyring.unwrap(wrapped, moved), 'DECRYPT_FAILED', [
        wrapped,
        dataKey.toString('hex'),
        dataKey.toString('base64'),
      ]);
    }
  });

  it('refuses a master key of the wrong length', () => {
    expectError(() => Keyring.fromBytes(randomBytes(31)), 'KEY_INVALID_LENGTH');
  });

  it('hands the key bytes to nobody: no field holds them, inspect shows none', () => {
    const bytes = key();
    const master = masterKeyFrom(bytes);
    for (const value of Object.values(master)) {
      expect(value).not.toBeInstanceOf(KeyObject);
      expect(Buffer.isBuffer(value) && value.equals(bytes)).toBe(false);
    }
    const shown = inspect(master, { depth: 5, showHidden: true });
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      expect(shown).not.toContain(bytes.toString(encoding));
    }
    expect(JSON.stringify(master)).not.toContain(bytes.toString('base64'));
  });
});
