/**
 * Where master keys come from: an environment variable, a key file, a list of
 * previous keys, and the keyring assembled from them.
 *
 * Every provider returns raw 32-byte buffers that the caller owns (and should
 * zero once a Keyring holds them); `keyringFromConfig` does that itself. Errors
 * name the source — the variable, the file path, the entry's position — and
 * never the value.
 */
import { formatMasterKey, MASTER_KEY_BYTES, parseMasterKey } from '../crypto/master-key.js';
import { isLockboxError, LockboxError } from '../errors.js';
import { readSecretFile, type WriteSecretFileOptions, writeSecretFile } from './key-file.js';
import { Keyring, type MasterKey, masterKeyFrom } from './keyring.js';
import { Pkcs11MasterKey } from './pkcs11/pkcs11-master-key.js';

export const MASTER_KEY_ENV = 'LOCKBOX_MASTER_KEY';
export const PREVIOUS_KEYS_ENV = 'LOCKBOX_PREVIOUS_KEYS';

/**
 * The master key in environment variable `name`. Throws KEY_MISSING when it is
 * unset or blank, KEY_INVALID_ENCODING / KEY_INVALID_LENGTH when it is not a
 * 32-byte key in hex, base64 or base64url.
 */
export function masterKeyFromEnv(
  name: string = MASTER_KEY_ENV,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Buffer {
  const value = env[name];
  if (value === undefined) {
    throw new LockboxError('KEY_MISSING', `no master key: ${name} is not set`, {
      details: { variable: name },
    });
  }
  if (value.trim() === '') {
    throw new LockboxError('KEY_MISSING', `no master key: ${name} is set but empty`, {
      details: { variable: name },
    });
  }
  return parseMasterKey(value, name);
}

/**
 * The master key in a key file: the key text (base64 as `lockbox keygen` writes
 * it, or hex/base64url) and an optional trailing newline. The file must be
 * private (see readSecretFile: KEY_FILE_NOT_FOUND, KEY_FILE_INSECURE).
 */
export async function masterKeyFromFile(path: string): Promise<Buffer> {
  const bytes = await readSecretFile(path);
  try {
    return parseMasterKey(bytes.toString('utf8'), `key file ${path}`);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Writes a master key file that masterKeyFromFile reads back: the key in
 * standard base64 and a newline, 0600, atomically (see writeSecretFile; without
 * `force` an existing file is KEY_FILE_EXISTS).
 */
export async function writeMasterKeyFile(
  path: string,
  key: Uint8Array,
  options: WriteSecretFileOptions = {},
): Promise<void> {
  if (key.length !== MASTER_KEY_BYTES) {
    throw new LockboxError(
      'KEY_INVALID_LENGTH',
      `a master key is ${MASTER_KEY_BYTES} bytes, got ${key.length}`,
    );
  }
  await writeSecretFile(path, `${formatMasterKey(key)}\n`, options);
}

/**
 * Splits a key list (as in LOCKBOX_PREVIOUS_KEYS) on commas and whitespace,
 * dropping empty entries. Entries are not validated here.
 */
export function splitKeyList(text: string): string[] {
  return text.split(/[\s,]+/).filter((entry) => entry.length > 0);
}

/** Re-labels a key parse error with where the key came from, keeping its code. */
function labelled<T>(details: Record<string, unknown>, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!isLockboxError(err)) throw err;
    throw new LockboxError(err.code, err.message, {
      cause: err,
      details: { ...err.details, ...details },
    });
  }
}

function parseEach(texts: readonly string[], what: string): Buffer[] {
  const keys: Buffer[] = [];
  try {
    texts.forEach((text, index) => {
      const entry = index + 1;
      const label = `${what} entry ${entry} of ${texts.length}`;
      keys.push(labelled({ entry }, () => parseMasterKey(text, label)));
    });
    return keys;
  } catch (err) {
    for (const key of keys) key.fill(0);
    throw err;
  }
}

/**
 * Parses a comma- or whitespace-separated list of master keys. An empty list is
 * []. A bad entry throws KEY_INVALID_ENCODING / KEY_INVALID_LENGTH naming its
 * 1-based position (details.entry), never its value.
 */
export function parseKeyList(text: string, what: string = PREVIOUS_KEYS_ENV): Buffer[] {
  return parseEach(splitKeyList(text), what);
}

export interface KeyringConfig {
  /** The primary master key's text (hex, base64 or base64url). */
  primary?: string | undefined;
  /** A key file holding the primary master key. Exclusive with `primary`. */
  primaryFile?: string | undefined;
  /** Previous master keys' texts, unwrap-only. */
  previous?: readonly string[] | undefined;
  /** Key files holding previous master keys. */
  previousFiles?: readonly string[] | undefined;
  /** A PKCS#11 URI naming the primary master key on a token. Exclusive with `primary`/`primaryFile`. */
  primaryUri?: string | undefined;
  /** PKCS#11 URIs naming previous master keys. */
  previousUris?: readonly string[] | undefined;
}

/**
 * Builds the keyring from configured key texts and key files. Throws KEY_MISSING
 * without a primary (blank strings count as absent), INVALID_ARGUMENT when both
 * `primary` and `primaryFile` are given, KEY_DUPLICATE when a key appears twice,
 * and the providers' errors for a bad key or key file (a bad previous key is
 * named by its position, details.entry). Raw key bytes are zeroed once the
 * keyring holds them.
 */
export async function keyringFromConfig(config: KeyringConfig): Promise<Keyring> {
  // A blank value (an empty environment variable passed through) counts as absent.
  const given = (value: string | undefined) => (value?.trim() ? value : undefined);
  const primary = given(config.primary);
  const primaryFile = given(config.primaryFile);
  const primaryUri = given(config.primaryUri);
  const sources = [primary, primaryFile, primaryUri].filter((v) => v !== undefined).length;
  if (sources > 1) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      'give the primary master key one way: as a value, as a file or as a PKCS#11 URI',
    );
  }
  if (sources === 0) {
    throw new LockboxError('KEY_MISSING', 'no primary master key is configured');
  }
  const raw: Buffer[] = [];
  try {
    if (primaryUri === undefined) {
      raw.push(
        primary !== undefined
          ? parseMasterKey(primary, 'primary master key')
          : await masterKeyFromFile(primaryFile as string),
      );
    }
    raw.push(...parseEach(config.previous ?? [], 'previous master key'));
    for (const path of config.previousFiles ?? []) raw.push(await masterKeyFromFile(path));
    const local: MasterKey[] = raw.map(masterKeyFrom);
    const primaryKey =
      primaryUri === undefined
        ? (local.shift() as MasterKey)
        : await Pkcs11MasterKey.open(primaryUri);
    // Previous keys in the order given: texts, files, then URIs.
    const previous = [...local];
    for (const uri of config.previousUris ?? []) previous.push(await Pkcs11MasterKey.open(uri));
    return new Keyring(primaryKey, previous);
  } finally {
    for (const key of raw) key.fill(0);
  }
}
