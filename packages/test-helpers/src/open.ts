/** Opening a test database through the library, the one way every test does it. */
import { Keyring, type Lockbox, openLockbox } from '@lockbox/core';
import { drivers, type TestDatabase } from './databases.js';

/**
 * Opens `database` with `keys`: a keyring, or a primary key's bytes (plus the
 * previous keys' bytes). `mode` is the library's (default `open-or-create`).
 */
export async function open(
  database: TestDatabase,
  keys: Keyring | Buffer,
  previous: Buffer[] = [],
  mode?: 'open' | 'open-or-create',
): Promise<Lockbox> {
  const keyring = keys instanceof Keyring ? keys : Keyring.fromBytes(keys, previous);
  return openLockbox({ database: database.url, drivers, keyring, ...(mode && { mode }) });
}
