/**
 * A field's row key must be a real key of its table, checked at registration and
 * again before every adoption and re-key. Each refusal is what a real schema (or
 * a later migration of it) would present, and each leaves the store
 * byte-identical (SQLite file) or row-identical (every row of every Lockbox and
 * application table on PostgreSQL).
 */

import type { Lockbox } from '@lockbox/core';
import {
  DIALECTS,
  freshDatabase,
  open,
  storeFingerprint,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { appDb } from './store-fixture.js';

const APP_TABLES = ['user_keys', 'nullable_keys', 'partial_keys', 'connectors'];

describe.each(DIALECTS)('row keys that are not keys, on %s', (dialect) => {
  let database: TestDatabase;
  let lockbox: Lockbox;

  afterEach(async () => {
    await lockbox?.close();
    await database?.drop();
  });

  /** A store with a secret, an adopted field, and tables whose keys are not unique or nullable. */
  async function prepare(): Promise<void> {
    database = await freshDatabase(dialect);
    lockbox = await open(database, Buffer.alloc(32, 7), [], 'open-or-create');
    const db = appDb(lockbox);
    await lockbox.secrets.set('prod', 'STRIPE_KEY', 'sk_live_canary');
    // Several providers per user: user_id alone is indexed but not unique.
    await sql`create table user_keys (user_id integer not null, provider text not null, api_key text)`.execute(
      db,
    );
    await sql`create index user_keys_user on user_keys (user_id)`.execute(db);
    await sql`create table nullable_keys (code text unique, api_key text)`.execute(db);
    await sql`create table partial_keys (id integer not null, live integer not null, api_key text)`.execute(
      db,
    );
    await sql`create unique index partial_keys_live on partial_keys (id) where live = 1`.execute(
      db,
    );
    await sql`create table connectors (id integer primary key, token text)`.execute(db);
    for (const user of [1, 2]) {
      for (const provider of ['github', 'stripe']) {
        await sql`insert into user_keys values (${user}, ${provider}, ${`key-${user}-${provider}`})`.execute(
          db,
        );
      }
    }
    await sql`insert into nullable_keys values (${'a'}, ${'key-a'}), (null, ${'key-null'})`.execute(
      db,
    );
    await sql`insert into partial_keys values (1, 1, ${'key-1'}), (1, 0, ${'key-1-old'})`.execute(
      db,
    );
    await lockbox.fields.register({ table: 'connectors', column: 'token' });
    await sql`insert into connectors values (1, ${'tok-1'})`.execute(db);
    await lockbox.rotation.adopt({ table: 'connectors', column: 'token', plaintext: true });
  }

  async function expectRefusedUnchanged(reason: string, attempt: () => Promise<unknown>) {
    const before = await storeFingerprint(database, APP_TABLES);
    const refusal = attempt();
    await expect(refusal).rejects.toMatchObject({
      code: 'FIELD_KEY_UNSUITABLE',
      details: { reason },
    });
    const message = await refusal.catch((err: Error) => err.message);
    expect(message).not.toMatch(/key-|tok-|sk_live/);
    expect(await storeFingerprint(database, APP_TABLES)).toBe(before);
  }

  const register = (table: string, column: string, primaryKey?: string | string[]) => () =>
    lockbox.fields.register({
      table,
      column,
      ...(primaryKey === undefined ? {} : { primaryKey }),
    });

  it('refuses a key column that is not unique (several providers per user)', async () => {
    await prepare();
    await expectRefusedUnchanged('not-unique', register('user_keys', 'api_key', 'user_id'));
    // Both columns identify a row, but no constraint says so: refused too.
    await expectRefusedUnchanged(
      'not-unique',
      register('user_keys', 'api_key', ['user_id', 'provider']),
    );
  });

  it('refuses a key column that does not exist (the default "id" included), and a missing table', async () => {
    await prepare();
    await expectRefusedUnchanged('missing-column', register('user_keys', 'api_key'));
    await expectRefusedUnchanged('missing-column', register('user_keys', 'api_key', 'uid'));
    await expectRefusedUnchanged('missing-table', register('no_such_table', 'api_key'));
  });

  it('refuses a nullable key column, even when it is unique', async () => {
    await prepare();
    await expectRefusedUnchanged('nullable', register('nullable_keys', 'api_key', 'code'));
  });

  it('refuses a partial unique index as a key', async () => {
    await prepare();
    await expectRefusedUnchanged('not-unique', register('partial_keys', 'api_key', 'id'));
  });

  it('refuses system row identifiers (ctid / rowid)', async () => {
    await prepare();
    const systemColumn = dialect === 'postgres' ? 'ctid' : 'rowid';
    await expectRefusedUnchanged('system-column', register('user_keys', 'api_key', systemColumn));
    if (dialect === 'postgres') {
      await expectRefusedUnchanged('system-column', register('user_keys', 'api_key', 'xmin'));
    } else {
      await expectRefusedUnchanged('system-column', register('user_keys', 'api_key', '_rowid_'));
    }
  });

  it('refuses an adoption and a re-key once the key stopped being unique', async () => {
    await prepare();
    const db = appDb(lockbox);
    await sql`create table tokens (id integer not null, token text)`.execute(db);
    await sql`create unique index tokens_id on tokens (id)`.execute(db);
    await sql`insert into tokens values (1, ${'tok-a'}), (2, ${'tok-b'})`.execute(db);
    await lockbox.fields.register({ table: 'tokens', column: 'token' });
    // A later migration of the application drops the index and duplicates a key.
    await sql`drop index tokens_id`.execute(db);
    await sql`insert into tokens values (1, ${'tok-c'})`.execute(db);
    const tables = [...APP_TABLES, 'tokens'];
    const before = await storeFingerprint(database, tables);
    await expect(
      lockbox.rotation.adopt({ table: 'tokens', column: 'token', plaintext: true }),
    ).rejects.toMatchObject({ code: 'FIELD_KEY_UNSUITABLE', details: { reason: 'not-unique' } });
    await expect(lockbox.rotation.rekeyData({ mode: 'online' })).rejects.toMatchObject({
      code: 'FIELD_KEY_UNSUITABLE',
    });
    await expect(lockbox.rotation.rekeyData({ mode: 'atomic' })).rejects.toMatchObject({
      code: 'FIELD_KEY_UNSUITABLE',
    });
    expect(await storeFingerprint(database, tables)).toBe(before);
    // The census still runs, and says which field cannot be rotated and why.
    const census = await lockbox.rotation.census();
    const tokens = census.fields.find((f) => f.table === 'tokens');
    expect(tokens?.keyProblem?.code).toBe('FIELD_KEY_UNSUITABLE');
    expect(census.fields.find((f) => f.table === 'connectors')?.lockbox).toBe(1);
  });

  it("refuses each dialect's traps: SQLite's nullable TEXT PRIMARY KEY and REAL keys, PostgreSQL's timestamptz", async () => {
    await prepare();
    const db = appDb(lockbox);
    if (dialect === 'sqlite') {
      // SQLite allows NULL in a PRIMARY KEY that is not INTEGER unless declared NOT NULL.
      await sql`create table loose (id text primary key, secret text)`.execute(db);
      await sql`insert into loose values (null, ${'a'}), (null, ${'b'})`.execute(db);
      await expectRefusedUnchanged('nullable', register('loose', 'secret'));
      await sql`create table floats (id real not null primary key, secret text)`.execute(db);
      await expectRefusedUnchanged('unsupported-type', register('floats', 'secret'));
      // WITHOUT ROWID enforces NOT NULL on its primary key: accepted.
      await sql`create table strict_pk (id text primary key, secret text) without rowid`.execute(
        db,
      );
      await expect(register('strict_pk', 'secret')()).resolves.toMatchObject({
        primaryKey: ['id'],
      });
    } else {
      // Its text form follows the session's TimeZone: the bound key would change.
      await sql`create table stamped (at timestamptz primary key, secret text)`.execute(db);
      await expectRefusedUnchanged('unsupported-type', register('stamped', 'secret', 'at'));
    }
  });
});
