import { connectStore, generateMasterKey, inspectStore, Keyring, Vault } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('inspecting a store without a key on %s', (dialect) => {
  let database: TestDatabase;
  afterEach(async () => {
    await database?.drop();
  });

  async function inspect(url: string) {
    const store = connectStore(url, drivers);
    try {
      return await inspectStore(store);
    } finally {
      await store.close();
    }
  }

  it('says an empty database holds no store, and names the key an initialised one needs', async () => {
    database = await freshDatabase(dialect);
    expect(await inspect(database.url)).toEqual({
      initialised: false,
      schemaVersion: 0,
      neededFingerprints: [],
    });
    const keyring = Keyring.fromBytes(generateMasterKey());
    const vault = await Vault.open({ database: database.url, drivers, keyring, mode: 'create' });
    await vault.secrets.set('app', 'token', 'value');
    await vault.close();
    const seen = await inspect(database.url);
    expect(seen.initialised).toBe(true);
    expect(seen.schemaVersion).toBeGreaterThan(0);
    expect(seen.neededFingerprints).toEqual([keyring.primary.fingerprint]);
  });

  it('still knows a master key whose record was deleted by hand while a data key is wrapped under it', async () => {
    database = await freshDatabase(dialect);
    const keyring = Keyring.fromBytes(generateMasterKey());
    const vault = await Vault.open({ database: database.url, drivers, keyring, mode: 'create' });
    try {
      await vault.secrets.set('app', 'token', 'value');
      const fp = keyring.primary.fingerprint;
      expect(await vault.isMasterKeyKnown(fp)).toBe(true);
      await vault.store.db.deleteFrom('lockbox_master_keys').execute();
      expect(await vault.isMasterKeyKnown(fp)).toBe(true);
      const other = Keyring.fromBytes(generateMasterKey()).primary.fingerprint;
      expect(await vault.isMasterKeyKnown(other)).toBe(false);
    } finally {
      await vault.close();
    }
  });
});
