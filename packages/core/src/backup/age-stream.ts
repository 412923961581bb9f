/**
 * age encryption of bundles and snapshots, as streams (age-encryption's
 * Encrypter/Decrypter over web streams): plaintext goes in and comes out in
 * 64 KiB STREAM chunks and is never collected whole, so memory does not grow
 * with the size of a bundle.
 *
 * What age guarantees and what this module adds:
 * - Every 64 KiB chunk is authenticated before its plaintext is released, and the
 *   last chunk is marked, so a flipped byte or a truncated file fails — but only
 *   when the reader reaches the damaged chunk. Callers must therefore treat what
 *   they read as provisional until the stream ends cleanly (import writes inside
 *   one transaction and commits only then).
 * - Errors are mapped to stable codes and never carry age's own messages:
 *   BUNDLE_MALFORMED (not an age file at all), BUNDLE_DECRYPT_FAILED (not for this
 *   identity or passphrase, or damaged), BUNDLE_TOO_LARGE (over `maxBytes`).
 *
 * Only X25519 recipients and passphrases are offered: the stock `age` 1.1.1 in
 * common distributions cannot read the post-quantum hybrid types.
 *
 * Bounded work for hostile files: a header with more than MAX_HEADER_STANZAS
 * stanzas (each costs every identity an X25519 operation) or an scrypt work
 * factor above MAX_SCRYPT_WORK_FACTOR is refused with BUNDLE_TOO_EXPENSIVE
 * before any of that work; scrypt runs on libuv's worker threads (age-scrypt.ts).
 */
import { Decrypter, Encrypter, type Stanza } from 'age-encryption';
import { LockboxError } from '../errors.js';
import { parseAgeIdentity, parseAgeRecipient } from '../keys/age-identity.js';
import {
  MAX_SCRYPT_WORK_FACTOR,
  NodeScryptIdentity,
  NodeScryptRecipient,
  tooExpensive,
} from './age-scrypt.js';

/** Encrypt to one or more age X25519 recipients (`age1…`), or to a passphrase (scrypt). */
export type AgeEncryption =
  | { recipients: readonly string[] }
  | {
      passphrase: string;
      /** log2 of scrypt's N; default and maximum 18 (age's default). Lower only for tests. */
      scryptWorkFactor?: number;
    };

/** Decrypt with age identities (`AGE-SECRET-KEY-1…` lines or identity files' text), or a passphrase. */
export type AgeDecryption = { identities: readonly string[] } | { passphrase: string };

/** Bytes to read: a web stream, any async iterable of chunks (a Node stream), or a buffer. */
export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Uint8Array;

/** The first line of every binary age file. */
export const AGE_MAGIC = new TextEncoder().encode('age-encryption.org/v1\n');
const MIN_SCRYPT_WORK_FACTOR = 1;
const DEFAULT_SCRYPT_WORK_FACTOR = 18;
/**
 * Stanzas an age header may carry: Lockbox writes at most one per recipient
 * (the API takes at most 20); 64 leaves room for files made by other tools.
 */
export const MAX_HEADER_STANZAS = 64;
/** A header of MAX_HEADER_STANZAS X25519 stanzas is about 6 KiB; anything far longer is refused. */
export const MAX_HEADER_BYTES = 64 * 1024;
const STANZA_START = Buffer.from('\n-> ');
const HEADER_END = Buffer.from('\n---');

/**
 * Counts the header's stanzas before age parses it (parsing 20,000 stanzas alone
 * takes a second), and refuses a header over MAX_HEADER_STANZAS stanzas or
 * MAX_HEADER_BYTES bytes. Returns a stream that still yields everything.
 */
async function boundHeader(
  source: ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  const reader = source.getReader();
  let seen = Buffer.alloc(0);
  let done = false;
  for (;;) {
    const end = seen.indexOf(HEADER_END);
    const header = end === -1 ? seen : seen.subarray(0, end);
    let stanzas = 0;
    for (
      let at = header.indexOf(STANZA_START);
      at !== -1;
      at = header.indexOf(STANZA_START, at + 1)
    ) {
      stanzas += 1;
    }
    if (stanzas > MAX_HEADER_STANZAS) {
      await reader.cancel().catch(() => undefined);
      throw tooExpensive(`has more than ${MAX_HEADER_STANZAS} recipient stanzas`);
    }
    if (end !== -1) break;
    if (seen.length > MAX_HEADER_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooExpensive(`is longer than ${MAX_HEADER_BYTES} bytes`);
    }
    const result = await reader.read();
    if (result.done) {
      done = true;
      break;
    }
    seen = Buffer.concat([seen, result.value]);
  }
  return replayThenContinue(seen, done, reader);
}

