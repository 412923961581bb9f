/**
 * Adoption of an application's existing credentials: four tables holding REST
 * API keys, OAuth tokens as JSON, database passwords and webhook secrets, as a
 * mix of plaintext, Fernet tokens (some written by Python's `cryptography`) and
 * `v2:` values, are adopted into Lockbox's format, then rotated (master key and
 * data keys); every value reads back byte-identical throughout.
 */
import { randomUUID } from 'node:crypto';
import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { encryptFernet, encryptV2, parseFernetKey } from '@lockbox/core/hazmat';
import {
  DIALECTS,
  freshDatabase,
  open,
  pythonLegacy,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { appDb } from './store-fixture.js';

interface AppTable {
  table: string;
  column: string;
  /** PostgreSQL / SQLite column type of the primary key (exercises casts on PostgreSQL). */
  keyType: string;
  rowId: (i: number) => string | number;
  value: (i: number) => Buffer;
}

const APP_TABLES: AppTable[] = [
  {
    table: 'rest_api_keys',
    column: 'api_key',
    keyType: 'integer',
    rowId: (i) => i + 1,
    value: (i) => Buffer.from(`sk-live-${i}-${'a'.repeat(i % 5)}`),
  },
  {
    table: 'oauth_tokens',
    column: 'token_json',
    keyType: 'text',
    rowId: () => randomUUID(),
    value: (i) =>
      Buffer.from(
        JSON.stringify({
          access_token: `ya29.${i}`,
          refresh_token: `1//${i}`,
          scope: 'email profile',
          expires_at: 1_700_000_000 + i,
          note: 'naïve — ünïcödé ✓',
        }),
      ),
  },
  {
    table: 'database_passwords',
    column: 'password',
    keyType: 'bigint',
    rowId: (i) => 10_000_000_000 + i,
    value: (i) => Buffer.from(`p@ss'word"${i};--\n\t${i % 2 === 0 ? '' : ' trailing '}`),
  },
  {
    table: 'webhook_secrets',
    column: 'signing_secret',
    keyType: 'varchar(64)',
    rowId: (i) => `hook-${String(i).padStart(3, '0')}`,
    value: (i) => Buffer.from(`whsec_${i.toString(16).repeat(6)}`),
  },
];

const ROWS_PER_TABLE = 9;
const APP_FERNET_KEY = Buffer.alloc(32, 0x5a).toString('base64url');
const APP_V2_KEY = Buffer.alloc(32, 0xa5);

type Format = 'plaintext' | 'fernet' | 'v2';

function legacyValue(format: Format, plaintext: Buffer): string {
  if (format === 'fernet') return encryptFernet(parseFernetKey(APP_FERNET_KEY), plaintext);
  if (format === 'v2') return encryptV2(APP_V2_KEY, plaintext);
  return plaintext.toString('utf8');
}

describe.each(DIALECTS)('adopting legacy credentials on %s', (dialect) => {
  let database: TestDatabase;
  const opened: Lockbox[] = [];

  afterEach(async () => {
    for (const lockbox of opened.splice(0)) await lockbox.close();
    await database?.drop();
  });

  /** Creates the application's tables; returns the expected bytes per table and row id. */
  async function createApp(lockbox: Lockbox): Promise<Map<string, Map<string, Buffer>>> {
    const db = appDb(lockbox);
    const expected = new Map<string, Map<string, Buffer>>();
    const formats: Format[] = ['plaintext', 'fernet', 'v2'];
    for (const [t, app] of APP_TABLES.entries()) {
      await sql`create table ${sql.table(app.table)} (id ${sql.raw(app.keyType)} not null primary key, ${sql.ref(app.column)} text)`.execute(
        db,
      );
      const rows = new Map<string, Buffer>();
      for (let i = 0; i < ROWS_PER_TABLE; i++) {
        const id = app.rowId(i);
        const plaintext = app.value(i);
        const stored = legacyValue(formats[(i + t) % 3] as Format, plaintext);
        await sql`insert into ${sql.table(app.table)} values (${id}, ${stored})`.execute(db);
        rows.set(String(id), plaintext);
      }
      // A row with no credential stays NULL.
      await sql`insert into ${sql.table(app.table)} values (${app.rowId(ROWS_PER_TABLE)}, null)`.execute(
        db,
      );
      expected.set(app.table, rows);
      await lockbox.fields.register({ table: app.table, column: app.column });
    }
    // Values Python's `cryptography` wrote, each under its own key (the operator passes them all).
    const python = expected.get('rest_api_keys')!;
    for (const [i, c] of pythonLegacy.fernet.entries()) {
      await sql`insert into rest_api_keys values (${500 + i}, ${c.token})`.execute(db);
      python.set(String(500 + i), Buffer.from(c.plaintext, 'hex'));
    }
    for (const [i, c] of pythonLegacy.v2.entries()) {
      await sql`insert into rest_api_keys values (${600 + i}, ${c.text})`.execute(db);
      python.set(String(600 + i), Buffer.from(c.plaintext, 'hex'));
    }
    return expected;
  }

  async function expectIdentical(
    lockbox: Lockbox,
    expected: Map<string, Map<string, Buffer>>,
  ): Promise<void> {
    for (const app of APP_TABLES) {
      const { rows } = await sql<{
        id: string | number;
        value: string | null;
      }>`select id, ${sql.ref(app.column)} as value from ${sql.table(app.table)}`.execute(
        appDb(lockbox),
      );
      const want = expected.get(app.table)!;
      const got = new Map<string, Buffer>();
      for (const row of rows) {
        if (row.value === null) continue;
        expect(row.value.startsWith('lb1:'), `${app.table} ${row.id}`).toBe(true);
        got.set(
          String(row.id),
          await lockbox.fields.decryptBytes(app.table, app.column, row.id, row.value),
        );
      }
      expect(got).toEqual(want);
    }
  }

  it('adopts plaintext, Fernet and v2: rows in four tables, then survives both rotations byte-identical', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const lockbox = await open(database, key, [], 'open-or-create');
    opened.push(lockbox);
    const expected = await createApp(lockbox);

    const before = await lockbox.rotation.census();
    expect(before.fields.find((f) => f.table === 'oauth_tokens')).toMatchObject({
      rows: 9,
      plaintext: 3,
      fernet: 3,
      v2: 3,
      lockbox: 0,
    });

    const legacyKeys = {
      fernetKeys: [APP_FERNET_KEY, ...pythonLegacy.fernet.map((c) => c.key)],
      v2Keys: [APP_V2_KEY, ...pythonLegacy.v2.map((c) => Buffer.from(c.key, 'hex'))],
      plaintext: true,
    };
    for (const app of APP_TABLES) {
      const result = await lockbox.rotation.adopt({
        table: app.table,
        column: app.column,
        ...legacyKeys,
        batchSize: 4,
      });
      const extra = app.table === 'rest_api_keys' ? 7 : 0;
      expect(result).toMatchObject({
        adopted: { plaintext: 3, fernet: 3 + extra, v2: 3 + extra },
        failed: 0,
        conflicts: 0,
        skipped: { fernet: 0, v2: 0, plaintext: 0, otherLockboxFormat: 0 },
      });
    }
    await expectIdentical(lockbox, expected);
    const adopted = await lockbox.rotation.census();
    for (const field of adopted.fields) {
      expect(field).toMatchObject({ plaintext: 0, fernet: 0, v2: 0, unreadable: 0 });
    }

    // Adopting again finds nothing left to do.
    const again = await lockbox.rotation.adopt({
      table: 'oauth_tokens',
      column: 'token_json',
      ...legacyKeys,
    });
    expect(again.adopted).toEqual({ plaintext: 0, fernet: 0, v2: 0 });

    const newKey = generateMasterKey();
    await lockbox.rotation.rotateMaster({ oldKey: key, newKey, mode: 'online', batchSize: 2 });
    const rekeyed = await lockbox.rotation.rekeyData({ mode: 'online', batchSize: 5 });
    expect(rekeyed.tables).toBe(4);
    expect(rekeyed.rows).toBe(4 * ROWS_PER_TABLE + 14);
    await expectIdentical(lockbox, expected);

    // A fresh instance with only the new master key and no legacy key reads everything.
    const fresh = await open(database, newKey);
    opened.push(fresh);
    await expectIdentical(fresh, expected);
  });

  it('reports a row that does not decode, leaves it exactly as it was, and adopts the rest', async () => {
    database = await freshDatabase(dialect);
    const lockbox = await open(database, generateMasterKey(), [], 'open-or-create');
    opened.push(lockbox);
    const db = appDb(lockbox);
    await sql`create table tokens (id integer primary key, token text)`.execute(db);
    const good = encryptFernet(parseFernetKey(APP_FERNET_KEY), Buffer.from('good'));
    const other = encryptFernet(
      parseFernetKey(Buffer.alloc(32, 1).toString('base64url')),
      Buffer.from('x'),
    );
    await sql`insert into tokens values (1, ${good}), (2, ${other}), (3, 'kept as text')`.execute(
      db,
    );
    await lockbox.fields.register({ table: 'tokens', column: 'token' });
    const result = await lockbox.rotation.adopt({
      table: 'tokens',
      column: 'token',
      fernetKeys: [APP_FERNET_KEY],
    });
    expect(result).toMatchObject({
      adopted: { fernet: 1, v2: 0, plaintext: 0 },
      skipped: { plaintext: 1 },
      failed: 1,
      failedRows: [{ row: '2', format: 'fernet', code: 'LEGACY_DECRYPT_FAILED' }],
    });
    const { rows } = await sql<{
      id: number;
      token: string;
    }>`select id, token from tokens order by id`.execute(db);
    expect(rows[1]?.token).toBe(other);
    expect(rows[2]?.token).toBe('kept as text');
    expect(await lockbox.fields.decrypt('tokens', 'token', 1, rows[0]!.token)).toBe('good');
  });
});
