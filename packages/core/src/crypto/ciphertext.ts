/**
 * The Lockbox ciphertext: "lb1:" ‖ base64url(data_key_id ‖ nonce ‖ ciphertext ‖ tag).
 *
 * Text-safe, so it fits a TEXT column of an application's own table. The key id
 * is the id of the data key that encrypted it; the context binds it to where it
 * lives (see context.ts).
 */
import type { AeadKey } from './aead.js';
import {
  type EnvelopeFormat,
  openEnvelope,
  type ParsedEnvelope,
  parseEnvelope,
  sealEnvelope,
} from './envelope.js';

export const CIPHERTEXT_TAG = 'lb1:';
const FORMAT: EnvelopeFormat = { tag: CIPHERTEXT_TAG, malformed: 'CIPHERTEXT_MALFORMED' };

export type ParsedCiphertext = ParsedEnvelope;

export function isCiphertext(text: string): boolean {
  return text.startsWith(CIPHERTEXT_TAG);
}

export function encryptToText(
  keyId: Uint8Array,
  key: AeadKey,
  plaintext: Uint8Array,
  context: Uint8Array,
): string {
  return sealEnvelope(FORMAT, keyId, key, plaintext, context);
}

export function parseCiphertext(text: string): ParsedCiphertext {
  return parseEnvelope(FORMAT, text);
}

export function decryptParsed(parsed: ParsedCiphertext, key: AeadKey, context: Uint8Array): Buffer {
  return openEnvelope(FORMAT, parsed, key, context);
}
