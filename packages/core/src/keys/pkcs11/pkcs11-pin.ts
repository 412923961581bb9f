/**
 * The token PIN, read from the URI's pin-source: a private file (0600, as key
 * files are; a trailing newline is dropped) or an environment variable. The PIN
 * is never put in a message; errors name the file or the variable.
 */
import { LockboxError } from '../../errors.js';
import { readSecretFile } from '../key-file.js';
import type { PinSource } from './pkcs11-uri.js';

export async function readPin(
  source: PinSource | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<string | undefined> {
  if (source === undefined) return undefined;
  if (source.kind === 'env') {
    const value = env[source.variable];
    if (value === undefined || value.trim() === '') {
      throw new LockboxError('PKCS11_PIN_MISSING', `no PIN: ${source.variable} is not set`, {
        details: { variable: source.variable },
      });
    }
    return value.replace(/\r?\n$/, '');
  }
  const bytes = await readSecretFile(source.path);
  try {
    const pin = bytes.toString('utf8').replace(/\r?\n$/, '');
    if (pin === '') {
      throw new LockboxError('PKCS11_PIN_MISSING', `no PIN: ${source.path} is empty`, {
        details: { path: source.path },
      });
    }
    return pin;
  } finally {
    bytes.fill(0);
  }
}
