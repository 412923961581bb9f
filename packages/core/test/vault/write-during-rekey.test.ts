/**
 * A write that picked the scope's data key just before a data re-key retired it
 * must not land under that key (which the re-key then destroys): it is
 * re-encrypted under the new key and stays readable.
 */

import { generateMasterKey, Keyring, type Lockbox, openLockbox } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('a write racing a data re-key on %s', (dialect) => {
  let database: TestDatabase;
  const handles: Lockbox[] = [];

  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.close();
    await database?.drop();
  });

  it.each(['atomic', 'online'] as const)(
    'is re-encrypted under the new key (%s re-key)',
    async (mode) => {
      database = await freshDatabase(dialect);
      const key = generateMasterKey();
      const writer = await openLockbox({
        database: database.url,
        drivers,
        keyring: Keyring.fromBytes(key),
      });
      const rotator = await openLockbox({
        database: database.url,
        drivers,
        keyring: Keyring.fromBytes(key),
      });
      handles.push(writer, rotator);
      await writer.secrets.set('app', 'api-key', 'v1');

      // Stall the writer between "which data key is active?" and its write.
      const dataKeys = writer.vault.dataKeys;
      const lookUp = dataKeys.activeFor.bind(dataKeys);
      let picked!: () => void;
      let release!: () => void;
      const pickedKey = new Promise<void>((resolve) => {
        picked = resolve;
      });
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      dataKeys.activeFor = async (scope, db) => {
        const active = await lookUp(scope, db);
        picked();
        await gate;
        return active;
      };

      const write = writer.secrets.set('app', 'api-key', 'v2');
      await pickedKey;
      const rekey = await rotator.rotation.rekeyData({ mode });
      expect(rekey.dataKeys.destroyed).toBeGreaterThan(0);
      release();
      expect(await write).toBe(2);
      expect(await rotator.secrets.get('app', 'api-key')).toBe('v2');
      const listed = await rotator.secrets.list({ verify: true });
      expect(listed.map((s) => s.status)).toEqual(['ok']);
    },
  );
});
