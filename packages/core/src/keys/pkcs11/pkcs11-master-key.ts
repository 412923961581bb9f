/**
 * A master key held in a PKCS#11 token: an AES-256 key object that is
 * non-extractable and sensitive, named by an RFC 7512 URI. Data keys are
 * wrapped and unwrapped inside the module with CKM_AES_GCM (format "lbh1:",
 * crypto/hsm-wrapped-key.ts); the key's bytes never enter this process.
 *
 * Opening proves everything a later wrap needs, so a bad configuration fails at
 * start-up, not in the middle of a rotation: the binding and module load, the
 * token is present, the PIN is accepted, exactly one key object matches, it is
 * an AES-256 key with CKA_EXTRACTABLE false, CKA_SENSITIVE true and CKA_ENCRYPT,
 * CKA_DECRYPT, CKA_SIGN set, and the module offers CKM_AES_GCM and CKM_AES_CMAC.
 */
import { randomBytes } from 'node:crypto';
import {
  formatHsmWrappedKey,
  HSM_IV_BYTES,
  HSM_MECHANISM_AES_GCM,
  HSM_TAG_BYTES,
  hsmWrapAad,
  parseHsmWrappedKey,
} from '../../crypto/hsm-wrapped-key.js';
import { DATA_KEY_BYTES } from '../../crypto/wrapped-key.js';
import { isLockboxError, LockboxError } from '../../errors.js';
import type { MasterKey } from '../keyring.js';
import { connectToToken } from './pkcs11-connect.js';
import { PKCS11_FINGERPRINT_MESSAGE } from './pkcs11-fingerprint.js';
import { type LoadedModule, pkcs11ErrorName } from './pkcs11-module.js';
import type { Pkcs11Sessions } from './pkcs11-sessions.js';
import type { Pkcs11Uri } from './pkcs11-uri.js';

type Handle = Buffer;

/** What C_Decrypt reports for a wrapped key that does not authenticate. */
const AUTHENTICATION_FAILED = new Set([
  'CKR_ENCRYPTED_DATA_INVALID',
  'CKR_ENCRYPTED_DATA_LEN_RANGE',
  // SoftHSM2 reports a GCM tag mismatch as a general error.
  'CKR_GENERAL_ERROR',
]);

function readUlong(value: Buffer | undefined): number {
  return value === undefined || value.length === 0
    ? -1
    : value.readUIntLE(0, Math.min(6, value.length));
}

function readBool(value: Buffer | undefined): boolean {
  return value !== undefined && value.length > 0 && value[0] !== 0;
}

/** Wraps unexpected module errors so a caller sees a stable code and the CKR name. */
function moduleCall<T>(uri: Pkcs11Uri, what: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (isLockboxError(err)) throw err;
    const name = pkcs11ErrorName(err) ?? 'unknown error';
    throw new LockboxError('PKCS11_FAILED', `${what} with ${uri.display} failed (${name})`, {
      cause: err,
      details: { uri: uri.display, reason: name },
    });
  }
}

export class Pkcs11MasterKey implements MasterKey {
  readonly provider = 'pkcs11' as const;
  readonly id: Buffer;
  readonly fingerprint: string;
  /** `pkcs11:token=…;object=…`, for status and messages. */
  readonly uri: string;
  readonly #loaded: LoadedModule;
  readonly #parsed: Pkcs11Uri;
  readonly #sessions: Pkcs11Sessions;

  private constructor(loaded: LoadedModule, uri: Pkcs11Uri, sessions: Pkcs11Sessions, id: Buffer) {
    this.#loaded = loaded;
    this.#parsed = uri;
    this.#sessions = sessions;
    this.id = id;
    this.fingerprint = id.toString('hex');
    this.uri = uri.display;
  }

  /**
   * Opens the key named by `uri` (see the module header for what is checked).
   * Throws KEY_URI_INVALID, PKCS11_UNAVAILABLE, PKCS11_MODULE_LOAD_FAILED,
   * PKCS11_TOKEN_NOT_FOUND, PKCS11_PIN_MISSING, PKCS11_PIN_INCORRECT,
   * PKCS11_KEY_NOT_FOUND, PKCS11_KEY_UNSUITABLE, PKCS11_MECHANISM_UNSUPPORTED,
   * or the PIN file's KEY_FILE_* errors.
   */
  static async open(
    uri: string,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): Promise<Pkcs11MasterKey> {
    const { parsed, loaded, sessions } = await connectToToken(uri, env);
    const id = moduleCall(parsed, 'opening the key', () => {
      checkMechanisms(loaded, parsed, sessions.slot());
      return sessions.run((session, key) => {
        checkKeyObject(loaded, parsed, session, key);
        return fingerprintInModule(loaded, session, key);
      });
    });
    return new Pkcs11MasterKey(loaded, parsed, sessions, id);
  }

