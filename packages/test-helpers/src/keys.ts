/** Fresh master keys for tests: the key bytes and a keyring whose primary they are. */
import { generateMasterKey, Keyring } from '@lockbox/core';

export function newKeyring(previous: Buffer[] = []): { keyring: Keyring; key: Buffer } {
  const key = generateMasterKey();
  return { keyring: Keyring.fromBytes(key, previous), key };
}
