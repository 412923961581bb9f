/**
 * The hot secret reads on SQLite run on the connection directly, skipping
 * Kysely (store/secret-rows.ts selectNow). They must return exactly what the
 * Kysely path returns, and must never run inside a transaction another caller
 * holds open on the connection: there they would see its uncommitted writes.
 */
import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { readSecretRow, readSecretValue } from '../../src/store/secret-rows.js';

let database: TestDatabase | undefined;
let lockbox: Lockbox | undefined;

afterEach(async () => {
  await lockbox?.close();
  await database?.drop();
  lockbox = undefined;
  database = undefined;
});

async function sqliteLockbox(): Promise<Lockbox> {
  database = await freshDatabase('sqlite');
  lockbox = await open(database, generateMasterKey());
  return lockbox;
}

describe('the direct SQLite read of a secret row', () => {
  it('returns the same rows as the read through Kysely', async () => {
    const l = await sqliteLockbox();
    await l.secrets.set('prod', 'TEXT', 'v1', { metadata: { owner: 'ops', n: 3 } });
    await l.secrets.set('prod', 'TEXT', 'v2');
    await l.secrets.set('prod', 'BYTES', Buffer.from([0, 1, 255]));
    const { db, sqliteConnection } = l.vault.store;
    expect(sqliteConnection?.()).toBeDefined();
    for (const name of ['TEXT', 'BYTES', 'MISSING']) {
      const viaKysely = await readSecretRow(db, 'prod', name);
      expect(await readSecretRow(db, 'prod', name, sqliteConnection)).toStrictEqual(viaKysely);
      expect(await readSecretValue(db, 'prod', name, sqliteConnection)).toStrictEqual(
        await readSecretValue(db, 'prod', name),
      );
      if (name === 'MISSING') expect(viaKysely).toBeUndefined();
      else expect(viaKysely?.version).toBe(name === 'TEXT' ? 2 : 1);
    }
  });

  it('waits for a transaction open on the connection instead of reading its uncommitted writes', async () => {
    const l = await sqliteLockbox();
    await l.secrets.set('prod', 'API_KEY', 'v1');
    let deleted!: () => void;
    const rowGone = new Promise<void>((resolve) => {
      deleted = resolve;
    });
    let rollBack!: () => void;
    const released = new Promise<void>((resolve) => {
      rollBack = resolve;
    });
    const transaction = l.vault.store.db
      .transaction()
      .execute(async (trx) => {
        await trx.deleteFrom('lockbox_secrets').where('name', '=', 'API_KEY').execute();
        deleted();
        await released;
        throw new Error('rolled back on purpose');
      })
      .catch((err: Error) => err.message);
    await rowGone;
    // Inside the open transaction the row is gone; a read that saw that would say SECRET_NOT_FOUND.
    const reads = [l.secrets.get('prod', 'API_KEY'), l.secrets.read('prod', 'API_KEY')];
    rollBack();
    expect(await transaction).toBe('rolled back on purpose');
    const [value, record] = await Promise.all(reads);
    expect(value).toBe('v1');
    expect(record).toMatchObject({ value: 'v1', version: 1 });
  });
});
