/**
 * Crash safety for a field keyed by two columns: the adoption and the data
 * re-key run in a child process (fixtures/rotation-child.mjs) that SIGKILLs
 * itself at a progress event; afterwards every row reads back (legacy or
 * adopted), and a rerun (adoption) or resume (re-key) finishes with totals that
 * count every row once. Batches of 2 rows, while each user has 4 rows, so kills
 * land between rows that share the first key column.
 */

import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { encryptFernet, encryptV2, parseFernetKey } from '@lockbox/core/hazmat';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { runChild } from './run-child.js';
import { appDb } from './store-fixture.js';

const PROVIDERS = ['github', 'gitlab', 'slack', 'stripe'];
const USERS = 3;
const ROWS = USERS * PROVIDERS.length;
const FERNET_TEXT = Buffer.alloc(32, 9).toString('base64url');
const V2_KEY = Buffer.alloc(32, 4);
const LEGACY = {
  table: 'user_keys',
  column: 'api_key',
  fernetKeys: [FERNET_TEXT],
  plaintext: true,
};

async function closing<T>(lockbox: Lockbox, run: (lockbox: Lockbox) => Promise<T>): Promise<T> {
  try {
    return await run(lockbox);
  } finally {
    await lockbox.close();
  }
}

/** A store whose user_keys table holds plaintext, Fernet and v2: values; returns the plaintexts. */
async function createStore(database: TestDatabase, key: Buffer): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  await closing(await open(database, key, [], 'open-or-create'), async (lockbox) => {
    const db = appDb(lockbox);
    await sql`create table user_keys (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`.execute(
      db,
    );
    let n = 0;
    for (let user = 1; user <= USERS; user++) {
      for (const provider of PROVIDERS) {
        const value = `key-${user}-${provider}-${'é'.repeat(n % 3)}`;
        const stored =
          n % 3 === 0
            ? value
            : n % 3 === 1
              ? encryptFernet(parseFernetKey(FERNET_TEXT), Buffer.from(value))
              : encryptV2(V2_KEY, Buffer.from(value));
        await sql`insert into user_keys values (${user}, ${provider}, ${stored})`.execute(db);
        expected.set(`${user}/${provider}`, value);
        n += 1;
      }
    }
    await lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: ['user_id', 'provider'],
    });
  });
  return expected;
}

async function rows(lockbox: Lockbox) {
  const { rows } = await sql<{
    user_id: number;
    provider: string;
    api_key: string;
  }>`select user_id, provider, api_key from user_keys order by user_id, provider`.execute(
    appDb(lockbox),
  );
  return rows;
}

/** Every row decrypts (adopted) or still holds a legacy value; returns how many are legacy. */
async function expectReadable(lockbox: Lockbox, expected: Map<string, string>): Promise<number> {
  let legacy = 0;
  const all = await rows(lockbox);
  expect(all).toHaveLength(ROWS);
  for (const row of all) {
    if (!row.api_key.startsWith('lb1:')) {
      legacy += 1;
      continue;
    }
    const key = { user_id: row.user_id, provider: row.provider };
    expect(await lockbox.fields.decrypt('user_keys', 'api_key', key, row.api_key)).toBe(
      expected.get(`${row.user_id}/${row.provider}`),
    );
  }
  return legacy;
}

describe.each(DIALECTS)('crash safety of a composite-key field on %s', (dialect) => {
  it.concurrent.each([1, 3, 5])(
    'SIGKILL during adoption at event %i: every row reads back, a rerun adopts exactly the rest',
    async (killAt) => {
      const database = await freshDatabase(dialect);
      try {
        const key = generateMasterKey();
        const expected = await createStore(database, key);
        const outcome = await runChild({
          url: database.url,
          primary: key.toString('base64'),
          op: 'adopt',
          batchSize: 2,
          killAt,
          ...LEGACY,
          v2Keys: [V2_KEY.toString('base64')],
        });
        expect(outcome.signal, outcome.stderr).toBe('SIGKILL');
        await closing(await open(database, key), async (lockbox) => {
          const remaining = await expectReadable(lockbox, expected);
          expect(remaining).toBeGreaterThan(0);
          const result = await lockbox.rotation.adopt({ ...LEGACY, v2Keys: [V2_KEY] });
          const a = result.adopted;
          expect(a.fernet + a.v2 + a.plaintext).toBe(remaining);
          expect(result.failed + result.conflicts).toBe(0);
          expect(await expectReadable(lockbox, expected)).toBe(0);
        });
      } finally {
        await database.drop();
      }
    },
  );

  // Events with batches of 2: 1 = switch, 2…7 = main pass, 8…13 = verification pass.
  it.concurrent.each([
    ['online', 3],
    ['online', 9],
    ['atomic', 4],
  ] as const)(
    'SIGKILL during a %s re-key at event %i: every row reads back, resume finishes with right totals',
    async (mode, killAt) => {
      const database = await freshDatabase(dialect);
      try {
        const key = generateMasterKey();
        const expected = await createStore(database, key);
        await closing(await open(database, key), async (lockbox) => {
          await lockbox.rotation.adopt({ ...LEGACY, v2Keys: [V2_KEY] });
        });
        const outcome = await runChild({
          url: database.url,
          primary: key.toString('base64'),
          op: 'data',
          mode,
          batchSize: 2,
          killAt,
          fieldGraceMs: 0,
        });
        expect(outcome.signal, outcome.stderr).toBe('SIGKILL');
        await closing(await open(database, key), async (lockbox) => {
          expect(await expectReadable(lockbox, expected)).toBe(0);
          const result = await lockbox.rotation.rekeyData({ batchSize: 2, fieldGraceMs: 0 });
          expect(result).toMatchObject({
            resumed: true,
            mode,
            fields: [{ table: 'user_keys', column: 'api_key', rows: ROWS }],
            conflicts: 0,
            unreadable: 0,
            dataKeys: { retired: 1, destroyed: 1, retained: 0 },
          });
          expect(await expectReadable(lockbox, expected)).toBe(0);
          const census = await lockbox.rotation.census({ verify: true });
          expect(census.fields[0]).toMatchObject({ lockbox: ROWS, unreadable: 0 });
        });
      } finally {
        await database.drop();
      }
    },
  );
});
