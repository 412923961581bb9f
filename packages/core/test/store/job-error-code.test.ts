/**
 * Migration 0004_job_error_code: a job stopped before it keeps its text and
 * gains the code that text begins with; a text with no code gains none.
 */
import { connectStore, type Store } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';

describe.each(DIALECTS)('the job error code migration on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  afterEach(async () => {
    await store?.close();
    await database?.drop();
  });

  it('fills error_code from "CODE: message" and leaves other texts without one', async () => {
    database = await freshDatabase(dialect);
    store = connectStore(database.url, drivers);
    for (const name of ['0001_initial', '0002_audit_key_id', '0003_integrity']) {
      await MIGRATIONS[name]!.up(store.db);
    }
    const now = new Date().toISOString();
    const jobs: [string, string | null][] = [
      ['a', 'ROTATION_FIRST_ROW_FAILED: the first secret did not open'],
      ['b', 'abandoned by cli:alice'],
      ['c', null],
      ['d', 'Error: not a code'],
    ];
    for (const [id, error] of jobs) {
      await sql`insert into lockbox_rotation_jobs (id, kind, mode, state, started_at, updated_at, error)
        values (${id}, 'data', 'online', 'running', ${now}, ${now}, ${error})`.execute(store.db);
    }
    await MIGRATIONS['0004_job_error_code']!.up(store.db);
    const rows = await store.db
      .selectFrom('lockbox_rotation_jobs')
      .select(['id', 'error', 'error_code'])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      {
        id: 'a',
        error: 'ROTATION_FIRST_ROW_FAILED: the first secret did not open',
        error_code: 'ROTATION_FIRST_ROW_FAILED',
      },
      { id: 'b', error: 'abandoned by cli:alice', error_code: null },
      { id: 'c', error: null, error_code: null },
      { id: 'd', error: 'Error: not a code', error_code: null },
    ]);
  });
});
