/**
 * A write that picked the scope's data key just before a data re-key retired it
 * must not land under that key (which the re-key then destroys): it is
 * re-encrypted under the new key and stays readable. The same for a write that
 * starts from the key its handle last wrote with (a write hint), which a re-key
 * has retired and destroyed since.
 */

import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('a write racing a data re-key on %s', (dialect) => {
  let database: TestDatabase;
  const handles: Lockbox[] = [];

  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.close();
    await database?.drop();
  });

  /** Two handles on a fresh store with one master key: one writes, one re-keys. */
  async function writerAndRotator(): Promise<[Lockbox, Lockbox]> {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const pair: [Lockbox, Lockbox] = [await open(database, key), await open(database, key)];
    handles.push(...pair);
    return pair;
  }

  it.each(['atomic', 'online'] as const)(
    'is re-encrypted under the new key (%s re-key)',
    async (mode) => {
      const [writer, rotator] = await writerAndRotator();
      // Written by the other handle, so the writer has no hint (write-hints.ts) and
      // looks the active key up: the stall below sits between that and its write.
      await rotator.secrets.set('app', 'api-key', 'v1');

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

  it.each(['atomic', 'online'] as const)(
    'starting from the key its handle last wrote with, is re-encrypted under the new key (%s re-key)',
    async (mode) => {
      const [writer, rotator] = await writerAndRotator();
      await writer.secrets.set('app', 'api-key', 'v1');
      const before = await writer.secrets.read('app', 'api-key');
      const rekey = await rotator.rotation.rekeyData({ mode });
      expect(rekey.dataKeys.destroyed).toBeGreaterThan(0);
      // The writer's hint names the destroyed key; its guarded write lands nowhere
      // and it seals again under the scope's new key.
      expect(await writer.secrets.set('app', 'api-key', 'v2')).toBe(2);
      const after = await rotator.secrets.read('app', 'api-key');
      expect(after.value).toBe('v2');
      expect(after.dataKeyId).not.toBe(before.dataKeyId);
      const listed = await rotator.secrets.list({ verify: true });
      expect(listed.map((s) => s.status)).toEqual(['ok']);
    },
  );
});
