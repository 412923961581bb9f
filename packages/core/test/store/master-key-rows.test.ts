/**
 * store/master-key-rows.ts on both dialects: what vault/master-key-records.ts,
 * the key checks and recovery rely on (the upsert keeps created_at, the active
 * fingerprints, the row lock changes nothing) and that a rolled-back
 * transaction leaves nothing. A store records its own master key when created.
 */
import { DIALECTS, storesOfTest } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import {
  activeMasterKeyFingerprints,
  allMasterKeyRows,
  lockMasterKeyRow,
  masterKeyRow,
  setMasterKeyMac,
  upsertMasterKeyRow,
} from '../../src/store/master-key-rows.js';

const stores = storesOfTest();
afterEach(stores.closeAll);

describe.each(DIALECTS)('lockbox_master_keys rows on %s', (dialect) => {
  async function store() {
    const { lockbox, keyring } = await stores.store(dialect);
    return { db: lockbox.vault.store.db, own: keyring.primary.fingerprint };
  }

  it('the store has recorded its own key as active', async () => {
    const { db, own } = await store();
    expect(await activeMasterKeyFingerprints(db)).toEqual([own]);
    expect(await masterKeyRow(db, own)).toMatchObject({ state: 'active', retired_at: null });
  });

  it('the upsert inserts, then replaces state, retired_at and MAC but keeps created_at', async () => {
    const { db, own } = await store();
    const row = {
      fingerprint: '00aa',
      state: 'active' as const,
      created_at: '2026-01-01T00:00:00.000Z',
      retired_at: null,
      mac: 'mac-1',
    };
    await upsertMasterKeyRow(db, row);
    await upsertMasterKeyRow(db, {
      ...row,
      state: 'retired',
      created_at: '2026-06-01T00:00:00.000Z',
      retired_at: '2026-06-01T00:00:00.000Z',
      mac: 'mac-2',
    });
    expect(await masterKeyRow(db, '00aa')).toEqual({
      ...row,
      state: 'retired',
      retired_at: '2026-06-01T00:00:00.000Z',
      mac: 'mac-2',
    });
    expect(await activeMasterKeyFingerprints(db)).toEqual([own]);
    expect((await allMasterKeyRows(db)).map((r) => r.fingerprint)).toEqual(['00aa', own].sort());
  });

  it('the row lock changes nothing; a MAC can be replaced', async () => {
    const { db, own } = await store();
    const before = await masterKeyRow(db, own);
    await db.transaction().execute((trx) => lockMasterKeyRow(trx, own));
    expect(await masterKeyRow(db, own)).toEqual(before);
    await setMasterKeyMac(db, own, 'restamped');
    expect((await masterKeyRow(db, own))?.mac).toBe('restamped');
  });

  it('a rolled-back transaction leaves nothing', async () => {
    const { db, own } = await store();
    const before = await allMasterKeyRows(db);
    await expect(
      db.transaction().execute(async (trx) => {
        await upsertMasterKeyRow(trx, {
          fingerprint: own,
          state: 'retired',
          created_at: '2026-01-01T00:00:00.000Z',
          retired_at: '2026-01-01T00:00:00.000Z',
          mac: 'forged',
        });
        expect(await activeMasterKeyFingerprints(trx)).toEqual([]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await allMasterKeyRows(db)).toEqual(before);
  });
});
