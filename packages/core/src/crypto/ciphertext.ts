/**
 * Lockbox ciphertexts: TAG ‖ base64url(data_key_id ‖ nonce ‖ ciphertext ‖ tag).
 *
 * Two tags share the envelope layout (docs/format.md):
 * - "lb1:" — bound to a context that names where the value lives. Fields (values
 *   in an application's own tables) are always lb1:; secrets were lb1: before
 *   format 2 and are still read.
 * - "lb2:" — a secret row's ciphertext, whose context also binds the row's version
 *   and creation time (see `secretRowContext`), so an older ciphertext of the same
 *   secret put back under a newer version fails to decrypt. Every secret write
 *   makes lb2:.
 *
 * Text-safe, so it fits a TEXT column of an application's own table. The key id
 * is the id of the data key that encrypted it.
 */
import { LockboxError } from '../errors.js';
import type { AeadKey } from './aead.js';
import {
  type EnvelopeFormat,
  openEnvelope,
  type ParsedEnvelope,
  parseEnvelope,
  sealEnvelope,
} from './envelope.js';

export const CIPHERTEXT_TAG = 'lb1:';
/** Secret rows bound to their version (format 2). */
export const ROW_CIPHERTEXT_TAG = 'lb2:';
export type CiphertextTag = typeof CIPHERTEXT_TAG | typeof ROW_CIPHERTEXT_TAG;

const FORMATS: Record<CiphertextTag, EnvelopeFormat> = {
  [CIPHERTEXT_TAG]: { tag: CIPHERTEXT_TAG, malformed: 'CIPHERTEXT_MALFORMED' },
  [ROW_CIPHERTEXT_TAG]: { tag: ROW_CIPHERTEXT_TAG, malformed: 'CIPHERTEXT_MALFORMED' },
};

export interface ParsedCiphertext extends ParsedEnvelope {
  /** Which of the two formats it is; decides the associated data its reader must build. */
  readonly tag: CiphertextTag;
}

/** True for an lb1: or lb2: text (without checking the rest). */
export function isCiphertext(text: string): boolean {
  return text.startsWith(CIPHERTEXT_TAG) || text.startsWith(ROW_CIPHERTEXT_TAG);
}

export function encryptToText(
  keyId: Uint8Array,
  key: AeadKey,
  plaintext: Uint8Array,
  context: Uint8Array,
  tag: CiphertextTag = CIPHERTEXT_TAG,
): string {
  return sealEnvelope(FORMATS[tag], keyId, key, plaintext, context);
}

/**
 * Parses an lb1: or lb2: text without decrypting it. CIPHERTEXT_UNKNOWN_FORMAT for
 * any other tag, CIPHERTEXT_MALFORMED for a bad body. Never echoes the input.
 */
export function parseCiphertext(text: string): ParsedCiphertext {
  const tag = text.startsWith(ROW_CIPHERTEXT_TAG) ? ROW_CIPHERTEXT_TAG : CIPHERTEXT_TAG;
  if (tag === CIPHERTEXT_TAG && !text.startsWith(CIPHERTEXT_TAG)) {
    throw new LockboxError(
      'CIPHERTEXT_UNKNOWN_FORMAT',
      `expected a value starting with "${CIPHERTEXT_TAG}" or "${ROW_CIPHERTEXT_TAG}"`,
    );
  }
  return { ...parseEnvelope(FORMATS[tag], text), tag };
}

/** Decrypts with the parsed text's own tag in the associated data; DECRYPT_FAILED on any mismatch. */
export function decryptParsed(parsed: ParsedCiphertext, key: AeadKey, context: Uint8Array): Buffer {
  return openEnvelope(FORMATS[parsed.tag], parsed, key, context);
}
