/**
 * The version a secret's ciphertext binds is the version stored, on every
 * write path: concurrent writers on one secret (each seals for the version it
 * read and lands only if the row is still there), compare-and-swap, and two
 * handles (two instances) writing the same secret at once.
 */

import { generateMasterKey, Keyring, Vault } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('secret versions on %s', (dialect) => {
  let database: TestDatabase;
  const open: Vault[] = [];

  async function vault(keyring: Keyring): Promise<Vault> {
    const v = await Vault.open({ database: database.url, drivers, keyring });
    open.push(v);
    return v;
  }

  afterEach(async () => {
    for (const v of open.splice(0)) await v.close();
    await database?.drop();
  });

  it('lands every concurrent write from two handles, each version once, every row readable', async () => {
    database = await freshDatabase(dialect);
    const keyring = Keyring.fromBytes(generateMasterKey());
    const [a, b] = [await vault(keyring), await vault(keyring)];
    await a.secrets.set('prod', 'shared', 'v0');
    const writes = Array.from({ length: 24 }, (_, i) =>
      (i % 2 === 0 ? a : b).secrets.set('prod', 'shared', `v${i + 1}`),
    );
    const versions = await Promise.all(writes);
    expect([...versions].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 24 }, (_, i) => i + 2),
    );
    const row = await a.store.db
      .selectFrom('lockbox_secrets')
      .select(['version', 'ciphertext'])
      .executeTakeFirstOrThrow();
    expect(Number(row.version)).toBe(25);
    expect(row.ciphertext.startsWith('lb2:')).toBe(true);
    const value = await b.secrets.get('prod', 'shared');
    // The last version's value, whichever writer it was.
    expect(value).toBe(`v${versions.indexOf(25) + 1}`);
  });

  it('compare-and-swap binds the version it writes and refuses a stale one', async () => {
    database = await freshDatabase(dialect);
    const v = await vault(Keyring.fromBytes(generateMasterKey()));
    expect(await v.secrets.set('prod', 'cas', 'one', { ifVersion: 0 })).toBe(1);
    expect(await v.secrets.set('prod', 'cas', 'two', { ifVersion: 1 })).toBe(2);
    await expect(v.secrets.set('prod', 'cas', 'stale', { ifVersion: 1 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    await expect(v.secrets.set('prod', 'cas', 'again', { ifVersion: 0 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    expect(await v.secrets.get('prod', 'cas')).toBe('two');
    expect((await v.secrets.read('prod', 'cas')).version).toBe(2);
  });
});
