/**
 * store/data-key-state-rows.ts rewrapDataKeysIfUnchanged on both dialects (a
 * master rotation's batch): a key still holding the wrapping read gets the new
 * one, a key changed meanwhile is left alone and not counted, and a rolled-back
 * batch changes nothing.
 */
import { DIALECTS, storesOfTest } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { dataKeyById } from '../../src/store/data-key-rows.js';
import { rewrapDataKeysIfUnchanged } from '../../src/store/data-key-state-rows.js';

const stores = storesOfTest();
afterEach(stores.closeAll);

describe.each(DIALECTS)('data-key rewrap on %s', (dialect) => {
  async function twoKeys() {
    const { lockbox } = await stores.store(dialect);
    const db = lockbox.vault.store.db;
    await lockbox.secrets.set('alpha', 'A', 'a');
    await lockbox.secrets.set('beta', 'B', 'b');
    const ids = await db
      .selectFrom('lockbox_data_keys')
      .select(['id', 'wrapped'])
      .where('scope', 'in', ['alpha', 'beta'])
      .orderBy('scope')
      .execute();
    return {
      db,
      alpha: ids[0] as { id: string; wrapped: string },
      beta: ids[1] as { id: string; wrapped: string },
    };
  }

  it('rewraps the unchanged key and leaves the changed one alone', async () => {
    const { db, alpha, beta } = await twoKeys();
    const at = '2026-06-01T00:00:00.000Z';
    const count = await rewrapDataKeysIfUnchanged(
      db,
      dialect,
      [
        { id: alpha.id, expected: alpha.wrapped, wrapped: 'new-alpha', masterFingerprint: 'ff01' },
        {
          id: beta.id,
          expected: 'not-what-it-holds',
          wrapped: 'new-beta',
          masterFingerprint: 'ff01',
        },
      ],
      at,
    );
    expect(count).toBe(1);
    expect((await dataKeyById(db, alpha.id))?.wrapped).toBe('new-alpha');
    expect((await dataKeyById(db, beta.id))?.wrapped).toBe(beta.wrapped);
    const row = await db
      .selectFrom('lockbox_data_keys')
      .select(['master_fingerprint', 'updated_at'])
      .where('id', '=', alpha.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ master_fingerprint: 'ff01', updated_at: at });
  });

  it('an empty batch does nothing, and a rolled-back batch changes nothing', async () => {
    const { db, alpha } = await twoKeys();
    expect(await rewrapDataKeysIfUnchanged(db, dialect, [], '2026-06-01T00:00:00.000Z')).toBe(0);
    await expect(
      db.transaction().execute(async (trx) => {
        const rewrap = {
          id: alpha.id,
          expected: alpha.wrapped,
          wrapped: 'x',
          masterFingerprint: 'ff01',
        };
        expect(await rewrapDataKeysIfUnchanged(trx, dialect, [rewrap], 'now')).toBe(1);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await dataKeyById(db, alpha.id))?.wrapped).toBe(alpha.wrapped);
  });
});
