/**
 * A seeded store for rotation tests: secrets across scopes, an application table
 * with a registered field, and the expected plaintexts to check every row against.
 */
import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { open, type TestDatabase } from '@lockbox/test-helpers';
import { type Kysely, sql } from 'kysely';

export { open };

export interface Seeded {
  key: Buffer;
  secrets: Map<string, string>;
  /** Field rows by id, for the table `connector_credentials`, column `token`. */
  fieldRows: Map<number, string>;
}

export const FIELD_TABLE = 'connector_credentials';
export const FIELD_COLUMN = 'token';

export function secretKey(scope: string, name: string): string {
  return `${scope}\u0000${name}`;
}

// biome-ignore lint/suspicious/noExplicitAny: the application's own table is untyped
export function appDb(lockbox: Lockbox): Kysely<any> {
  return lockbox.vault.store.db;
}

/** Creates the store and fills it: `scopes` scopes × `perScope` secrets, and `rows` field rows. */
export async function seed(
  database: TestDatabase,
  options: { scopes: number; perScope: number; rows: number; key?: Buffer },
): Promise<Seeded> {
  const key = options.key ?? generateMasterKey();
  const lockbox = await open(database, key, [], 'open-or-create');
  try {
    const secrets = new Map<string, string>();
    // Scopes are written four at a time: PostgreSQL round trips dominate seeding.
    const scopes = Array.from({ length: options.scopes }, (_, s) => s);
    for (let start = 0; start < scopes.length; start += 4) {
      await Promise.all(
        scopes.slice(start, start + 4).map(async (s) => {
          for (let n = 0; n < options.perScope; n++) {
            const scope = `tenant:${s}`;
            const name = `credential-${n}`;
            const value = `value-${s}-${n}-${'x'.repeat(n % 7)}`;
            await lockbox.secrets.set(scope, name, value);
            secrets.set(secretKey(scope, name), value);
          }
        }),
      );
    }
    await sql`create table ${sql.table(FIELD_TABLE)} (id integer primary key, ${sql.ref(FIELD_COLUMN)} text)`.execute(
      appDb(lockbox),
    );
    await lockbox.fields.register({ table: FIELD_TABLE, column: FIELD_COLUMN });
    const fieldRows = new Map<number, string>();
    const ids = Array.from({ length: options.rows }, (_, i) => i + 1);
    // The first row alone: it creates the field scope's data key (concurrent first
    // writers to one scope may each create one).
    for (let start = 0; start < ids.length; start += start === 0 ? 1 : 4) {
      await Promise.all(
        ids.slice(start, start === 0 ? 1 : start + 4).map(async (id) => {
          const value = JSON.stringify({ access_token: `at-${id}`, refresh_token: `rt-${id}` });
          const ciphertext = await lockbox.fields.encrypt(FIELD_TABLE, FIELD_COLUMN, id, value);
          await sql`insert into ${sql.table(FIELD_TABLE)} (id, ${sql.ref(FIELD_COLUMN)}) values (${id}, ${ciphertext})`.execute(
            appDb(lockbox),
          );
          fieldRows.set(id, value);
        }),
      );
    }
    return { key, secrets, fieldRows };
  } finally {
    await lockbox.close();
  }
}

/** Decrypts every secret and field row and compares with what was written. */
export async function expectAllReadable(
  lockbox: Lockbox,
  seeded: Pick<Seeded, 'secrets' | 'fieldRows'>,
): Promise<void> {
  const listed = await lockbox.secrets.list();
  const found = new Map<string, string>();
  for (const info of listed) {
    found.set(secretKey(info.scope, info.name), await lockbox.secrets.get(info.scope, info.name));
  }
  if (found.size !== seeded.secrets.size) {
    throw new Error(`expected ${seeded.secrets.size} secrets, found ${found.size}`);
  }
  for (const [k, value] of seeded.secrets) {
    if (found.get(k) !== value) throw new Error(`secret ${k.replace('\u0000', '/')} changed`);
  }
  const { rows } = await sql<{
    id: number;
    token: string;
  }>`select id, ${sql.ref(FIELD_COLUMN)} as token from ${sql.table(FIELD_TABLE)} order by id`.execute(
    appDb(lockbox),
  );
  if (rows.length !== seeded.fieldRows.size) {
    throw new Error(`expected ${seeded.fieldRows.size} field rows, found ${rows.length}`);
  }
  for (const row of rows) {
    const value = await lockbox.fields.decrypt(FIELD_TABLE, FIELD_COLUMN, row.id, row.token);
    if (value !== seeded.fieldRows.get(Number(row.id)))
      throw new Error(`field row ${row.id} changed`);
  }
}

/** Data key counts by state for user scopes and for Lockbox's internal ones. */
export async function dataKeyStates(
  lockbox: Lockbox,
): Promise<{ user: Record<string, number>; internal: Record<string, number> }> {
  const rows = await lockbox.vault.store.db
    .selectFrom('lockbox_data_keys')
    .select(['scope', 'state'])
    .execute();
  const out = { user: {} as Record<string, number>, internal: {} as Record<string, number> };
  for (const row of rows) {
    const bucket = row.scope.startsWith('lockbox:') ? out.internal : out.user;
    bucket[row.state] = (bucket[row.state] ?? 0) + 1;
  }
  return out;
}
