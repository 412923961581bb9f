/**
 * age's scrypt recipient type (passphrase bundles), computed with node:crypto.
 *
 * Why not age-encryption's own: it runs scrypt in JavaScript on the calling
 * thread (@noble/hashes), so one passphrase bundle blocks the event loop for
 * seconds — at work factor 20, 5.4 s and ~1 GiB for a 222-byte upload — and a
 * server answers nothing meanwhile. node:crypto's asynchronous scrypt runs on
 * libuv's worker threads, natively, so the event loop stays free; the file key
 * is then opened with ChaCha20-Poly1305, as the age spec says.
 *
 * Contracts (the same stanza rules as age, plus Lockbox's work cap):
 * - A header that asks for a work factor above MAX_SCRYPT_WORK_FACTOR is refused
 *   with BUNDLE_TOO_EXPENSIVE before any scrypt work; Lockbox never writes such a
 *   bundle either (age-stream.ts caps encryption at the same value).
 * - A malformed scrypt stanza, or one beside other stanzas, throws a plain Error
 *   (age-stream.ts turns it into BUNDLE_DECRYPT_FAILED); a wrong passphrase
 *   returns null (no identity matched).
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { Stanza } from 'age-encryption';
import { LockboxError } from '../errors.js';

/**
 * log2 of scrypt's N that Lockbox reads and writes at most: 18 is what `age -p`
 * and Lockbox use by default (256 MiB, about a second natively). age's own
 * implementations cap decryption too (typage at 20, Go age at 22 by default).
 */
export const MAX_SCRYPT_WORK_FACTOR = 18;

const LABEL = Buffer.from('age-encryption.org/v1/scrypt');
const SALT_BYTES = 16;
const BASE64_NOPAD = /^[A-Za-z0-9+/]*$/;

function deriveKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      Buffer.concat([LABEL, salt]),
      32,
      { N, r: 8, p: 1, maxmem: 128 * N * 8 + 16 * 1024 * 1024 },
      (err, key) => (err === null ? resolve(key) : reject(err)),
    );
  });
}

/** The zero nonce is safe: each stanza's key is fresh (random salt). */
const NONCE = Buffer.alloc(12);

function sealFileKey(key: Buffer, fileKey: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, NONCE, { authTagLength: 16 });
  return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}

function openFileKey(key: Buffer, body: Uint8Array): Uint8Array | null {
  if (body.length !== 32) throw new Error('invalid scrypt stanza');
  const decipher = createDecipheriv('chacha20-poly1305', key, NONCE, { authTagLength: 16 });
  decipher.setAuthTag(body.subarray(16));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, 16)), decipher.final()]);
  } catch {
    return null;
  }
}

export function tooExpensive(what: string): LockboxError {
  return new LockboxError('BUNDLE_TOO_EXPENSIVE', `the file's age header ${what}; refused unread`);
}

/** Encrypts the file key to a passphrase (for Encrypter.addRecipient). */
export class NodeScryptRecipient {
  readonly #passphrase: string;
  readonly #logN: number;

  constructor(passphrase: string, logN: number) {
    this.#passphrase = passphrase;
    this.#logN = logN;
  }

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const salt = randomBytes(SALT_BYTES);
    const key = await deriveKey(this.#passphrase, salt, this.#logN);
    try {
      const salt64 = salt.toString('base64').replace(/=+$/, '');
      return [new Stanza(['scrypt', salt64, String(this.#logN)], sealFileKey(key, fileKey))];
    } finally {
      key.fill(0);
    }
  }
}

/** Opens a passphrase-encrypted file key (for Decrypter.addIdentity). */
export class NodeScryptIdentity {
  readonly #passphrase: string;

  constructor(passphrase: string) {
    this.#passphrase = passphrase;
  }

  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    for (const stanza of stanzas) {
      if (stanza.args[0] !== 'scrypt') continue;
      if (stanzas.length !== 1) throw new Error('scrypt stanza is not the only one');
      const [, salt64, factor] = stanza.args;
      if (stanza.args.length !== 3 || salt64 === undefined || factor === undefined) {
        throw new Error('invalid scrypt stanza');
      }
      if (!/^[1-9][0-9]*$/.test(factor) || !BASE64_NOPAD.test(salt64)) {
        throw new Error('invalid scrypt stanza');
      }
      const logN = Number(factor);
      if (logN > MAX_SCRYPT_WORK_FACTOR) {
        throw tooExpensive(
          `asks for an scrypt work factor of ${factor} (at most ${MAX_SCRYPT_WORK_FACTOR} is accepted)`,
        );
      }
      const salt = Buffer.from(salt64, 'base64');
      if (salt.length !== SALT_BYTES || salt64.length !== 22) {
        throw new Error('invalid scrypt stanza');
      }
      const key = await deriveKey(this.#passphrase, salt, logN);
      try {
        const fileKey = openFileKey(key, stanza.body);
        if (fileKey !== null) return fileKey;
      } finally {
        key.fill(0);
      }
    }
    return null;
  }
}
