/**
 * The SQLite prepared-statement cache: the same SQL reuses one compiled
 * statement, a statement still being iterated is never handed out again, the
 * cache is bounded, and the database behaves as before through it (a real
 * store opened through connectStore reads and writes, streams included).
 */

import { connectStore } from '@lockbox/core';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import Database from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { cachePreparedStatements } from '../../src/store/statement-cache.js';

/** An in-memory database behind the cache, and how many statements it has compiled. */
function countingCache(max?: number) {
  const raw = new Database(':memory:');
  let compiled = 0;
  const prepare = raw.prepare.bind(raw);
  raw.prepare = ((text: string) => {
    compiled += 1;
    return prepare(text);
  }) as typeof raw.prepare;
  return { db: cachePreparedStatements(raw, max), compiled: () => compiled };
}

describe('SQLite prepared-statement cache', () => {
  let database: TestDatabase | undefined;
  afterEach(async () => database?.drop());

  it('compiles each SQL text once, and again only when the cached one is busy', () => {
    const { db, compiled } = countingCache();
    db.prepare('create table t (n integer)').run([]);
    for (let n = 0; n < 3; n++) db.prepare('insert into t values (?)').run([n]);
    expect(compiled()).toBe(2);
    const select = 'select n from t order by n';
    const iterating = db.prepare(select).iterate([]) as IterableIterator<{ n: number }>;
    expect(iterating.next().value).toEqual({ n: 0 });
    // The cached statement is mid-iteration: a fresh one is compiled, not the busy one reused.
    expect(db.prepare(select).all([])).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(compiled()).toBe(4);
    expect([...iterating]).toEqual([{ n: 1 }, { n: 2 }]);
    db.close();
  });

  it('keeps at most its bound, dropping the least recently used', () => {
    const { db, compiled } = countingCache(2);
    db.prepare('select 1').all([]);
    db.prepare('select 2').all([]);
    db.prepare('select 1').all([]); // now 2 is the least recently used
    db.prepare('select 3').all([]); // evicts 2
    expect(compiled()).toBe(3);
    db.prepare('select 1').all([]);
    expect(compiled()).toBe(3);
    db.prepare('select 2').all([]);
    expect(compiled()).toBe(4);
    db.close();
  });

  it('serves a store opened through connectStore, streams and transactions included', async () => {
    database = await freshDatabase('sqlite');
    const store = connectStore(database.url, drivers);
    try {
      await sql`create table t (n integer primary key)`.execute(store.db);
      await store.db.transaction().execute(async (trx) => {
        for (let n = 1; n <= 50; n++) await sql`insert into t values (${n})`.execute(trx);
      });
      // A stream holds its statement busy for the whole walk; the same select runs beside it.
      const tables = store.db as unknown as Kysely<{ t: { n: number } }>;
      let sum = 0;
      for await (const row of tables.selectFrom('t').select('n').stream()) sum += row.n;
      expect(sum).toBe(1275);
      const { rows } = await sql<{ total: number }>`select sum(n) as total from t`.execute(
        store.db,
      );
      expect(rows).toEqual([{ total: 1275 }]);
    } finally {
      await store.close();
    }
  });
});
