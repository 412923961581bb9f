/** Opening a test database through the library, the one way every test does it. */
import {
  type DialectName,
  generateMasterKey,
  Keyring,
  type Lockbox,
  openLockbox,
} from '@lockbox/core';
import { drivers, freshDatabase, type TestDatabase } from './databases.js';

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

export interface OpenedStore {
  database: TestDatabase;
  lockbox: Lockbox;
  /** The keyring it was opened with (to open a second handle on it). */
  keyring: Keyring;
}

/**
 * Fresh stores a test file opens, closed and dropped together: call `store()`
 * in a test and register `closeAll` once with `afterEach`.
 */
export function storesOfTest(): {
  store(dialect: DialectName, key?: Buffer | Keyring): Promise<OpenedStore>;
  closeAll(): Promise<void>;
} {
  const opened: OpenedStore[] = [];
  return {
    async store(dialect, keys = generateMasterKey()) {
      const keyring = keys instanceof Keyring ? keys : Keyring.fromBytes(keys);
      const database = await freshDatabase(dialect);
      try {
        const lockbox = await open(database, keyring);
        const store = { database, lockbox, keyring };
        opened.push(store);
        return store;
      } catch (err) {
        await database.drop();
        throw err;
      }
    },
    async closeAll() {
      for (const { lockbox, database } of opened.splice(0)) {
        await lockbox.close();
        await database.drop();
      }
    },
  };
}
