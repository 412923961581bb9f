/**
 * Fields keyed by several columns, and keys of awkward types, through adoption
 * and a data re-key: every row is walked exactly once whatever the batch size
 * (keyset pagination over the whole key), every value is bound to its whole key,
 * and key values round-trip exactly (integers beyond 2^53, uuids, numerics with
 * their scale, text with quotes, commas and non-ASCII).
 */

import type { Lockbox } from '@lockbox/core';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { appDb } from './store-fixture.js';

const USERS = 5;
const PROVIDERS = ['aws', 'github', 'gitlab', 'google', 'slack', 'stripe', 'twilio'];

// biome-ignore lint/suspicious/noExplicitAny: the application's own table is untyped
type AppDb = Kysely<any>;

async function createUserKeys(db: AppDb): Promise<Map<string, string>> {
  await sql`create table user_keys (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`.execute(
    db,
  );
  const expected = new Map<string, string>();
  for (let user = 1; user <= USERS; user++) {
    for (const provider of PROVIDERS) {
      const value = `key-${user}-${provider}`;
      await sql`insert into user_keys values (${user}, ${provider}, ${value})`.execute(db);
      expected.set(`${user}/${provider}`, value);
    }
  }
  return expected;
}

async function readAll(
  lockbox: Lockbox,
): Promise<{ user_id: number; provider: string; api_key: string }[]> {
  const { rows } = await sql<{
    user_id: number;
    provider: string;
    api_key: string;
  }>`select user_id, provider, api_key from user_keys order by user_id, provider`.execute(
    appDb(lockbox),
  );
  return rows;
}

