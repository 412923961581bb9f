/**
 * The PKCS#11 master key against a real module (SoftHSM2, a token of its own in
 * a temporary directory): key attributes, wrap/unwrap in the module, the
 * fingerprint's vectors, and every refusal — each naming a stable code and
 * never the PIN.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  describeWithSoftHsm,
  dropHsmSessions,
  expectError,
  expectRejection,
  findOnPath,
  importHsmKey,
  newHsmKey,
  newHsmToken,
  SOFTHSM_MODULE,
  softHsmDirectory,
} from '@lockbox/test-helpers';
import { expect, it } from 'vitest';
import { dataKeyContext } from '../../../src/crypto/context.js';
import { Keyring, masterKeyFrom, wrappingFingerprint } from '../../../src/keys/keyring.js';
import { Pkcs11MasterKey } from '../../../src/keys/pkcs11/pkcs11-master-key.js';
import { loadPkcs11Module } from '../../../src/keys/pkcs11/pkcs11-module.js';

const context = dataKeyContext('prod', 'dek-1');
const vectors = JSON.parse(
  readFileSync(new URL('../../vectors/pkcs11-fingerprint.json', import.meta.url), 'utf8'),
) as { message: string; cases: Array<{ key: string; cmac: string; fingerprint: string }> };

describeWithSoftHsm('Pkcs11MasterKey (SoftHSM2)', () => {
  it('generates a non-extractable, sensitive AES-256 key object whose value cannot be read', async () => {
    const { key, token } = await newHsmKey();
    const { binding: p, module } = loadPkcs11Module(SOFTHSM_MODULE as string);
    const slot = module
      .C_GetSlotList(true)
      .find((s) => module.C_GetTokenInfo(s).label.trim() === token.label)!;
    const session = module.C_OpenSession(slot, p.CKF_SERIAL_SESSION);
    try {
      module.C_FindObjectsInit(session, [{ type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }]);
      const [handle] = module.C_FindObjects(session, 2);
      module.C_FindObjectsFinal(session);
      const [extractable, sensitive] = module.C_GetAttributeValue(session, handle!, [
        { type: p.CKA_EXTRACTABLE },
        { type: p.CKA_SENSITIVE },
      ]);
      expect((extractable!.value as Buffer)[0]).toBe(0);
      expect((sensitive!.value as Buffer)[0]).toBe(1);
      expect(() => module.C_GetAttributeValue(session, handle!, [{ type: p.CKA_VALUE }])).toThrow(
        /CKR_ATTRIBUTE_SENSITIVE/,
      );
    } finally {
      module.C_CloseSession(session);
    }
    expect(key.provider).toBe('pkcs11');
    expect(key.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('wraps data keys in the module as lbh1:, bound to their context', async () => {
    const { key, uri } = await newHsmKey();
    const dataKey = randomBytes(32);
    const wrapped = key.wrap(dataKey, context);
    expect(wrapped).toMatch(/^lbh1:[A-Za-z0-9_-]{92}$/);
    expect(wrappingFingerprint(wrapped)).toBe(key.fingerprint);
    expect(key.wrap(dataKey, context)).not.toBe(wrapped);
    expect(key.unwrap(wrapped, context)).toEqual(dataKey);
    // Reopened from its URI (another process would do this), it is the same key.
    const again = await Pkcs11MasterKey.open(uri);
    expect(again.fingerprint).toBe(key.fingerprint);
    expect(again.unwrap(wrapped, context)).toEqual(dataKey);
    expectError(() => key.unwrap(wrapped, dataKeyContext('prod', 'dek-2')), 'DECRYPT_FAILED');
    for (const at of [5, 14, 20, 40, 90]) {
      const body = wrapped.slice(5);
      const flipped = body[at - 5] === 'A' ? 'B' : 'A';
      const tampered = `lbh1:${body.slice(0, at - 5)}${flipped}${body.slice(at - 4)}`;
      const err = expectError(
        () => Keyring.prototype.unwrap.call(new Keyring(key), tampered, context),
        err0(tampered, key.fingerprint),
      );
      expect(['DECRYPT_FAILED', 'KEY_NOT_IN_KEYRING', 'WRAPPED_KEY_MALFORMED']).toContain(err.code);
    }
    expectError(() => key.unwrap(`${wrapped}A`, context), 'WRAPPED_KEY_MALFORMED');
  });

  it('sits in a keyring beside a local key: each unwraps only its own format', async () => {
    const { key } = await newHsmKey();
    const local = masterKeyFrom(randomBytes(32));
    const keyring = new Keyring(key, [local]);
    const dataKey = randomBytes(32);
    const underHsm = keyring.wrap(dataKey, context);
    const underLocal = local.wrap(dataKey, context);
    expect(keyring.unwrap(underHsm, context)).toEqual(dataKey);
    expect(keyring.unwrap(underLocal, context)).toEqual(dataKey);
    expect(new Keyring(local, [key]).wrap(dataKey, context)).toMatch(/^lbk1:/);
    // An lbk1: envelope that names the token key's id is refused, not tried.
    const forged = `lbk1:${Buffer.concat([key.id, Buffer.from(underLocal.slice(5), 'base64url').subarray(8)]).toString('base64url')}`;
    expectError(() => keyring.unwrap(forged, context), 'CIPHERTEXT_UNKNOWN_FORMAT');
  });

  it('fingerprints a key inside the module as the vectors say (and as openssl computes)', async () => {
    const token = newHsmToken();
    const openssl = findOnPath('openssl');
    for (const [i, vector] of vectors.cases.entries()) {
      const key = await Pkcs11MasterKey.open(
        importHsmKey(token, `vector-${i}`, Buffer.from(vector.key, 'hex')),
      );
      expect(key.fingerprint).toBe(vector.fingerprint);
      expect(vector.cmac.slice(0, 16)).toBe(vector.fingerprint);
      if (openssl !== undefined) {
        const message = join(softHsmDirectory(), 'fingerprint-message');
        writeFileSync(message, vectors.message);
        const out = execFileSync(
          openssl,
          [
            'mac',
            '-cipher',
            'AES-256-CBC',
            '-macopt',
            `hexkey:${vector.key}`,
            '-in',
            message,
            'CMAC',
          ],
          { encoding: 'utf8' },
        );
        expect(out.trim().toLowerCase()).toBe(vector.cmac);
      }
    }
  });

  it('re-opens sessions the module dropped, and keeps working', async () => {
    const { key, token } = await newHsmKey();
    const wrapped = key.wrap(randomBytes(32), context);
    dropHsmSessions(token);
    expect(key.unwrap(wrapped, context)).toHaveLength(32);
    dropHsmSessions(token);
    expect(key.wrap(randomBytes(32), context)).toMatch(/^lbh1:/);
  });

  it('refuses a wrong PIN with PKCS11_PIN_INCORRECT, never showing a PIN', async () => {
    const { key, uri, token } = await newHsmKey();
    const wrongPin = 'wrong-pin-canary-91';
    const file = join(softHsmDirectory(), `${token.label}.wrong`);
    writeFileSync(file, wrongPin, { mode: 0o600 });
    await expectRejection(
      Pkcs11MasterKey.open(uri.replace(token.pinFile, file)),
      'PKCS11_PIN_INCORRECT',
      [wrongPin, token.pin],
    );
    // The token was already logged in by `key` (login is per process): the wrong PIN was still
    // tried, not waved through, and `key` logs in again by itself.
    expect(key.unwrap(key.wrap(randomBytes(32), context), context)).toHaveLength(32);
  });

  it('refuses a PIN file others can read, and a PIN variable that is unset', async () => {
    const { uri, token } = await newHsmKey();
    chmodSync(token.pinFile, 0o644);
    try {
      await expectRejection(Pkcs11MasterKey.open(uri), 'KEY_FILE_INSECURE', [token.pin]);
    } finally {
      chmodSync(token.pinFile, 0o600);
    }
    const byEnv = uri.replace(`file:${token.pinFile}`, 'env:LOCKBOX_TEST_HSM_PIN');
    await expectRejection(Pkcs11MasterKey.open(byEnv, {}), 'PKCS11_PIN_MISSING');
    expect((await Pkcs11MasterKey.open(byEnv, { LOCKBOX_TEST_HSM_PIN: token.pin })).provider).toBe(
      'pkcs11',
    );
  });

  it('refuses a missing object, a missing token and a module that cannot be loaded', async () => {
    const { token } = await newHsmKey();
    await expectRejection(Pkcs11MasterKey.open(token.uri('no-such-key')), 'PKCS11_KEY_NOT_FOUND');
    const noToken = token.uri('k').replace(`token=${token.label}`, 'token=no-such-token');
    await expectRejection(Pkcs11MasterKey.open(noToken), 'PKCS11_TOKEN_NOT_FOUND');
    const notAModule = join(softHsmDirectory(), 'not-a-module.so');
    writeFileSync(notAModule, 'not a library');
    const badModule = token.uri('k').replace(SOFTHSM_MODULE as string, notAModule);
    await expectRejection(Pkcs11MasterKey.open(badModule), 'PKCS11_MODULE_LOAD_FAILED');
  });

  it('refuses to make a second key under a taken label, creating nothing', async () => {
    const { uri, key } = await newHsmKey();
    const { generatePkcs11MasterKey } = await import('../../../src/keys/pkcs11/pkcs11-keygen.js');
    await expectRejection(generatePkcs11MasterKey(uri), 'PKCS11_KEY_EXISTS');
    expect((await Pkcs11MasterKey.open(uri)).fingerprint).toBe(key.fingerprint);
  });

  it('refuses a key object that could leave the token (CKA_EXTRACTABLE true)', async () => {
    const token = newHsmToken();
    const { binding: p, module } = loadPkcs11Module(SOFTHSM_MODULE as string);
    const slot = module
      .C_GetSlotList(true)
      .find((s) => module.C_GetTokenInfo(s).label.trim() === token.label)!;
    const session = module.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    try {
      module.C_Login(session, p.CKU_USER, token.pin);
      module.C_GenerateKey(session, { mechanism: p.CKM_AES_KEY_GEN }, [
        { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
        { type: p.CKA_VALUE_LEN, value: 32 },
        { type: p.CKA_LABEL, value: 'exportable' },
        { type: p.CKA_TOKEN, value: true },
        { type: p.CKA_PRIVATE, value: true },
        { type: p.CKA_SENSITIVE, value: false },
        { type: p.CKA_EXTRACTABLE, value: true },
        { type: p.CKA_ENCRYPT, value: true },
        { type: p.CKA_DECRYPT, value: true },
        { type: p.CKA_SIGN, value: true },
      ]);
    } finally {
      module.C_CloseSession(session);
    }
    const err = await expectRejection(
      Pkcs11MasterKey.open(token.uri('exportable')),
      'PKCS11_KEY_UNSUITABLE',
    );
    expect(err.details.problems).toEqual(['CKA_EXTRACTABLE is true', 'CKA_SENSITIVE is false']);
  });
});

/** The code a tampered lbh1: value gets: a changed key id names a key the keyring lacks. */
function err0(tampered: string, fingerprint: string) {
  try {
    return wrappingFingerprint(tampered) === fingerprint
      ? ('DECRYPT_FAILED' as const)
      : ('KEY_NOT_IN_KEYRING' as const);
  } catch {
    return 'WRAPPED_KEY_MALFORMED' as const;
  }
}
