/**
 * store/token-rows.ts on both dialects: what tokens/tokens.ts relies on (the
 * insert that never overwrites an id, revoking once, the minute-stale touch,
 * the two orders of reading) and that a rolled-back transaction leaves nothing.
 */
import { DIALECTS, storesOfTest } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenTable } from '../../src/store/schema.js';
import {
  allTokens,
  insertTokenIfAbsent,
  markTokenRevoked,
  setTokenMac,
  tokenById,
  touchToken,
  unrevokedTokenIds,
} from '../../src/store/token-rows.js';

function token(id: string, createdAt: string): TokenTable {
  return {
    id,
    name: `name-${id}`,
    hash: `hash-${id}`,
    permissions: '["read:*"]',
    created_at: createdAt,
    created_by: null,
    last_used_at: null,
    revoked_at: null,
    mac: `mac-${id}`,
  };
}

const stores = storesOfTest();
afterEach(stores.closeAll);

describe.each(DIALECTS)('lockbox_tokens rows on %s', (dialect) => {
  it('inserts an id once and never overwrites it', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    expect(await insertTokenIfAbsent(db, token('t1', '2026-01-01T00:00:00.000Z'))).toBe(true);
    const again = { ...token('t1', '2026-01-02T00:00:00.000Z'), hash: 'other' };
    expect(await insertTokenIfAbsent(db, again)).toBe(false);
    expect(await tokenById(db, 't1')).toEqual(token('t1', '2026-01-01T00:00:00.000Z'));
    expect(await tokenById(db, 'absent')).toBeUndefined();
  });

  it('lists oldest first or by id', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    await insertTokenIfAbsent(db, token('b', '2026-01-01T00:00:00.000Z'));
    await insertTokenIfAbsent(db, token('a', '2026-01-03T00:00:00.000Z'));
    await insertTokenIfAbsent(db, token('c', '2026-01-01T00:00:00.000Z'));
    expect((await allTokens(db, 'created')).map((t) => t.id)).toEqual(['b', 'c', 'a']);
    expect((await allTokens(db, 'id')).map((t) => t.id)).toEqual(['a', 'b', 'c']);
  });

  it('revokes once: a second revoke changes neither the time nor the MAC', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    await insertTokenIfAbsent(db, token('t1', '2026-01-01T00:00:00.000Z'));
    await insertTokenIfAbsent(db, token('t2', '2026-01-01T00:00:00.000Z'));
    await markTokenRevoked(db, 't1', '2026-02-01T00:00:00.000Z', 'mac-revoked');
    await markTokenRevoked(db, 't1', '2026-03-01T00:00:00.000Z', 'mac-later');
    expect(await tokenById(db, 't1')).toMatchObject({
      revoked_at: '2026-02-01T00:00:00.000Z',
      mac: 'mac-revoked',
    });
    // No MAC given (the row failed its check): the old one stays.
    await markTokenRevoked(db, 't2', '2026-02-01T00:00:00.000Z', undefined);
    expect(await tokenById(db, 't2')).toMatchObject({ mac: 'mac-t2' });
    expect(await unrevokedTokenIds(db)).toEqual([]);
  });

  it('touches last_used_at only when it is older than the stale bound', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    await insertTokenIfAbsent(db, token('t1', '2026-01-01T00:00:00.000Z'));
    await touchToken(db, 't1', '2026-01-01T00:10:00.000Z', '2026-01-01T00:09:00.000Z');
    expect((await tokenById(db, 't1'))?.last_used_at).toBe('2026-01-01T00:10:00.000Z');
    // Another instance touched it within the minute: left as it is.
    await touchToken(db, 't1', '2026-01-01T00:10:30.000Z', '2026-01-01T00:09:30.000Z');
    expect((await tokenById(db, 't1'))?.last_used_at).toBe('2026-01-01T00:10:00.000Z');
    await touchToken(db, 't1', '2026-01-01T00:12:00.000Z', '2026-01-01T00:11:00.000Z');
    expect((await tokenById(db, 't1'))?.last_used_at).toBe('2026-01-01T00:12:00.000Z');
  });

  it('sets a MAC, and a rolled-back transaction leaves nothing', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    await insertTokenIfAbsent(db, token('t1', '2026-01-01T00:00:00.000Z'));
    await setTokenMac(db, 't1', 'restamped');
    expect((await tokenById(db, 't1'))?.mac).toBe('restamped');
    await expect(
      db.transaction().execute(async (trx) => {
        await insertTokenIfAbsent(trx, token('t2', '2026-01-01T00:00:00.000Z'));
        await markTokenRevoked(trx, 't1', '2026-02-01T00:00:00.000Z', 'mac-revoked');
        expect(await unrevokedTokenIds(trx)).toEqual(['t2']);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await unrevokedTokenIds(db)).toEqual(['t1']);
    expect((await tokenById(db, 't1'))?.mac).toBe('restamped');
  });
});