describe.each(DIALECTS)('composite row keys on %s', (dialect) => {
  let database: TestDatabase;
  let lockbox: Lockbox;

  afterEach(async () => {
    await lockbox?.close();
    await database?.drop();
  });

  async function prepare(): Promise<void> {
    database = await freshDatabase(dialect);
    lockbox = await open(database, Buffer.alloc(32, 9), [], 'open-or-create');
  }

  it('adopts and re-keys every row when many rows share the first key column across batches', async () => {
    await prepare();
    const expected = await createUserKeys(appDb(lockbox));
    await lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: 'user_id, provider',
    });
    for (const batchSize of [3]) {
      const adopted = await lockbox.rotation.adopt({
        table: 'user_keys',
        column: 'api_key',
        plaintext: true,
        batchSize,
      });
      expect(adopted.adopted.plaintext).toBe(USERS * PROVIDERS.length);
      expect(adopted.conflicts).toBe(0);
    }
    for (const [mode, batchSize] of [
      ['online', 4],
      ['atomic', 2],
      ['online', 7],
    ] as const) {
      const rekeyed = await lockbox.rotation.rekeyData({ mode, batchSize });
      expect(rekeyed.fields).toEqual([
        { table: 'user_keys', column: 'api_key', rows: USERS * PROVIDERS.length },
      ]);
      expect(rekeyed.unreadable).toBe(0);
      expect(rekeyed.dataKeys.retained).toBe(0);
    }
    const rows = await readAll(lockbox);
    expect(rows).toHaveLength(USERS * PROVIDERS.length);
    for (const row of rows) {
      expect(row.api_key.startsWith('lb1:')).toBe(true);
      const key = { user_id: row.user_id, provider: row.provider };
      expect(await lockbox.fields.decrypt('user_keys', 'api_key', key, row.api_key)).toBe(
        expected.get(`${row.user_id}/${row.provider}`),
      );
    }
    const census = await lockbox.rotation.census({ verify: true });
    expect(census.fields[0]).toMatchObject({ lockbox: 35, unreadable: 0, keyProblem: null });
  });

  it('refuses a ciphertext copied between two rows that differ in one key column', async () => {
    await prepare();
    await createUserKeys(appDb(lockbox));
    await lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: ['user_id', 'provider'],
    });
    await lockbox.rotation.adopt({ table: 'user_keys', column: 'api_key', plaintext: true });
    const db = appDb(lockbox);
    // The attacker copies user 1's GitHub key over user 1's Stripe key, by hand.
    await sql`update user_keys set api_key = (select api_key from user_keys where user_id = 1 and provider = 'github') where user_id = 1 and provider = 'stripe'`.execute(
      db,
    );
    const { rows } = await sql<{
      api_key: string;
    }>`select api_key from user_keys where user_id = 1 and provider = 'stripe'`.execute(db);
    const copied = rows[0]?.api_key as string;
    await expect(
      lockbox.fields.decrypt('user_keys', 'api_key', { user_id: 1, provider: 'stripe' }, copied),
    ).rejects.toMatchObject({
      code: 'SECRET_UNDECRYPTABLE',
      details: { rowId: 'user_id=1, provider=stripe' },
    });
    // Nor across users with the same provider.
    await expect(
      lockbox.fields.decrypt('user_keys', 'api_key', { user_id: 2, provider: 'github' }, copied),
    ).rejects.toMatchObject({ code: 'SECRET_UNDECRYPTABLE' });
    // The re-key does not launder it: the row stays unreadable and is reported.
    const rekeyed = await lockbox.rotation.rekeyData({ mode: 'online', batchSize: 5 });
    expect(rekeyed.unreadableRows).toEqual([
      { where: 'user_keys.api_key', row: 'user_id=1, provider=stripe', code: 'DECRYPT_FAILED' },
    ]);
  });

  it('refuses a row key of the wrong shape', async () => {
    await prepare();
    await createUserKeys(appDb(lockbox));
    await lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: ['user_id', 'provider'],
    });
    const encrypt = (key: unknown) =>
      lockbox.fields.encrypt('user_keys', 'api_key', key as never, 'value');
    for (const key of [
      1,
      { user_id: 1 },
      { user_id: 1, provider: 'github', extra: 'x' },
      { user_id: 1.5, provider: 'github' },
      { user_id: 2 ** 53, provider: 'github' },
      { user_id: null, provider: 'github' },
    ]) {
      await expect(encrypt(key)).rejects.toMatchObject({ code: 'FIELD_ROW_KEY_INVALID' });
    }
    // Equivalent spellings of one key bind alike: a number, a bigint, its decimal text.
    const text = await encrypt({ user_id: 3, provider: 'gitlab' });
    await expect(
      lockbox.fields.decrypt('user_keys', 'api_key', { provider: 'gitlab', user_id: 3n }, text),
    ).resolves.toBe('value');
    await expect(
      lockbox.fields.decrypt('user_keys', 'api_key', { user_id: '3', provider: 'gitlab' }, text),
    ).resolves.toBe('value');
  });

  it('round-trips awkward key values exactly through adoption and re-key', async () => {
    await prepare();
    const db = appDb(lockbox);
    // Big integers beyond 2^53, text with quotes, commas, NUL-free non-ASCII; on
    // PostgreSQL also a uuid (written upper case, stored lower case) and a numeric scale.
    const big = '9007199254740993';
    const names = [`o'brien, "x"`, 'テナント', 'a,b', ''];
    if (dialect === 'postgres') {
      await sql`create table odd_keys (big bigint not null, name text not null, tenant uuid not null, amount numeric(12,2) not null, secret text, unique (big, name, tenant, amount))`.execute(
        db,
      );
    } else {
      await sql`create table odd_keys (big integer not null, name text not null, tenant text not null, amount text not null, secret text, primary key (big, name, tenant, amount))`.execute(
        db,
      );
    }
    const tenant = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11';
    const stored = dialect === 'postgres' ? tenant.toLowerCase() : tenant;
    for (const [i, name] of names.entries()) {
      const bigValue = (BigInt(big) + BigInt(i)).toString();
      await sql`insert into odd_keys values (${bigValue}, ${name}, ${tenant}, ${'1.50'}, ${`secret-${i}`})`.execute(
        db,
      );
    }
    await lockbox.fields.register({
      table: 'odd_keys',
      column: 'secret',
      primaryKey: ['big', 'name', 'tenant', 'amount'],
    });
    const adopted = await lockbox.rotation.adopt({
      table: 'odd_keys',
      column: 'secret',
      plaintext: true,
      batchSize: 1,
    });
    expect(adopted.adopted.plaintext).toBe(names.length);
    const rekeyed = await lockbox.rotation.rekeyData({ mode: 'online', batchSize: 1 });
    expect(rekeyed.fields[0]?.rows).toBe(names.length);
    for (const [i, name] of names.entries()) {
      const bigValue = BigInt(big) + BigInt(i);
      const { rows } = await sql<{
        secret: string;
      }>`select secret from odd_keys where big = ${bigValue.toString()} and name = ${name}`.execute(
        db,
      );
      const key = { big: bigValue, name, tenant: stored, amount: '1.50' };
      expect(await lockbox.fields.decrypt('odd_keys', 'secret', key, rows[0]!.secret)).toBe(
        `secret-${i}`,
      );
    }
  });

  it('refuses to change the key columns or remove a field while rows hold its ciphertext', async () => {
    await prepare();
    const db = appDb(lockbox);
    await createUserKeys(db);
    await sql`create unique index user_keys_pair on user_keys (provider, user_id)`.execute(db);
    await lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: ['user_id', 'provider'],
    });
    await lockbox.rotation.adopt({ table: 'user_keys', column: 'api_key', plaintext: true });
    await expect(
      lockbox.fields.register({
        table: 'user_keys',
        column: 'api_key',
        primaryKey: ['provider', 'user_id'],
      }),
    ).rejects.toMatchObject({ code: 'FIELD_IN_USE' });
    await expect(lockbox.fields.remove('user_keys', 'api_key')).rejects.toMatchObject({
      code: 'FIELD_IN_USE',
      details: { rows: 35 },
    });
    expect(await lockbox.fields.list()).toHaveLength(1);
    expect(await lockbox.fields.remove('user_keys', 'api_key', { force: true })).toBe(35);
    expect(await lockbox.fields.list()).toEqual([]);
    await expect(lockbox.fields.remove('user_keys', 'api_key')).rejects.toMatchObject({
      code: 'FIELD_NOT_REGISTERED',
    });
  });
});
