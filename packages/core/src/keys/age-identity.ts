/**
 * age X25519 identities and recipients: the recovery key pair.
 *
 * The recovery recipient (`age1…`, public) is configured on the instance and
 * every data key is also wrapped to it; the identity (`AGE-SECRET-KEY-1…`) is
 * kept offline. Everything here interoperates with the stock `age` tool: the
 * identity file is what `age-keygen` writes and `age -d -i` reads, and a wrapped
 * value is an ordinary ASCII-armored age file, so `age -d -i identity.txt`
 * recovers a data key without Lockbox.
 *
 * Only X25519 is accepted, not the post-quantum hybrid types: `age` 1.1.1, the
 * version in common distributions, cannot read them, and a recovery key that
 * the stock tool cannot use defeats its purpose.
 *
 * Errors never include an identity, a wrapped value or the wrapped bytes (the
 * bech32 decoder's own messages quote their input, so they are never passed on).
 */
import {
  armor,
  Decrypter,
  Encrypter,
  generateX25519Identity,
  identityToRecipient,
} from 'age-encryption';
import { LockboxError } from '../errors.js';
import { writeSecretFile } from './key-file.js';

export interface AgeKeyPair {
  /** The secret identity, `AGE-SECRET-KEY-1…` (upper case, 74 characters). */
  readonly identity: string;
  /** The public recipient, `age1…` (lower case, 62 characters). */
  readonly recipient: string;
}

const IDENTITY_PREFIX = 'AGE-SECRET-KEY-1';
const RECIPIENT_PREFIX = 'age1';
/** A wrapped data key is about 400 characters; anything this large is not one. */
const MAX_WRAPPED_CHARS = 16 * 1024;
/** wrapToRecipient is for keys, not documents. */
const MAX_WRAPPED_BYTES = 1024;

function invalidIdentity(message: string): LockboxError {
  return new LockboxError('RECOVERY_IDENTITY_INVALID', `age identity: ${message}`);
}

function invalidRecipient(message: string): LockboxError {
  return new LockboxError('RECIPIENT_INVALID', `age recipient: ${message}`);
}

/** A new X25519 identity and its recipient. */
export async function generateAgeIdentity(): Promise<AgeKeyPair> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/**
 * The recipient of a bare identity line. Throws RECOVERY_IDENTITY_INVALID when
 * it is not a well-formed X25519 identity (bad prefix, checksum or length).
 */
export async function recipientFromIdentity(identity: string): Promise<string> {
  if (identity.startsWith('AGE-SECRET-KEY-PQ-1')) {
    throw invalidIdentity(
      'post-quantum hybrid identities are not supported; use an X25519 identity',
    );
  }
  if (!identity.startsWith(IDENTITY_PREFIX) || identity !== identity.toUpperCase()) {
    throw invalidIdentity(`expected an upper-case line starting with ${IDENTITY_PREFIX}`);
  }
  try {
    return await identityToRecipient(identity);
  } catch {
    throw invalidIdentity('the bech32 checksum or key length is wrong');
  }
}

/**
 * Parses an identity file's contents (or a bare identity): `#` comment lines and
 * blank lines are ignored, and exactly one AGE-SECRET-KEY-1 line must remain.
 * Throws RECOVERY_IDENTITY_INVALID otherwise; the message gives line numbers,
 * never line contents.
 */
export async function parseAgeIdentity(text: string): Promise<AgeKeyPair> {
  const keyLines: { line: string; number: number }[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line !== '' && !line.startsWith('#')) keyLines.push({ line, number: index + 1 });
  });
  const [first, second] = keyLines;
  if (first === undefined)
    throw invalidIdentity('no identity found (only comments or blank lines)');
  if (second !== undefined) {
    throw invalidIdentity(`expected one identity, found ${keyLines.length} non-comment lines`);
  }
  try {
    return { identity: first.line, recipient: await recipientFromIdentity(first.line) };
  } catch (err) {
    if (err instanceof LockboxError) {
      throw new LockboxError(err.code, `${err.message} (line ${first.number})`, {
        details: { line: first.number },
      });
    }
    throw err;
  }
}

/**
 * Validates an X25519 recipient (`age1…`, lower case, bech32) and returns it
 * trimmed. Throws RECIPIENT_INVALID otherwise, including for the post-quantum,
 * tag and plugin recipient types.
 */
