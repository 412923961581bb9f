/**
 * A data key wrapped inside a PKCS#11 module (normative description: docs/format.md):
 *
 *   text    = "lbh1:" ‖ base64url-nopad(payload)
 *   payload = key_id (8) ‖ mechanism (1) ‖ iv (12) ‖ wrapped_key (32) ‖ gcm_tag (16)
 *   aad     = ascii("lbh1:") ‖ key_id ‖ mechanism ‖ context
 *
 * key_id is the 8-byte fingerprint of the token's key (an in-module CMAC, see
 * keys/pkcs11/pkcs11-fingerprint.ts), so the keyring picks the key by id as it
 * does for "lbk1:". mechanism records how the module wrapped the key; 0x01 is
 * CKM_AES_GCM with a 96-bit IV and a 128-bit tag, the only one defined. The
 * context binds it to its scope and data-key id exactly like "lbk1:". This file
 * only encodes and parses; the cipher runs in the module.
 */
import { LockboxError } from '../errors.js';
import { KEY_ID_BYTES } from './fingerprint.js';
import { DATA_KEY_BYTES } from './wrapped-key.js';

export const HSM_WRAPPED_KEY_TAG = 'lbh1:';
export const HSM_MECHANISM_AES_GCM = 0x01;
export const HSM_IV_BYTES = 12;
export const HSM_TAG_BYTES = 16;
const HEADER_BYTES = KEY_ID_BYTES + 1 + HSM_IV_BYTES;
const PAYLOAD_BYTES = HEADER_BYTES + DATA_KEY_BYTES + HSM_TAG_BYTES;
/** base64url-nopad length of the 69-byte payload. */
const BODY_CHARS = Math.ceil((PAYLOAD_BYTES * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export interface ParsedHsmWrappedKey {
  /** The id of the key that opens it, as 16 lowercase hex characters. */
  readonly keyId: string;
  readonly mechanism: number;
  readonly iv: Buffer;
  /** wrapped_key ‖ gcm_tag, as the module's C_Decrypt takes it. */
  readonly sealed: Buffer;
  /** ascii(TAG) ‖ key_id ‖ mechanism, the fixed start of the associated data. */
  readonly header: Buffer;
}

/** The associated data for a wrap: ascii(TAG) ‖ key_id ‖ mechanism ‖ context. */
export function hsmWrapAad(keyId: Uint8Array, mechanism: number, context: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(HSM_WRAPPED_KEY_TAG), keyId, Buffer.of(mechanism), context]);
}

export function formatHsmWrappedKey(
  keyId: Uint8Array,
  mechanism: number,
  iv: Uint8Array,
  sealed: Uint8Array,
): string {
  if (
    keyId.length !== KEY_ID_BYTES ||
    iv.length !== HSM_IV_BYTES ||
    sealed.length !== DATA_KEY_BYTES + HSM_TAG_BYTES
  ) {
    throw new LockboxError('INTERNAL', 'an lbh1: wrapped key has fixed field lengths');
  }
  const payload = Buffer.concat([keyId, Buffer.of(mechanism), iv, sealed]);
  return HSM_WRAPPED_KEY_TAG + payload.toString('base64url');
}

/**
 * Parses an "lbh1:" wrapped key without unwrapping it. Throws
 * CIPHERTEXT_UNKNOWN_FORMAT for another tag, WRAPPED_KEY_MALFORMED for bad
 * base64url, a wrong length or an unknown mechanism. Never echoes the input.
 */
export function parseHsmWrappedKey(text: string): ParsedHsmWrappedKey {
  if (!text.startsWith(HSM_WRAPPED_KEY_TAG)) {
    throw new LockboxError(
      'CIPHERTEXT_UNKNOWN_FORMAT',
      `expected a value starting with "${HSM_WRAPPED_KEY_TAG}"`,
    );
  }
  const body = text.slice(HSM_WRAPPED_KEY_TAG.length);
  // A fixed length makes the canonical-tail check exact: 69 bytes leave no spare bits.
  if (body.length !== BODY_CHARS || !BASE64URL.test(body)) {
    throw new LockboxError(
      'WRAPPED_KEY_MALFORMED',
      `${HSM_WRAPPED_KEY_TAG} value is not ${BODY_CHARS} base64url characters`,
    );
  }
  const payload = Buffer.from(body, 'base64url');
  const mechanism = payload[KEY_ID_BYTES]!;
  if (mechanism !== HSM_MECHANISM_AES_GCM) {
    throw new LockboxError(
      'WRAPPED_KEY_MALFORMED',
      `${HSM_WRAPPED_KEY_TAG} value names unknown mechanism ${mechanism}`,
      { details: { mechanism } },
    );
  }
  return {
    keyId: payload.toString('hex', 0, KEY_ID_BYTES),
    mechanism,
    iv: payload.subarray(KEY_ID_BYTES + 1, HEADER_BYTES),
    sealed: payload.subarray(HEADER_BYTES),
    header: Buffer.concat([
      Buffer.from(HSM_WRAPPED_KEY_TAG),
      payload.subarray(0, KEY_ID_BYTES + 1),
    ]),
  };
}
