/**
 * Named prepared statements on PostgreSQL (store/prepared-statements.ts): a
 * marked statement is prepared once per connection under a name derived from its
 * text and then reused; unmarked statements go through as before.
 */
import { connectStore } from '@lockbox/core';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { CompiledQuery, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { markPrepared } from '../../src/store/prepared-statements.js';

describe('prepared statements on postgres', () => {
  let database: TestDatabase | undefined;
  afterEach(async () => database?.drop());

  it('prepares a marked statement once per connection, and only marked ones', async () => {
    database = await freshDatabase('postgres');
    const store = connectStore(database.url, drivers);
    try {
      const marked = markPrepared('select $1::int + 1 as n');
      const other = markPrepared('select $1::int + 2 as n');
      // One transaction: one connection, whose prepared statements we can list.
      const { names, results } = await store.db.transaction().execute(async (trx) => {
        const results: unknown[] = [];
        for (const value of [1, 2, 3]) {
          results.push((await trx.executeQuery(CompiledQuery.raw(marked, [value]))).rows);
        }
        results.push((await trx.executeQuery(CompiledQuery.raw(other, [1]))).rows);
        results.push((await trx.executeQuery(CompiledQuery.raw('select $1::int as n', [7]))).rows);
        const listed = await sql<{
          name: string;
          statement: string;
        }>`select name, statement from pg_prepared_statements order by name`.execute(trx);
        return { names: listed.rows, results };
      });
      expect(results).toEqual([[{ n: 2 }], [{ n: 3 }], [{ n: 4 }], [{ n: 3 }], [{ n: 7 }]]);
      expect(names.map((row) => row.statement).sort()).toEqual([marked, other].sort());
      for (const row of names) expect(row.name).toMatch(/^lockbox_[0-9a-f]{16}$/);
    } finally {
      await store.close();
    }
  });
});
