import { expectError } from '@lockbox/test-helpers';
import { describe, expect, it } from 'vitest';
import { isPkcs11Uri, parsePkcs11Uri } from '../../../src/keys/pkcs11/pkcs11-uri.js';

const MODULE = 'module-path=/usr/lib/softhsm/libsofthsm2.so';

describe('parsePkcs11Uri', () => {
  it('reads token, object, module path and a file PIN source', () => {
    const uri = parsePkcs11Uri(
      `pkcs11:token=lockbox;object=kek-2026;type=secret-key?${MODULE}&pin-source=file:/run/secrets/pin`,
    );
    expect(uri).toEqual({
      token: 'lockbox',
      object: 'kek-2026',
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      pinSource: { kind: 'file', path: '/run/secrets/pin' },
      display: 'pkcs11:token=lockbox;object=kek-2026',
    });
  });

  it('decodes percent-encoding and accepts file:/// and env: PIN sources', () => {
    const uri = parsePkcs11Uri(
      `pkcs11:token=my%20token;object=k%3B1;serial=42?${MODULE}&pin-source=file:///run/pin`,
    );
    expect([uri.token, uri.object, uri.serial]).toEqual(['my token', 'k;1', '42']);
    expect(uri.pinSource).toEqual({ kind: 'file', path: '/run/pin' });
    expect(
      parsePkcs11Uri(`pkcs11:token=t;object=o?${MODULE}&pin-source=env:HSM_PIN`).pinSource,
    ).toEqual({ kind: 'env', variable: 'HSM_PIN' });
  });

  it('tells a pkcs11: URI from a key text', () => {
    expect(isPkcs11Uri(' PKCS11:token=x')).toBe(true);
    expect(isPkcs11Uri('q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=')).toBe(false);
  });

  const hostile: Array<[string, string, string | undefined]> = [
    ['another scheme', `file:token=t;object=o?${MODULE}`, undefined],
    ['no token', `pkcs11:object=o?${MODULE}`, 'token'],
    ['no object', `pkcs11:token=t?${MODULE}`, 'object'],
    ['no module path', 'pkcs11:token=t;object=o', 'module-path'],
    ['a relative module path', 'pkcs11:token=t;object=o?module-path=libsofthsm2.so', 'module-path'],
    [
      'a module path with ..',
      'pkcs11:token=t;object=o?module-path=/usr/lib/../tmp/x.so',
      'module-path',
    ],
    ['a PIN in the URI', `pkcs11:token=t;object=o?${MODULE}&pin-value=123456`, 'pin-value'],
    ['an unknown attribute', `pkcs11:token=t;object=o;id=%01?${MODULE}`, 'id'],
    ['a repeated attribute', `pkcs11:token=t;token=u;object=o?${MODULE}`, 'token'],
    ['a path attribute in the query', `pkcs11:token=t?object=o&${MODULE}`, 'object'],
    ['a NUL by percent-encoding', `pkcs11:token=t%00x;object=o?${MODULE}`, 'token'],
    ['a raw newline', `pkcs11:token=t\n;object=o?${MODULE}`, 'token'],
    ['bad percent-encoding', `pkcs11:token=t%zz;object=o?${MODULE}`, 'token'],
    ['an empty value', `pkcs11:token=;object=o?${MODULE}`, 'token'],
    ['an attribute without value', `pkcs11:token;object=o?${MODULE}`, 'token'],
    ['a fragment', `pkcs11:token=t;object=o?${MODULE}#x`, undefined],
    ['a public-key type', `pkcs11:token=t;object=o;type=public?${MODULE}`, 'type'],
    ['a token label over 32 bytes', `pkcs11:token=${'t'.repeat(33)};object=o?${MODULE}`, 'token'],
    [
      'a relative PIN file',
      `pkcs11:token=t;object=o?${MODULE}&pin-source=file:pin.txt`,
      'pin-source',
    ],
    [
      'a PIN source of another scheme',
      `pkcs11:token=t;object=o?${MODULE}&pin-source=https://x/pin`,
      'pin-source',
    ],
    ['over 2,048 characters', `pkcs11:token=t;object=${'o'.repeat(2100)}?${MODULE}`, undefined],
  ];
  for (const [what, text, attribute] of hostile) {
    it(`refuses ${what} with KEY_URI_INVALID, never echoing a value`, () => {
      const err = expectError(() => parsePkcs11Uri(text), 'KEY_URI_INVALID', ['123456', 'zz']);
      expect(err.details.attribute).toBe(attribute);
    });
  }
});
