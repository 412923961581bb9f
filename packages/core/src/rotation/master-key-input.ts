/**
 * Master keys handed to a rotation: key text (hex, base64, base64url), raw
 * bytes, or a MasterKey already in a keyring. Errors name which key ("old
 * key", "new key") and never include it.
 */
import { parseMasterKey } from '../crypto/master-key.js';
import { isLockboxError, LockboxError } from '../errors.js';
import { type MasterKey, masterKeyFrom } from '../keys/keyring.js';

export type MasterKeyInput = string | Uint8Array | MasterKey;

function isMasterKey(input: MasterKeyInput): input is MasterKey {
  return typeof input === 'object' && 'fingerprint' in input && 'wrap' in input;
}

/** Throws KEY_INVALID_ENCODING / KEY_INVALID_LENGTH (naming `what`) for a bad key. */
export function toMasterKey(input: MasterKeyInput, what: string): MasterKey {
  if (isMasterKey(input)) return input;
  const bytes = typeof input === 'string' ? parseMasterKey(input, what) : Buffer.from(input);
  try {
    return masterKeyFrom(bytes);
  } catch (err) {
    if (isLockboxError(err, 'KEY_INVALID_LENGTH')) {
      throw new LockboxError(
        'KEY_INVALID_LENGTH',
        `${what} is ${bytes.length} bytes; it must be exactly 32`,
        {
          cause: err,
        },
      );
    }
    throw err;
  } finally {
    bytes.fill(0);
  }
}
