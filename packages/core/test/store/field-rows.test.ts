/**
 * store/field-rows.ts on both dialects: what vault/fields.ts, snapshot and
 * restore rely on (a plain insert refuses a second registration of a column,
 * the upsert replaces what decides the field but keeps created_at, table then
 * column order, the count) and that a rolled-back transaction leaves nothing.
 */
import { DIALECTS, storesOfTest } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import {
  allFieldRows,
  deleteFieldRow,
  fieldRow,
  fieldRowCount,
  setFieldMac,
  writeFieldRow,
} from '../../src/store/field-rows.js';
import type { FieldTable } from '../../src/store/schema.js';

function field(table: string, column: string, scope = `field:${table}.${column}`): FieldTable {
  return {
    table_name: table,
    column_name: column,
    primary_key: 'id',
    scope,
    created_at: '2026-01-01T00:00:00.000Z',
    mac: `mac-${table}.${column}`,
  };
}

const stores = storesOfTest();
afterEach(stores.closeAll);

describe.each(DIALECTS)('lockbox_fields rows on %s', (dialect) => {
  it('a plain insert refuses a second registration of a column', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    await writeFieldRow(db, field('users', 'token'), { upsert: false });
    await expect(
      writeFieldRow(db, field('users', 'token', 'other'), { upsert: false }),
    ).rejects.toThrow();
    expect(await fieldRow(db, 'users', 'token')).toEqual(field('users', 'token'));
  });

  it('the upsert replaces key columns, scope and MAC, and keeps created_at', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    await writeFieldRow(db, field('users', 'token'), { upsert: true });
    const changed = {
      ...field('users', 'token', 'tenant'),
      primary_key: 'tenant_id,id',
      created_at: '2026-06-01T00:00:00.000Z',
      mac: 'mac-2',
    };
    await writeFieldRow(db, changed, { upsert: true });
    expect(await fieldRow(db, 'users', 'token')).toEqual({
      ...changed,
      created_at: '2026-01-01T00:00:00.000Z',
    });
    expect(await fieldRowCount(db)).toBe(1);
  });

  it('lists by table then column, counts, sets a MAC and deletes one row', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    for (const [t, c] of [
      ['users', 'b'],
      ['accounts', 'z'],
      ['users', 'a'],
    ] as const) {
      await writeFieldRow(db, field(t, c), { upsert: false });
    }
    expect((await allFieldRows(db)).map((f) => `${f.table_name}.${f.column_name}`)).toEqual([
      'accounts.z',
      'users.a',
      'users.b',
    ]);
    await setFieldMac(db, 'users', 'a', 'restamped');
    expect((await fieldRow(db, 'users', 'a'))?.mac).toBe('restamped');
    await deleteFieldRow(db, 'users', 'a');
    expect(await fieldRow(db, 'users', 'a')).toBeUndefined();
    expect(await fieldRowCount(db)).toBe(2);
  });

  it('a rolled-back transaction leaves nothing', async () => {
    const db = (await stores.store(dialect)).lockbox.vault.store.db;
    await writeFieldRow(db, field('users', 'token'), { upsert: false });
    await expect(
      db.transaction().execute(async (trx) => {
        await writeFieldRow(trx, field('users', 'other'), { upsert: false });
        await deleteFieldRow(trx, 'users', 'token');
        expect(await fieldRowCount(trx)).toBe(1);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await allFieldRows(db)).map((f) => f.column_name)).toEqual(['token']);
  });
});