export function parseAgeRecipient(text: string): string {
  const recipient = text.trim();
  if (!recipient.startsWith(RECIPIENT_PREFIX)) {
    throw invalidRecipient(`expected a lower-case string starting with ${RECIPIENT_PREFIX}`);
  }
  // Their HRPs are age1pq / age1tag, so a separator follows; an X25519 recipient's
  // data part never holds a 1 and may itself begin with pq or tag.
  if (/^age1(pq|tag)1/.test(recipient)) {
    throw invalidRecipient(
      'only X25519 recipients are supported, not post-quantum or tag recipients',
    );
  }
  if (!/^age1[02-9ac-hj-np-z]+$/.test(recipient)) {
    throw invalidRecipient('contains characters outside the lower-case bech32 alphabet');
  }
  try {
    new Encrypter().addRecipient(recipient);
  } catch {
    throw invalidRecipient('the bech32 checksum or key length is wrong');
  }
  return recipient;
}

/**
 * The identity file text `age-keygen` would write: a creation comment, the
 * public key comment, the identity, a final newline.
 */
export function formatAgeIdentityFile(pair: AgeKeyPair, created: Date = new Date()): string {
  const when = created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `# created: ${when}\n# public key: ${pair.recipient}\n${pair.identity}\n`;
}

/**
 * Writes an identity file (0600, atomic, see writeSecretFile) that `age -d -i`
 * accepts, and returns its recipient. Throws RECOVERY_IDENTITY_INVALID for a bad
 * identity, and writeSecretFile's errors (KEY_FILE_EXISTS without force).
 */
export async function writeAgeIdentityFile(
  path: string,
  identity: string,
  options: { force?: boolean } = {},
): Promise<string> {
  const pair = await parseAgeIdentity(identity);
  await writeSecretFile(path, formatAgeIdentityFile(pair), options);
  return pair.recipient;
}

/**
 * Encrypts a small value (a data key) to an X25519 recipient, as an
 * ASCII-armored age file (`-----BEGIN AGE ENCRYPTED FILE-----`, multi-line
 * text), so it fits a TEXT column and `age -d` reads it as is.
 */
export async function wrapToRecipient(recipient: string, bytes: Uint8Array): Promise<string> {
  const checked = parseAgeRecipient(recipient);
  if (bytes.length > MAX_WRAPPED_BYTES) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `wrapToRecipient wraps keys of at most ${MAX_WRAPPED_BYTES} bytes, got ${bytes.length}`,
    );
  }
  const encrypter = new Encrypter();
  encrypter.addRecipient(checked);
  return armor.encode(await encrypter.encrypt(bytes));
}

/**
 * Decrypts what wrapToRecipient (or `age -a -r`) produced. `identity` may be a
 * bare identity or an identity file's contents. Throws RECOVERY_IDENTITY_INVALID
 * for a bad identity, WRAPPED_KEY_MALFORMED when `text` is not an armored age
 * file, RECOVERY_IDENTITY_MISMATCH when it was not encrypted to this identity,
 * and DECRYPT_FAILED when it was but does not authenticate (tampered).
 */
export async function unwrapWithIdentity(identity: string, text: string): Promise<Buffer> {
  const { identity: line } = await parseAgeIdentity(identity);
  if (text.length > MAX_WRAPPED_CHARS) {
    throw new LockboxError(
      'WRAPPED_KEY_MALFORMED',
      `an age-wrapped key is at most ${MAX_WRAPPED_CHARS} characters`,
    );
  }
  let file: Uint8Array;
  try {
    file = armor.decode(text);
  } catch {
    throw new LockboxError(
      'WRAPPED_KEY_MALFORMED',
      'the age-wrapped key is not an ASCII-armored age file',
    );
  }
  // Decrypter asks its identities in the order added, stopping at the first that
  // returns a file key. Two probes around ours tell the failure apart without
  // reading error strings: `reached` — the header parsed; `fellThrough` — ours
  // found no stanza it could open (wrong identity).
  let reached = false;
  let fellThrough = false;
  const decrypter = new Decrypter();
  decrypter.addIdentity({
    unwrapFileKey: () => {
      reached = true;
      return null;
    },
  });
  decrypter.addIdentity(line);
  decrypter.addIdentity({
    unwrapFileKey: () => {
      fellThrough = true;
      return null;
    },
  });
  try {
    return Buffer.from(await decrypter.decrypt(file));
  } catch {
    if (!reached) {
      throw new LockboxError('WRAPPED_KEY_MALFORMED', 'the age-wrapped key has a malformed header');
    }
    if (fellThrough) {
      throw new LockboxError(
        'RECOVERY_IDENTITY_MISMATCH',
        'the age identity does not open this wrapped key (it was encrypted to another recipient)',
      );
    }
    throw new LockboxError(
      'DECRYPT_FAILED',
      'the age-wrapped key failed to authenticate (tampered or truncated)',
    );
  }
}
