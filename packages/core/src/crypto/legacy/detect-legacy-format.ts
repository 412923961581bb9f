/**
 * Which format a stored value is in, for adopting data an application already
 * holds: Lockbox's own, a Fernet token, a `v2:` value, or plaintext.
 *
 * This is a heuristic over the text alone; it never decrypts. The rules, in order:
 *
 * - `lockbox`: starts with "lb" or "lbk", decimal digits, then ":" ("lb1:",
 *   "lbk1:", and any future version such as "lb2:"). Future versions count as
 *   Lockbox so that a value this version cannot read is refused by
 *   `parseCiphertext` (CIPHERTEXT_UNKNOWN_FORMAT) instead of being re-encrypted
 *   as if it were plaintext.
 * - `v2`: starts with "v2:".
 * - `fernet`: canonical URL-safe base64 (padded or not) that decodes to a
 *   possible Fernet length (at least 73 bytes; 57 + a multiple of 16) and starts
 *   with the version byte 0x80.
 * - `plaintext`: everything else, including the empty string.
 *
 * A plaintext that is itself URL-safe base64 can look like a Fernet token by
 * chance (a random string of a matching length has one chance in 256 of
 * starting with the byte 0x80), so adoption must treat a `fernet` value that
 * fails to decrypt as an error to report, never silently as plaintext.
 */
import { FERNET_VERSION, isFernetLength } from './fernet.js';
import { decodeUrlsafeBase64 } from './urlsafe-base64.js';
import { V2_PREFIX } from './v2.js';

export type LegacyFormat = 'lockbox' | 'fernet' | 'v2' | 'plaintext';

const LOCKBOX_TAG = /^lbk?[0-9]+:/;

export function detectLegacyFormat(value: string): LegacyFormat {
  if (LOCKBOX_TAG.test(value)) return 'lockbox';
  if (value.startsWith(V2_PREFIX)) return 'v2';
  if (looksLikeFernet(value)) return 'fernet';
  return 'plaintext';
}

function looksLikeFernet(value: string): boolean {
  // A Fernet token's first byte 0x80 always encodes as a leading "g".
  if (!value.startsWith('g')) return false;
  const bytes = decodeUrlsafeBase64(value);
  return bytes !== undefined && isFernetLength(bytes.length) && bytes[0] === FERNET_VERSION;
}