function decryptFailed(message: string, cause?: unknown): LockboxError {
  return new LockboxError('BUNDLE_DECRYPT_FAILED', message, cause === undefined ? {} : { cause });
}

/** A configured Encrypter. Throws RECIPIENT_INVALID or INVALID_ARGUMENT before any work starts. */
export function ageEncrypter(encryption: AgeEncryption): Encrypter {
  const encrypter = new Encrypter();
  if ('recipients' in encryption) {
    if (encryption.recipients.length === 0) {
      throw new LockboxError('INVALID_ARGUMENT', 'give at least one age recipient or a passphrase');
    }
    for (const recipient of encryption.recipients) {
      encrypter.addRecipient(parseAgeRecipient(recipient));
    }
    return encrypter;
  }
  if (typeof encryption.passphrase !== 'string' || encryption.passphrase.length === 0) {
    throw new LockboxError('INVALID_ARGUMENT', 'the passphrase is empty');
  }
  const workFactor = encryption.scryptWorkFactor ?? DEFAULT_SCRYPT_WORK_FACTOR;
  if (
    !Number.isInteger(workFactor) ||
    workFactor < MIN_SCRYPT_WORK_FACTOR ||
    workFactor > MAX_SCRYPT_WORK_FACTOR
  ) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `the scrypt work factor must be an integer from ${MIN_SCRYPT_WORK_FACTOR} to ${MAX_SCRYPT_WORK_FACTOR}`,
    );
  }
  // A recipient object, not setPassphrase: scrypt then runs natively off the event loop.
  encrypter.addRecipient(new NodeScryptRecipient(encryption.passphrase, workFactor));
  return encrypter;
}

/** Encrypts `plain` as a binary age file, chunk by chunk. */
export async function encryptStream(
  plain: ReadableStream<Uint8Array>,
  encryption: AgeEncryption | Encrypter,
): Promise<ReadableStream<Uint8Array>> {
  const encrypter = encryption instanceof Encrypter ? encryption : ageEncrypter(encryption);
  return encrypter.encrypt(plain);
}

export function toReadableStream(source: ByteSource): ReadableStream<Uint8Array> {
  if (source instanceof ReadableStream) return source;
  if (source instanceof Uint8Array) {
    return new ReadableStream({
      start(controller) {
        controller.enqueue(source);
        controller.close();
      },
    });
  }
  return ReadableStream.from(source);
}

/** Passes bytes through, failing with BUNDLE_TOO_LARGE once more than `maxBytes` went by. */
export function byteLimit(
  maxBytes: number,
  onBytes?: (total: number) => void,
): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new LockboxError(
          'BUNDLE_TOO_LARGE',
          `the file is larger than the limit of ${maxBytes} bytes`,
          { details: { limit: maxBytes } },
        );
      }
      onBytes?.(total);
      controller.enqueue(chunk);
    },
  });
}

/**
 * The first bytes of `stream` (at least `n` unless it is shorter) and a stream
 * that still yields everything from the start.
 */
export async function peekBytes(
  stream: ReadableStream<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const result = await reader.read();
    if (result.done) {
      done = true;
      break;
    }
    chunks.push(result.value);
    length += result.value.length;
  }
  const head = Buffer.concat(chunks);
  const rest = replayThenContinue(head, done, reader);
  return { head, stream: rest };
}

const ARMOR_BEGIN = new TextEncoder().encode('-----BEGIN AGE ENCRYPTED FILE-----');

/**
 * Refuses ASCII-armored age (`age -a`) with a message that says so: bundles and
 * snapshots are read as streams, and armor would have to be decoded whole.
 */
export function refuseArmor(head: Uint8Array): void {
  if (head.length >= ARMOR_BEGIN.length && ARMOR_BEGIN.every((byte, i) => head[i] === byte)) {
    throw new LockboxError(
      'BUNDLE_MALFORMED',
      'the file is ASCII-armored age (age -a); bundles are binary age files: decrypt it with age -d and re-encrypt without -a',
    );
  }
}

