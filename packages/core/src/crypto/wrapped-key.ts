/**
 * A wrapped data key: "lbk1:" ‖ base64url(master_key_id ‖ nonce ‖ wrapped_key (32) ‖ tag).
 *
 * master_key_id is the 8-byte fingerprint of the master key that wrapped it, so
 * the keyring picks the right key by id. The context binds it to its scope and
 * data-key id, so two scopes' wrapped keys cannot be swapped.
 */
import type { AeadKey } from './aead.js';
import {
  type EnvelopeFormat,
  openEnvelope,
  type ParsedEnvelope,
  parseEnvelope,
  sealEnvelope,
} from './envelope.js';

export const WRAPPED_KEY_TAG = 'lbk1:';
export const DATA_KEY_BYTES = 32;
const FORMAT: EnvelopeFormat = {
  tag: WRAPPED_KEY_TAG,
  malformed: 'WRAPPED_KEY_MALFORMED',
  plaintextBytes: DATA_KEY_BYTES,
};

export type ParsedWrappedKey = ParsedEnvelope;

export function wrapKey(
  masterKeyId: Uint8Array,
  masterKey: AeadKey,
  dataKey: Uint8Array,
  context: Uint8Array,
): string {
  return sealEnvelope(FORMAT, masterKeyId, masterKey, dataKey, context);
}

export function parseWrappedKey(text: string): ParsedWrappedKey {
  return parseEnvelope(FORMAT, text);
}

export function unwrapParsed(
  parsed: ParsedWrappedKey,
  masterKey: AeadKey,
  context: Uint8Array,
): Buffer {
  return openEnvelope(FORMAT, parsed, masterKey, context);
}
