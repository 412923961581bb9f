/**
 * The SQLite database and its -wal and -shm files are created 0600 (owner only),
 * even under a umask that would allow everyone to read them: the modes come from
 * Lockbox, not from the driver's 0644 default.
 */
import { existsSync, statSync } from 'node:fs';
import { generateMasterKey, Keyring, openLockbox } from '@lockbox/core';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('SQLite file modes', () => {
  let database: TestDatabase;
  let umask: number;
  beforeEach(async () => {
    umask = process.umask(0o000);
    database = await freshDatabase('sqlite');
  });
  afterEach(async () => {
    process.umask(umask);
    await database.drop();
  });

  it('creates the database, -wal and -shm files 0600, after open and after a write', async () => {
    const file = database.file as string;
    expect(existsSync(file)).toBe(false);
    const lockbox = await openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(generateMasterKey()),
    });
    try {
      expect(mode(file)).toBe(0o600);
      await lockbox.secrets.set('prod', 'db', 'pw');
      for (const path of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(path), path).toBe(true);
        expect(mode(path), path).toBe(0o600);
      }
    } finally {
      await lockbox.close();
    }
  });
});