/** True when `head` starts like a binary age file. */
export function looksLikeAge(head: Uint8Array): boolean {
  if (head.length < AGE_MAGIC.length) return false;
  return AGE_MAGIC.every((byte, i) => head[i] === byte);
}

/**
 * Reads `stream` to the end, mapping failures that are not already a
 * LockboxError (age's chunk authentication, a truncated file) to
 * BUNDLE_DECRYPT_FAILED. Cancels the stream when the consumer stops early.
 */
export async function* readDecrypted(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      let result: Awaited<ReturnType<typeof reader.read>>;
      try {
        result = await reader.read();
      } catch (err) {
        finished = true;
        if (err instanceof LockboxError) throw err;
        throw decryptFailed(
          'the encrypted file failed to authenticate: it is truncated or was modified',
          err,
        );
      }
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * Opens a binary age file for reading. Resolves once the header is verified
 * (so a wrong identity or passphrase fails here, before any plaintext), with the
 * plaintext chunks to read; see readDecrypted for errors while reading.
 *
 * Throws RECOVERY_IDENTITY_INVALID for a malformed identity, BUNDLE_MALFORMED
 * when `source` is not an age file, BUNDLE_DECRYPT_FAILED when it is not
 * encrypted to these identities (or passphrase) or its header was modified, and
 * BUNDLE_TOO_LARGE when it exceeds `maxBytes`, BUNDLE_TOO_EXPENSIVE when its
 * header asks for more work than Lockbox allows (see above).
 */
export async function decryptStream(
  source: ReadableStream<Uint8Array>,
  decryption: AgeDecryption,
): Promise<AsyncGenerator<Uint8Array>> {
  const decrypter = new Decrypter();
  // Probes around the real identities tell the failures apart without reading
  // age's error strings: `reached` — the header parsed; `fellThrough` — none of
  // ours found a stanza it could open.
  let reached = false;
  let fellThrough = false;
  decrypter.addIdentity({
    unwrapFileKey: (stanzas: Stanza[]) => {
      reached = true;
      if (stanzas.length > MAX_HEADER_STANZAS) {
        throw tooExpensive(
          `has ${stanzas.length} recipient stanzas (at most ${MAX_HEADER_STANZAS} are accepted)`,
        );
      }
      return null;
    },
  });
  if ('identities' in decryption) {
    if (decryption.identities.length === 0) {
      throw new LockboxError('INVALID_ARGUMENT', 'give an age identity or a passphrase');
    }
    for (const text of decryption.identities) {
      decrypter.addIdentity((await parseAgeIdentity(text)).identity);
    }
  } else {
    if (typeof decryption.passphrase !== 'string' || decryption.passphrase.length === 0) {
      throw new LockboxError('INVALID_ARGUMENT', 'the passphrase is empty');
    }
    decrypter.addIdentity(new NodeScryptIdentity(decryption.passphrase));
  }
  decrypter.addIdentity({
    unwrapFileKey: () => {
      fellThrough = true;
      return null;
    },
  });
  const bounded = await boundHeader(source);
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await decrypter.decrypt(bounded);
  } catch (err) {
    if (err instanceof LockboxError) throw err;
    if (!reached) {
      throw new LockboxError(
        'BUNDLE_MALFORMED',
        'the file is not an age-encrypted file (or its header is damaged)',
      );
    }
    if (fellThrough) {
      throw decryptFailed(
        'the file is not encrypted to the given identity or passphrase (or its header was modified)',
      );
    }
    throw decryptFailed(
      "the file's age header failed to authenticate, is truncated, or uses unsupported parameters",
    );
  }
  return readDecrypted(plain);
}

/**
 * A stream that yields `prefix` (bytes already read from `reader` to look at
 * them) and then whatever `reader` still holds; `done` says the reader already
 * ended. Cancelling it cancels the reader.
 */
function replayThenContinue(
  prefix: Uint8Array,
  done: boolean,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (prefix.length > 0) controller.enqueue(prefix);
      if (done) controller.close();
    },
    async pull(controller) {
      const result = await reader.read();
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
