import {
  generateAgeIdentity,
  generateMasterKey,
  type Lockbox,
  type RotationProgress,
} from '@lockbox/core';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { expectAllReadable, type Seeded, secretKey, seed } from './store-fixture.js';

describe.each(DIALECTS)('master-key rotation on %s', (dialect) => {
  let database: TestDatabase;
  const opened: Lockbox[] = [];

  async function openWith(primary: Buffer, previous: Buffer[] = []): Promise<Lockbox> {
    const lockbox = await open(database, primary, previous);
    opened.push(lockbox);
    return lockbox;
  }

  async function seeded(): Promise<Seeded> {
    database = await freshDatabase(dialect);
    return seed(database, { scopes: 12, perScope: 3, rows: 10 });
  }

  afterEach(async () => {
    for (const lockbox of opened.splice(0)) await lockbox.close();
    await database?.drop();
  });

  it.each(['online', 'atomic'] as const)(
    'rewraps every data key in %s mode; afterwards the new key alone opens everything',
    async (mode) => {
      const data = await seeded();
      const lockbox = await openWith(data.key);
      // 12 tenant scopes + the field's scope + the integrity key (the audit key
      // appears with the first audit entry).
      const dataKeys = (await lockbox.status()).totals.dataKeys;
      expect(dataKeys).toBe(14);
      const newKey = generateMasterKey();
      const events: RotationProgress[] = [];
      const result = await lockbox.rotation.rotateMaster({
        oldKey: data.key,
        newKey,
        mode,
        batchSize: 5,
        onProgress: (e) => events.push(e),
      });
      expect(result).toMatchObject({
        kind: 'master',
        mode,
        dryRun: false,
        resumed: false,
        dataKeys: { planned: dataKeys, rewrapped: dataKeys, remaining: 0 },
        oldKeyRetired: true,
      });
      expect(events.at(-1)).toEqual({ phase: 'rewrap', done: dataKeys, total: dataKeys });
      // The running instance switched keyrings and keeps working.
      expect(lockbox.vault.keyring.primary.fingerprint).toBe(result.to);
      await lockbox.secrets.set('tenant:new', 'k', 'v');
      data.secrets.set(secretKey('tenant:new', 'k'), 'v');
      await lockbox.close();
      const after = await openWith(newKey);
      await expectAllReadable(after, data);
      const census = await after.rotation.census();
      expect(census.masterKeys.find((k) => k.fingerprint === result.from)).toMatchObject({
        recorded: 'retired',
        dataKeys: 0,
        needed: false,
      });
    },
  );

  it('chooses atomic for small stores by itself and says so', async () => {
    const data = await seeded();
    const lockbox = await openWith(data.key);
    const result = await lockbox.rotation.rotateMaster({
      oldKey: data.key.toString('base64'),
      newKey: generateMasterKey().toString('hex'),
    });
    expect(result.mode).toBe('atomic');
    expect(result.modeReason).toMatch(/^atomic: \d+ data keys \(≤ 50,000/);
  });

  it('leaves the recovery wrap of every data key untouched', async () => {
    const data = await seeded();
    const lockbox = await openWith(data.key);
    const { recipient } = await generateAgeIdentity();
    await lockbox.recovery.add(recipient);
    const before = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select(['id', 'wrapped', 'wrapped_recovery'])
      .orderBy('id')
      .execute();
    expect(before.every((r) => r.wrapped_recovery !== null)).toBe(true);
    await lockbox.rotation.rotateMaster({ oldKey: data.key, newKey: generateMasterKey() });
    const after = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select(['id', 'wrapped', 'wrapped_recovery'])
      .orderBy('id')
      .execute();
    expect(after.map((r) => [r.id, r.wrapped_recovery])).toEqual(
      before.map((r) => [r.id, r.wrapped_recovery]),
    );
    expect(after.every((r, i) => r.wrapped !== before[i]?.wrapped)).toBe(true);
  });

  it('dry run proves and counts but writes nothing', async () => {
    const data = await seeded();
    const lockbox = await openWith(data.key);
    const before = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select(['id', 'wrapped'])
      .orderBy('id')
      .execute();
    const result = await lockbox.rotation.rotateMaster({
      oldKey: data.key,
      newKey: generateMasterKey(),
      dryRun: true,
    });
    expect(result).toMatchObject({ dryRun: true, jobId: null, oldKeyRetired: false });
    expect(result.dataKeys.planned).toBe(before.length);
    expect(
      await lockbox.vault.store.db
        .selectFrom('lockbox_data_keys')
        .select(['id', 'wrapped'])
        .orderBy('id')
        .execute(),
    ).toEqual(before);
    expect(await lockbox.rotation.status()).toMatchObject({ unfinished: null, recent: [] });
  });

  it('continues an interrupted rotation when rerun with the same keys, and refuses a different one', async () => {
    const data = await seeded();
    const lockbox = await openWith(data.key);
    const newKey = generateMasterKey();
    let calls = 0;
    await expect(
      lockbox.rotation.rotateMaster({
        oldKey: data.key,
        newKey,
        mode: 'online',
        batchSize: 4,
        onProgress: () => {
          calls += 1;
          if (calls === 3) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const status = await lockbox.rotation.status();
    expect(status.unfinished).toMatchObject({ kind: 'master', state: 'running', mode: 'online' });
    expect(status.unfinished?.error).toMatch(/^INTERNAL/);
    expect(status.unfinished?.errorCode).toBe('INTERNAL');
    expect(status.lock).toBeNull();
    // Mid-rotation, a keyring holding both keys opens everything.
    const both = await openWith(newKey, [data.key]);
    await expectAllReadable(both, data);
    const refused = lockbox.rotation.rotateMaster({
      oldKey: data.key,
      newKey: generateMasterKey(),
    });
    await expect(refused).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
    await expect(refused).rejects.toThrow(/stopped by INTERNAL\)/);
    const resumed = await lockbox.rotation.resume({ requestId: 'req-resume-1' });
    expect(resumed).toMatchObject({ kind: 'master', resumed: true, mode: 'online' });
    // resume passes the request id on to the audit entry of the rotation it finishes.
    expect(
      await lockbox.audit.list({ action: 'key.rotate.master', order: 'desc', limit: 1 }),
    ).toMatchObject([{ outcome: 'ok', requestId: 'req-resume-1' }]);
    if (resumed.kind !== 'master') throw new Error('expected a master rotation');
    expect(resumed.dataKeys.rewrapped).toBe(resumed.dataKeys.planned);
    await expect(lockbox.rotation.resume()).rejects.toMatchObject({ code: 'ROTATION_NOT_FOUND' });
  });

  it('refuses to drop a key that data still needs, and allows it once rotated away', async () => {
    const data = await seeded();
    const oldKey = generateMasterKey();
    const lockbox = await openWith(data.key, [oldKey]);
    const primary = lockbox.vault.keyring.primary.fingerprint;
    const previous = lockbox.vault.keyring.previous[0]!.fingerprint;
    await expect(lockbox.rotation.assertKeyDroppable(primary)).rejects.toMatchObject({
      code: 'KEY_STILL_NEEDED',
    });
    await expect(lockbox.rotation.assertKeyDroppable(previous)).resolves.toBeUndefined();
    const newKey = generateMasterKey();
    await lockbox.rotation.rotateMaster({ oldKey: data.key, newKey });
    // Now data.key is previous and needed by nothing.
    await expect(lockbox.rotation.assertKeyDroppable(primary)).resolves.toBeUndefined();
    const census = await lockbox.rotation.census();
    expect(census.droppable.sort()).toEqual([primary, previous].sort());
    // The new primary holds every data key now: dropping it must be refused.
    await expect(lockbox.rotation.assertKeyDroppable(census.primary)).rejects.toMatchObject({
      code: 'KEY_STILL_NEEDED',
    });
  });
});
