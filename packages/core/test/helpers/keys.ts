import { generateMasterKey, Keyring } from '../../src/index.js';

export function newKeyring(previous: Buffer[] = []): { keyring: Keyring; key: Buffer } {
  const key = generateMasterKey();
  return { keyring: Keyring.fromBytes(key, previous), key };
}