  wrap(dataKey: Uint8Array, context: Uint8Array): string {
    const { binding, module } = this.#loaded;
    const iv = randomBytes(HSM_IV_BYTES);
    const aad = hsmWrapAad(this.id, HSM_MECHANISM_AES_GCM, context);
    const sealed = moduleCall(this.#parsed, 'wrapping a data key', () =>
      this.#sessions.run((session, key) => {
        module.C_EncryptInit(session, gcm(binding, iv, aad), key);
        return module.C_Encrypt(
          session,
          Buffer.from(dataKey),
          Buffer.alloc(dataKey.length + HSM_TAG_BYTES),
        );
      }),
    );
    return formatHsmWrappedKey(this.id, HSM_MECHANISM_AES_GCM, iv, sealed);
  }

  /**
   * Unwraps an "lbh1:" data key. DECRYPT_FAILED when it does not authenticate
   * (wrong context, a changed byte); WRAPPED_KEY_MALFORMED / CIPHERTEXT_UNKNOWN_FORMAT
   * for text that is not an lbh1: key; PKCS11_TOKEN_UNAVAILABLE when the token is gone.
   */
  unwrap(wrapped: string, context: Uint8Array): Buffer {
    const parsed = parseHsmWrappedKey(wrapped);
    if (parsed.keyId !== this.fingerprint) {
      throw new LockboxError(
        'INTERNAL',
        `an lbh1: key of ${parsed.keyId} reached ${this.fingerprint}`,
      );
    }
    const { binding, module } = this.#loaded;
    const aad = Buffer.concat([parsed.header, context]);
    let failed = false;
    const bytes = moduleCall(this.#parsed, 'unwrapping a data key', () =>
      this.#sessions.run((session, key) => {
        module.C_DecryptInit(session, gcm(binding, parsed.iv, aad), key);
        try {
          return module.C_Decrypt(session, parsed.sealed, Buffer.alloc(parsed.sealed.length));
        } catch (err) {
          if (!AUTHENTICATION_FAILED.has(pkcs11ErrorName(err) ?? '')) throw err;
          failed = true;
          return Buffer.alloc(0);
        }
      }),
    );
    if (failed || bytes.length !== DATA_KEY_BYTES) {
      bytes.fill(0);
      throw new LockboxError('DECRYPT_FAILED');
    }
    return bytes;
  }
}

function gcm(binding: LoadedModule['binding'], iv: Buffer, aad: Buffer) {
  return {
    mechanism: binding.CKM_AES_GCM,
    parameter: {
      type: binding.CK_PARAMS_AES_GCM,
      iv,
      aad,
      ivBits: HSM_IV_BYTES * 8,
      tagBits: HSM_TAG_BYTES * 8,
    },
  };
}

function checkMechanisms(loaded: LoadedModule, uri: Pkcs11Uri, slot: Handle): void {
  const { binding, module } = loaded;
  const offered = new Set(module.C_GetMechanismList(slot));
  for (const [name, mechanism] of [
    ['CKM_AES_GCM', binding.CKM_AES_GCM],
    ['CKM_AES_CMAC', binding.CKM_AES_CMAC],
  ] as const) {
    if (!offered.has(mechanism)) {
      throw new LockboxError(
        'PKCS11_MECHANISM_UNSUPPORTED',
        `the token of ${uri.display} does not offer ${name}, which a Lockbox master key needs`,
        { details: { uri: uri.display, mechanism: name } },
      );
    }
  }
}

function checkKeyObject(loaded: LoadedModule, uri: Pkcs11Uri, session: Handle, key: Handle): void {
  const { binding, module } = loaded;
  const wanted = [
    ['CKA_KEY_TYPE', binding.CKA_KEY_TYPE],
    ['CKA_VALUE_LEN', binding.CKA_VALUE_LEN],
    ['CKA_EXTRACTABLE', binding.CKA_EXTRACTABLE],
    ['CKA_SENSITIVE', binding.CKA_SENSITIVE],
    ['CKA_ENCRYPT', binding.CKA_ENCRYPT],
    ['CKA_DECRYPT', binding.CKA_DECRYPT],
    ['CKA_SIGN', binding.CKA_SIGN],
  ] as const;
  const values = module.C_GetAttributeValue(
    session,
    key,
    wanted.map(([, type]) => ({ type })),
  );
  const value = (i: number) => values[i]?.value as Buffer | undefined;
  const problems: string[] = [];
  if (readUlong(value(0)) !== binding.CKK_AES) problems.push('CKA_KEY_TYPE is not CKK_AES');
  if (readUlong(value(1)) !== 32) problems.push('CKA_VALUE_LEN is not 32');
  if (readBool(value(2))) problems.push('CKA_EXTRACTABLE is true');
  if (!readBool(value(3))) problems.push('CKA_SENSITIVE is false');
  for (const i of [4, 5, 6]) if (!readBool(value(i))) problems.push(`${wanted[i]![0]} is false`);
  if (problems.length > 0) {
    throw new LockboxError(
      'PKCS11_KEY_UNSUITABLE',
      `the key object of ${uri.display} cannot be a master key: ${problems.join(', ')}`,
      { details: { uri: uri.display, problems } },
    );
  }
}

function fingerprintInModule(loaded: LoadedModule, session: Handle, key: Handle): Buffer {
  const { binding, module } = loaded;
  module.C_SignInit(session, { mechanism: binding.CKM_AES_CMAC }, key);
  const mac = module.C_Sign(session, PKCS11_FINGERPRINT_MESSAGE, Buffer.alloc(16));
  return Buffer.from(mac.subarray(0, 8));
}
