/**
 * A fresh PostgreSQL schema for one soak run, so runs never see each other's
 * data (the same approach as the storage tests: packages/test-helpers/src/databases.ts).
 * Lockbox creates its tables in the first schema of the search_path, which the
 * URL sets through libpq's `options`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * @param {string} baseUrl a postgres:// URL of an existing database
 * @returns {Promise<{ url: string, schema: string, drop: () => Promise<void> }>}
 */
export async function createSchema(baseUrl) {
  const schema = `soak_${randomBytes(6).toString('hex')}`;
  await withClient(baseUrl, (client) => client.query(`create schema ${schema}`));
  const options = encodeURIComponent(`-c search_path=${schema}`);
  const url = `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${options}`;
  return {
    url,
    schema,
    drop: async () => {
      await withClient(baseUrl, (client) =>
        client.query(`drop schema if exists ${schema} cascade`),
      );
    },
  };
}

/**
 * Counts rows of a Lockbox table in the schema (for the report: audit entries,
 * data keys by state). Read-only.
 * @param {string} url the schema's URL (from createSchema)
 * @param {string} query
 */
export async function queryRows(url, query) {
  return withClient(url, async (client) => (await client.query(query)).rows);
}

/**
 * @template T
 * @param {string} url
 * @param {(client: pg.Client) => Promise<T>} run
 * @returns {Promise<T>}
 */
async function withClient(url, run) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}
