/**
 * Hand-built age files whose headers demand unbounded work, as an attacker
 * uploads them (no valid MAC is needed: the work happens before the MAC check).
 */
import { randomBytes } from 'node:crypto';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

function ageFile(stanzas: string[]): Buffer {
  const header = `age-encryption.org/v1\n${stanzas.join('')}--- ${b64(randomBytes(32))}\n`;
  return Buffer.concat([Buffer.from(header), randomBytes(16), randomBytes(32)]);
}

/** A passphrase file (about 220 bytes) asking for scrypt with N = 2^logN. */
export function scryptBundle(logN: number): Buffer {
  return ageFile([`-> scrypt ${b64(randomBytes(16))} ${logN}\n${b64(randomBytes(32))}\n`]);
}

/** A file with `count` X25519 recipient stanzas, none of them for anyone. */
export function stanzaBundle(count: number): Buffer {
  const stanza = () => `-> X25519 ${b64(randomBytes(32))}\n${b64(randomBytes(32))}\n`;
  return ageFile(Array.from({ length: count }, stanza));
}
