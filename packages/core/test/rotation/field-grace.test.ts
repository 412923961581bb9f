/**
 * No field write is lost across a data re-key. An application encrypts a field
 * value (with the scope's active data key), the re-key switches and finishes,
 * and only then does the application store the value in its own table. Before
 * the field grace period the old key would already have been destroyed and the
 * row lost; now the key outlives the switch by the grace period, the row reads
 * back, and finishing the re-key after the grace period re-encrypts that row and
 * destroys the old key.
 */

import type { Lockbox } from '@lockbox/core';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { appDb, dataKeyStates, FIELD_COLUMN, FIELD_TABLE } from './store-fixture.js';

describe.each(DIALECTS)('a field value written after a re-key on %s', (dialect) => {
  let database: TestDatabase;
  let lockbox: Lockbox;

  afterEach(async () => {
    await lockbox?.close();
    await database?.drop();
  });

  async function prepare(): Promise<void> {
    database = await freshDatabase(dialect);
    lockbox = await open(database, Buffer.alloc(32, 3), [], 'open-or-create');
    await lockbox.secrets.set('prod', 'DB_PASSWORD', 'hunter2');
    await sql`create table ${sql.table(FIELD_TABLE)} (id integer primary key, ${sql.ref(FIELD_COLUMN)} text)`.execute(
      appDb(lockbox),
    );
    await lockbox.fields.register({ table: FIELD_TABLE, column: FIELD_COLUMN });
    const first = await lockbox.fields.encrypt(FIELD_TABLE, FIELD_COLUMN, 1, 'token-1');
    await sql`insert into ${sql.table(FIELD_TABLE)} values (1, ${first})`.execute(appDb(lockbox));
  }

  const store = (id: number, value: string) =>
    sql`insert into ${sql.table(FIELD_TABLE)} values (${id}, ${value})`.execute(appDb(lockbox));
  const stored = async (id: number) =>
    (
      await sql<{
        v: string;
      }>`select ${sql.ref(FIELD_COLUMN)} as v from ${sql.table(FIELD_TABLE)} where id = ${id}`.execute(
        appDb(lockbox),
      )
    ).rows[0]?.v as string;

  it('keeps the old field key through the grace period, then finishing re-encrypts the late row', async () => {
    await prepare();
    // Encrypted before the switch, stored only after the whole re-key.
    const late = await lockbox.fields.encrypt(FIELD_TABLE, FIELD_COLUMN, 2, 'token-2-late');
    const rekeyed = await lockbox.rotation.rekeyData({ mode: 'online' });
    expect(rekeyed.dataKeys).toMatchObject({ destroyed: 1, deferred: 1, retained: 0 });
    expect(Date.parse(rekeyed.deferredUntil as string)).toBeGreaterThan(Date.now() + 10 * 60_000);
    await store(2, late);
    expect(await lockbox.fields.decrypt(FIELD_TABLE, FIELD_COLUMN, 2, await stored(2))).toBe(
      'token-2-late',
    );
    // Finishing before the grace period ends re-encrypts the late row but keeps the key.
    const early = await lockbox.rotation.rekeyData({ finish: true });
    expect(early).toMatchObject({ rows: 1, dataKeys: { retired: 0, destroyed: 0, deferred: 1 } });
    // After it (a grace of 0 stands for "the period has passed"): the old key is destroyed.
    const finished = await lockbox.rotation.rekeyData({ finish: true, fieldGraceMs: 0 });
    expect(finished.dataKeys).toMatchObject({ destroyed: 1, deferred: 0, retained: 0 });
    expect((await dataKeyStates(lockbox)).user).toEqual({ active: 2, destroyed: 2 });
    for (const [id, value] of [
      [1, 'token-1'],
      [2, 'token-2-late'],
    ] as const) {
      expect(await lockbox.fields.decrypt(FIELD_TABLE, FIELD_COLUMN, id, await stored(id))).toBe(
        value,
      );
    }
    expect(await lockbox.secrets.get('prod', 'DB_PASSWORD')).toBe('hunter2');
  });

  it('without a grace period the late row is lost, as documented for fieldGraceMs: 0', async () => {
    await prepare();
    const late = await lockbox.fields.encrypt(FIELD_TABLE, FIELD_COLUMN, 2, 'token-2-late');
    const rekeyed = await lockbox.rotation.rekeyData({ mode: 'atomic', fieldGraceMs: 0 });
    expect(rekeyed.dataKeys).toMatchObject({ destroyed: 2, deferred: 0 });
    await store(2, late);
    await expect(
      lockbox.fields.decrypt(FIELD_TABLE, FIELD_COLUMN, 2, await stored(2)),
    ).rejects.toMatchObject({ code: 'SECRET_UNDECRYPTABLE' });
  });
});
