/**
 * store/meta-rows.ts on both dialects: what its callers rely on (the upsert,
 * insert-if-absent deciding which init wins, the compare-and-swap text of the
 * audit fast append, the row lock of the chain lock, and rollback).
 */
import type { DialectName, Lockbox } from '@lockbox/core';
import { DIALECTS, open, storesOfTest } from '@lockbox/test-helpers';
import Database from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deleteMeta,
  getMeta,
  insertMetaIfAbsent,
  lockMetaRow,
  metaRows,
  setMeta,
  swapMetaValueSql,
} from '../../src/store/meta-rows.js';

const stores = storesOfTest();
/** Second handles a test opens on a store, closed before the stores. */
const others: Lockbox[] = [];
afterEach(async () => {
  for (const other of others.splice(0)) await other.close();
  await stores.closeAll();
});

async function storeOf(dialect: DialectName) {
  const { lockbox, database, keyring } = await stores.store(dialect);
  return { db: lockbox.vault.store.db, database, keyring };
}

describe.each(DIALECTS)('lockbox_meta rows on %s', (dialect) => {
  const store = () => storeOf(dialect);

  it('sets, overwrites, reads several and deletes an entry', async () => {
    const { db } = await store();
    expect(await getMeta(db, 'test_entry')).toBeUndefined();
    await setMeta(db, 'test_entry', 'one');
    await setMeta(db, 'test_entry', 'two');
    expect(await getMeta(db, 'test_entry')).toBe('two');
    await setMeta(db, 'test_other', 'three');
    const rows = await metaRows(db, ['test_entry', 'test_other', 'test_absent']);
    expect(rows.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'test_entry', value: 'two' },
      { key: 'test_other', value: 'three' },
    ]);
    await deleteMeta(db, 'test_entry');
    expect(await getMeta(db, 'test_entry')).toBeUndefined();
    expect(await getMeta(db, 'test_other')).toBe('three');
  });

  it('inserts only when absent, and says whether it did', async () => {
    const { db } = await store();
    expect(await insertMetaIfAbsent(db, 'test_once', 'first')).toBe(true);
    expect(await insertMetaIfAbsent(db, 'test_once', 'second')).toBe(false);
    expect(await getMeta(db, 'test_once')).toBe('first');
  });

  it('a write in a rolled-back transaction leaves nothing', async () => {
    const { db } = await store();
    await setMeta(db, 'test_kept', 'before');
    await expect(
      db.transaction().execute(async (trx) => {
        await setMeta(trx, 'test_kept', 'after');
        await insertMetaIfAbsent(trx, 'test_new', 'x');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await getMeta(db, 'test_kept')).toBe('before');
    expect(await getMeta(db, 'test_new')).toBeUndefined();
  });

  it('the swap text changes the value only when it is the expected one and the extra condition holds', async () => {
    const { db } = await store();
    await setMeta(db, 'test_head', 'v1');
    const text =
      dialect === 'postgres'
        ? swapMetaValueSql({ next: '$1', key: '$2', expected: '$3' }, '$4::int = 1')
        : swapMetaValueSql({ next: '?', key: '?', expected: '?' }, '? = 1');
    const swap = async (next: string, expected: string, flag: number) =>
      Number(
        (await db.executeQuery(CompiledQuery.raw(text, [next, 'test_head', expected, flag])))
          .numAffectedRows ?? 0n,
      );
    expect(await swap('v2', 'v0', 1)).toBe(0);
    expect(await getMeta(db, 'test_head')).toBe('v1');
    expect(await swap('v2', 'v1', 0)).toBe(0);
    expect(await getMeta(db, 'test_head')).toBe('v1');
    expect(await swap('v2', 'v1', 1)).toBe(1);
    expect(await getMeta(db, 'test_head')).toBe('v2');
  });
});

describe('the lockbox_meta row lock on postgres', () => {
  it('keeps another writer of the row out until commit, and changes nothing', async () => {
    const { db, database, keyring } = await storeOf('postgres');
    await setMeta(db, 'test_locked', 'held');
    const other = await open(database, keyring);
    others.push(other);
    let otherDone = false;
    let otherWrite: Promise<void> | undefined;
    await db.transaction().execute(async (trx) => {
      await lockMetaRow(trx, 'postgres', 'test_locked');
      otherWrite = setMeta(other.vault.store.db, 'test_locked', 'other').then(() => {
        otherDone = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(otherDone).toBe(false);
      expect(await getMeta(trx, 'test_locked')).toBe('held');
    });
    await otherWrite;
    expect(otherDone).toBe(true);
    expect(await getMeta(db, 'test_locked')).toBe('other');
  });
});

// better-sqlite3 is synchronous: another handle in this process would block the
// event loop waiting, so a connection that does not wait asks for the write lock.
describe('the lockbox_meta row lock on sqlite', () => {
  it('takes the write lock until commit, and changes nothing', async () => {
    const { db, database } = await storeOf('sqlite');
    await setMeta(db, 'test_locked', 'held');
    const other = new Database(database.file as string, { timeout: 0 });
    try {
      await db.transaction().execute(async (trx) => {
        await lockMetaRow(trx, 'sqlite', 'test_locked');
        expect(() => other.prepare('begin immediate').run()).toThrow(/locked|busy/i);
        expect(await getMeta(trx, 'test_locked')).toBe('held');
      });
      other.prepare('begin immediate').run();
      other.prepare('rollback').run();
    } finally {
      other.close();
    }
    expect(await getMeta(db, 'test_locked')).toBe('held');
  });
});
