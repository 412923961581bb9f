/**
 * Master keys derived from a passphrase with scrypt.
 *
 *   key = scrypt(P = UTF-8(NFC(passphrase)), S = salt, N, r, p, dkLen = 32)
 *
 * The parameters are not secret and must be stored beside the data they protect,
 * as the text `scrypt$<log2 N>$<r>$<p>$<base64url-nopad salt>`; without them
 * the same passphrase derives a different key. The passphrase is NFC-normalised
 * so the same words typed on different systems derive the same key.
 *
 * Stored parameters are untrusted input: parsing bounds every number, including
 * the memory scrypt would need (128·N·r bytes), so a tampered parameter string
 * cannot make an instance allocate gigabytes or spin for hours.
 */
import { randomBytes, scrypt } from 'node:crypto';
import { MASTER_KEY_BYTES } from '../crypto/master-key.js';
import { LockboxError } from '../errors.js';

export interface PassphraseParams {
  /** The scrypt cost; a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
}

export const PASSPHRASE_PARAMS_TAG = 'scrypt';
export const DEFAULT_LOG_N = 17;
export const DEFAULT_R = 8;
export const DEFAULT_P = 1;
export const SALT_BYTES = 16;

/** Inclusive bounds on parameters Lockbox accepts, when parsing and deriving. */
export const PASSPHRASE_BOUNDS = {
  logN: { min: 10, max: 22 },
  r: { min: 1, max: 32 },
  p: { min: 1, max: 16 },
  salt: { min: 16, max: 64 },
  /** 128·N·r, the memory one scrypt call needs: at most 1 GiB. */
  memoryBytes: 1024 ** 3,
} as const;

const DECIMAL = /^[1-9][0-9]{0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function invalid(message: string): LockboxError {
  return new LockboxError('PASSPHRASE_PARAMS_INVALID', `passphrase parameters: ${message}`);
}

function inRange(name: string, value: number, bounds: { min: number; max: number }): void {
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw invalid(`${name} = ${value} is outside ${bounds.min}..${bounds.max}`);
  }
}

/** log2 of N, or PASSPHRASE_PARAMS_INVALID when N is not a power of two. */
function logOf(N: number): number {
  const logN = Math.log2(N);
  if (!Number.isInteger(logN)) throw invalid(`N = ${N} is not a power of two`);
  return logN;
}

/** Throws PASSPHRASE_PARAMS_INVALID unless every parameter is within bounds. */
export function checkPassphraseParams(params: PassphraseParams): void {
  inRange('log2(N)', logOf(params.N), PASSPHRASE_BOUNDS.logN);
  inRange('r', params.r, PASSPHRASE_BOUNDS.r);
  inRange('p', params.p, PASSPHRASE_BOUNDS.p);
  inRange('salt length', params.salt.length, PASSPHRASE_BOUNDS.salt);
  const memory = 128 * params.N * params.r;
  if (memory > PASSPHRASE_BOUNDS.memoryBytes) {
    throw invalid(`128·N·r = ${memory} bytes exceeds ${PASSPHRASE_BOUNDS.memoryBytes}`);
  }
}

/** Fresh parameters: the defaults (N = 2^17, r = 8, p = 1) and a random 16-byte salt. */
export function newPassphraseParams(): PassphraseParams {
  return { N: 2 ** DEFAULT_LOG_N, r: DEFAULT_R, p: DEFAULT_P, salt: randomBytes(SALT_BYTES) };
}

/** The stored form, e.g. `scrypt$17$8$1$<salt>`. Throws on out-of-bounds params. */
export function formatPassphraseParams(params: PassphraseParams): string {
  checkPassphraseParams(params);
  const salt = params.salt.toString('base64url');
  return [PASSPHRASE_PARAMS_TAG, logOf(params.N), params.r, params.p, salt].join('$');
}

/**
 * Parses the stored form strictly: the `scrypt` tag, decimal numbers without
 * leading zeros, canonical unpadded base64url salt, every value within bounds.
 * Anything else is PASSPHRASE_PARAMS_INVALID.
 */
export function parsePassphraseParams(text: string): PassphraseParams {
  const parts = text.trim().split('$');
  if (parts.length !== 5) {
    throw invalid(`expected 5 fields separated by '$', got ${parts.length}`);
  }
  const [tag, logN, r, p, salt] = parts as [string, string, string, string, string];
  if (tag !== PASSPHRASE_PARAMS_TAG) throw invalid('unknown algorithm; expected "scrypt"');
  for (const [name, value] of [
    ['log2(N)', logN],
    ['r', r],
    ['p', p],
  ] as const) {
    if (!DECIMAL.test(value)) throw invalid(`${name} is not a positive decimal number`);
  }
  if (!BASE64URL.test(salt)) throw invalid('the salt is not unpadded base64url');
  const saltBytes = Buffer.from(salt, 'base64url');
  if (saltBytes.toString('base64url') !== salt)
    throw invalid('the salt is not canonical base64url');
  inRange('log2(N)', Number(logN), PASSPHRASE_BOUNDS.logN);
  const params = { N: 2 ** Number(logN), r: Number(r), p: Number(p), salt: saltBytes };
  checkPassphraseParams(params);
  return params;
}

/**
 * Derives a 32-byte master key from a passphrase. Deterministic for the same
 * passphrase and params. Throws INVALID_ARGUMENT for an empty passphrase and
 * PASSPHRASE_PARAMS_INVALID for out-of-bounds params. Runs on libuv's thread
 * pool, so it does not block the event loop.
 */
export async function derivePassphraseKey(
  passphrase: string | Uint8Array,
  params: PassphraseParams,
): Promise<Buffer> {
  checkPassphraseParams(params);
  const secret =
    typeof passphrase === 'string'
      ? Buffer.from(passphrase.normalize('NFC'), 'utf8')
      : Buffer.from(passphrase);
  try {
    if (secret.length === 0) throw new LockboxError('INVALID_ARGUMENT', 'the passphrase is empty');
    const { N, r, p } = params;
    // Node refuses scrypt above maxmem (default 32 MiB); the default params need
    // 128 MiB. Allow what these params need, plus headroom for p's buffers.
    const maxmem = 128 * N * r + 128 * r * p + 1024 * 1024;
    return await new Promise<Buffer>((resolve, reject) => {
      scrypt(secret, params.salt, MASTER_KEY_BYTES, { N, r, p, maxmem }, (err, key) => {
        if (err) reject(new LockboxError('INTERNAL', 'scrypt failed', { cause: err }));
        else resolve(key);
      });
    });
  } finally {
    secret.fill(0);
  }
}
