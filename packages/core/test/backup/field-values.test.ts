/**
 * Field values travel in bundles: an export carries each registered field's
 * values (decrypted, with their row keys); an import into an instance with
 * another master key re-encrypts them into the rows of its own tables that have
 * the same key, reports the rest, and inserts nothing. Hostile bundles are
 * refused and change nothing; no value appears in a report, an error or the audit
 * log.
 */

import type { Lockbox } from '@lockbox/core';
import {
  DIALECTS,
  expectRejection,
  freshDatabase,
  newKeyring,
  open,
  storeFingerprint,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgeKeyPair, generateAgeIdentity } from '../../src/keys/age-identity.js';
import { appDb } from '../rotation/store-fixture.js';
import { ageEncrypt, bundleText, memorySink } from './backup-helpers.js';

const CANARY = 'CANARY-field-value-91c2';
const APP_TABLES = ['user_keys', 'accounts', 'tokens'];
const PROVIDERS = ['aws', 'github', 'slack'];

// biome-ignore lint/suspicious/noExplicitAny: the application's own tables are untyped
type AppDb = Kysely<any>;

async function createTables(db: AppDb): Promise<void> {
  await sql`create table user_keys (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`.execute(
    db,
  );
  await sql`create table accounts (email text not null primary key, password text)`.execute(db);
  await sql`create table tokens (id integer not null primary key, token text)`.execute(db);
}

const userKey = (user: number, provider: string) => `${CANARY}-key-${user}-${provider}`;
const password = (email: string) => `${CANARY}-pw-${email}`;
const EMAILS = ['ada@example.com', "o'brien@example.com", 'zoë@example.com'];

async function registerAll(lockbox: Lockbox, tokens: boolean): Promise<void> {
  await lockbox.fields.register({
    table: 'user_keys',
    column: 'api_key',
    primaryKey: ['user_id', 'provider'],
  });
  await lockbox.fields.register({ table: 'accounts', column: 'password', primaryKey: 'email' });
  if (tokens) await lockbox.fields.register({ table: 'tokens', column: 'token' });
}

async function rows(db: AppDb, table: string): Promise<unknown[]> {
  const { rows } = await sql`select * from ${sql.table(table)}`.execute(db);
  return (rows as Record<string, unknown>[])
    .map((r) => JSON.stringify(Object.entries(r).sort()))
    .sort();
}

async function nullApiKeys(db: AppDb): Promise<number> {
  const { rows } = await sql<{
    n: number | string;
  }>`select count(*) as n from user_keys where api_key is null`.execute(db);
  return Number(rows[0]?.n);
}

describe.each(DIALECTS)('field values in bundles on %s', (dialect) => {
  let pair: AgeKeyPair;
  let sourceDb: TestDatabase;
  let source: Lockbox;
  let bundle: Buffer;
  const decryption = () => ({ identities: [pair.identity] });

  beforeAll(async () => {
    pair = await generateAgeIdentity();
    sourceDb = await freshDatabase(dialect);
    source = await open(sourceDb, newKeyring().keyring);
    const db = appDb(source);
    await createTables(db);
    await registerAll(source, true);
    for (let user = 1; user <= 3; user++) {
      for (const provider of PROVIDERS) {
        const value = await source.fields.encrypt(
          'user_keys',
          'api_key',
          { user_id: user, provider },
          userKey(user, provider),
        );
        await sql`insert into user_keys values (${user}, ${provider}, ${value})`.execute(db);
      }
    }
    for (const email of EMAILS) {
      const value = await source.fields.encrypt('accounts', 'password', email, password(email));
      await sql`insert into accounts values (${email}, ${value})`.execute(db);
    }
    // Not adopted yet: the application's own plaintext, which a bundle does not carry.
    await sql`insert into accounts values (${'legacy@example.com'}, ${`${CANARY}-legacy`})`.execute(
      db,
    );
    await sql`insert into accounts values (${'null@example.com'}, ${null})`.execute(db);
    const token = await source.fields.encrypt('tokens', 'token', 7, `${CANARY}-token`);
    await sql`insert into tokens values (${7}, ${token})`.execute(db);
    await source.secrets.set('prod', 'API_KEY', `${CANARY}-secret`);
    const { sink, bytes } = memorySink();
    const summary = await source.backup.export(sink, {
      encryption: { recipients: [pair.recipient] },
      pageSize: 4,
    });
    bundle = bytes();
    expect(summary.records).toBe(1);
    expect(summary.fieldValues).toBe(9 + 3 + 1);
    expect(summary.fields).toEqual([
      { table: 'accounts', column: 'password', values: 3, notLockbox: 1 },
      { table: 'tokens', column: 'token', values: 1, notLockbox: 0 },
      { table: 'user_keys', column: 'api_key', values: 9, notLockbox: 0 },
    ]);
    expect(JSON.stringify(summary)).not.toContain(CANARY);
  });

  afterAll(async () => {
    await source.close();
    await sourceDb.drop();
  });

  /**
   * A second instance under another master key: user_keys rows for users 1 and 2
   * (not 3), every accounts row but one, tokens present but not registered.
   */
  async function destination(): Promise<{ database: TestDatabase; lockbox: Lockbox }> {
    const database = await freshDatabase(dialect);
    const lockbox = await open(database, newKeyring().keyring);
    const db = appDb(lockbox);
    await createTables(db);
    await registerAll(lockbox, false);
    for (let user = 1; user <= 2; user++) {
      for (const provider of PROVIDERS) {
        await sql`insert into user_keys values (${user}, ${provider}, ${null})`.execute(db);
      }
    }
    await sql`insert into accounts values (${EMAILS[0]}, ${'stale'}), (${EMAILS[1]}, ${null})`.execute(
      db,
    );
    await sql`insert into tokens values (${7}, ${'app-owned'})`.execute(db);
    return { database, lockbox };
  }

  /** Runs `body` against a fresh destination, then closes and drops it. */
  async function withDestination(body: (lockbox: Lockbox) => Promise<void>): Promise<void> {
    const { database, lockbox } = await destination();
    try {
      await body(lockbox);
    } finally {
      await lockbox.close();
      await database.drop();
    }
  }

  it('exports field values and imports them into another master key, into existing rows only', async () => {
    await withDestination(async (lockbox) => {
      const db = appDb(lockbox);
      const preview = await lockbox.backup.preview(bundle, { decryption: decryption() });
      expect(preview.bundle.version).toBe(2);
      const byField = Object.fromEntries(preview.fields.map((f) => [`${f.table}.${f.column}`, f]));
      expect(byField['user_keys.api_key']).toMatchObject({
        registration: 'registered',
        values: 9,
        update: 6,
        unchanged: 0,
        missingRow: 3,
        unregistered: 0,
      });
      expect(byField['user_keys.api_key']?.missingRows).toEqual([
        'user_id=3, provider=aws',
        'user_id=3, provider=github',
        'user_id=3, provider=slack',
      ]);
      expect(byField['accounts.password']).toMatchObject({
        registration: 'registered',
        update: 2,
        missingRow: 1,
        missingRows: ['zoë@example.com'],
      });
      expect(byField['tokens.token']).toMatchObject({
        registration: 'missing',
        values: 1,
        unregistered: 1,
        update: 0,
      });
      expect(preview.writes).toEqual({ create: 1, overwrite: 0, fieldValues: 8 });
      // A preview changes no value.
      expect(await rows(db, 'user_keys')).toHaveLength(6);
      expect(await nullApiKeys(db)).toBe(6);

      const applied = await lockbox.backup.apply(bundle, { decryption: decryption() });
      expect(applied.writes).toEqual({ create: 1, overwrite: 0, fieldValues: 8 });
      for (let user = 1; user <= 2; user++) {
        for (const provider of PROVIDERS) {
          const { rows: stored } = await sql<{
            api_key: string;
          }>`select api_key from user_keys where user_id = ${user} and provider = ${provider}`.execute(
            db,
          );
          const ciphertext = stored[0]?.api_key as string;
          expect(ciphertext.startsWith('lb1:')).toBe(true);
          expect(
            await lockbox.fields.decrypt(
              'user_keys',
              'api_key',
              { user_id: user, provider },
              ciphertext,
            ),
          ).toBe(userKey(user, provider));
          // Sealed under the destination's key: the source cannot open it.
          await expectRejection(
            source.fields.decrypt('user_keys', 'api_key', { user_id: user, provider }, ciphertext),
            'SECRET_UNDECRYPTABLE',
            [CANARY],
          );
        }
      }
      for (const email of EMAILS.slice(0, 2)) {
        const row = await lockbox.fields.readRow('accounts', 'password', email);
        expect(
          await lockbox.fields.decrypt('accounts', 'password', email, row?.value as string),
        ).toBe(password(email));
      }
      // Nothing inserted; the unregistered field's table untouched.
      expect(await rows(db, 'user_keys')).toHaveLength(6);
      expect(await rows(db, 'accounts')).toHaveLength(2);
      const { rows: token } = await sql<{ token: string }>`select token from tokens`.execute(db);
      expect(token).toEqual([{ token: 'app-owned' }]);
      expect(await lockbox.secrets.get('prod', 'API_KEY')).toBe(`${CANARY}-secret`);

      // Again: every value is already there.
      const again = await lockbox.backup.preview(bundle, { decryption: decryption() });
      expect(again.fieldTotals).toMatchObject({ update: 0, unchanged: 8, missingRow: 4 });

      // No value in any report or audit entry.
      const audit = await lockbox.vault.store.db.selectFrom('lockbox_audit').selectAll().execute();
      const applyEntry = audit.find((e) => e.action === 'backup.import');
      expect(JSON.parse(String(applyEntry?.details))).toMatchObject({
        fieldValues: 8,
        fieldCount: 3,
        fieldValuesRead: 13,
        fieldRowsMissing: 4,
        fieldValuesUnregistered: 1,
      });
      for (const text of [
        JSON.stringify(preview),
        JSON.stringify(applied),
        JSON.stringify(audit),
      ]) {
        expect(text).not.toContain(CANARY);
      }
      const sourceAudit = await source.vault.store.db
        .selectFrom('lockbox_audit')
        .selectAll()
        .execute();
      expect(JSON.stringify(sourceAudit)).not.toContain(CANARY);
      expect(bundle.includes(Buffer.from(CANARY))).toBe(false);
    });
  });

  it('under the skip policy writes no field value', async () => {
    await withDestination(async (lockbox) => {
      const applied = await lockbox.backup.apply(bundle, {
        decryption: decryption(),
        policy: 'skip',
      });
      expect(applied.writes.fieldValues).toBe(0);
      expect(applied.fieldTotals.update).toBe(6 + 2);
      expect(await nullApiKeys(appDb(lockbox))).toBe(6);
    });
  });

  it('puts a record whose key differs in one column nowhere (missing row), whatever it converts to', async () => {
    await withDestination(async (lockbox) => {
      const db = appDb(lockbox);
      const header = { format: 'lockbox-bundle', version: 2 };
      const record = (key: Record<string, string>) => ({
        kind: 'field.v1',
        table: 'user_keys',
        column: 'api_key',
        key,
        value: `${CANARY}-moved`,
      });
      const text = bundleText(
        [
          record({ user_id: '1', provider: 'AWS' }),
          record({ user_id: '1', provider: 'aws ' }),
          record({ user_id: '01', provider: 'aws' }),
          record({ user_id: ' 1', provider: 'aws' }),
          record({ user_id: '1.0', provider: 'aws' }),
          record({ user_id: 'abc', provider: 'aws' }),
          record({ user_id: '99999999999999999999', provider: 'aws' }),
          record({ user_id: '3', provider: 'aws' }),
        ],
        { header },
      );
      const before = await rows(db, 'user_keys');
      const applied = await lockbox.backup.apply(await ageEncrypt(text, pair.recipient), {
        decryption: decryption(),
      });
      expect(applied.fieldTotals).toMatchObject({ values: 8, update: 0, missingRow: 8 });
      expect(applied.writes.fieldValues).toBe(0);
      expect(await rows(db, 'user_keys')).toEqual(before);
      expect(JSON.stringify(applied)).not.toContain(CANARY);
    });
  });

  it('matches uuid and numeric keys only in the form PostgreSQL prints, and never fails a cast (SQLite refuses a numeric key outright)', async () => {
    await withDestination(async (lockbox) => {
      const db = appDb(lockbox);
      if (dialect === 'sqlite') {
        // NUMERIC affinity rewrites key values (1.50 → 1.5): not a key a field may use.
        await sql`create table amounts (n numeric(6,2) not null primary key, secret text)`.execute(
          db,
        );
        await expectRejection(
          lockbox.fields.register({ table: 'amounts', column: 'secret', primaryKey: 'n' }),
          'FIELD_KEY_UNSUITABLE',
        );
        return;
      }
      await sql`create table codes (id uuid not null primary key, secret text)`.execute(db);
      await sql`create table amounts (n numeric(6,2) not null primary key, secret text)`.execute(
        db,
      );
      const uuid = '0b8f5c1e-3f5a-4c36-9a47-2a3d9b1c7e10';
      await sql`insert into codes values (${uuid}, null)`.execute(db);
      await sql`insert into amounts values (1.5, null)`.execute(db);
      await lockbox.fields.register({ table: 'codes', column: 'secret' });
      await lockbox.fields.register({ table: 'amounts', column: 'secret', primaryKey: 'n' });
      const record = (table: string, key: Record<string, string>) => ({
        kind: 'field.v1',
        table,
        column: 'secret',
        key,
        value: `${CANARY}-${table}`,
      });
      const text = bundleText(
        [
          record('codes', { id: uuid.toUpperCase() }),
          record('codes', { id: `{${uuid}}` }),
          record('codes', { id: 'not-a-uuid' }),
          record('codes', { id: uuid }),
          record('amounts', { n: '1.5' }),
          record('amounts', { n: '99999.00' }),
          record('amounts', { n: '1e2' }),
          record('amounts', { n: 'x\u0000' }),
          record('amounts', { n: '1.50' }),
        ],
        { header: { format: 'lockbox-bundle', version: 2 } },
      );
      const applied = await lockbox.backup.apply(await ageEncrypt(text, pair.recipient), {
        decryption: decryption(),
      });
      const byTable = Object.fromEntries(applied.fields.map((f) => [f.table, f]));
      expect(byTable.codes).toMatchObject({ update: 1, missingRow: 3 });
      expect(byTable.amounts).toMatchObject({ update: 1, missingRow: 4 });
      const code = await lockbox.fields.readRow('codes', 'secret', uuid);
      expect(await lockbox.fields.decrypt('codes', 'secret', uuid, code?.value as string)).toBe(
        `${CANARY}-codes`,
      );
      const amount = await lockbox.fields.readRow('amounts', 'secret', '1.50');
      expect(
        await lockbox.fields.decrypt('amounts', 'secret', '1.50', amount?.value as string),
      ).toBe(`${CANARY}-amounts`);
    });
  });

  describe('hostile bundles', () => {
    let database: TestDatabase;
    let lockbox: Lockbox;
    beforeAll(async () => {
      ({ database, lockbox } = await destination());
    });
    afterAll(async () => {
      await lockbox.close();
      await database.drop();
    });

    const good = (user: number, provider: string) => ({
      kind: 'field.v1',
      table: 'user_keys',
      column: 'api_key',
      key: { user_id: String(user), provider },
      value: `${CANARY}-hostile`,
    });
    const v2 = { format: 'lockbox-bundle', version: 2 };
    const listed = (values: number) => ({
      ...v2,
      fields: [
        { table: 'user_keys', column: 'api_key', primaryKey: ['user_id', 'provider'], values },
      ],
    });

    it.each([
      [
        'an unknown record kind',
        bundleText([good(1, 'aws'), { kind: 'shadow.v1', table: 'x' }], { header: v2 }),
        'BUNDLE_RECORD_UNSUPPORTED',
      ],
      [
        'a newer version of the field kind',
        bundleText([good(1, 'aws'), { ...good(1, 'github'), kind: 'field.v2' }], { header: v2 }),
        'BUNDLE_RECORD_UNSUPPORTED',
      ],
      [
        'a kind that is not a string',
        bundleText([good(1, 'aws'), { ...good(1, 'slack'), kind: 7 }], { header: v2 }),
        'BUNDLE_RECORD_UNSUPPORTED',
      ],
      ['a field record in a version 1 bundle', bundleText([good(1, 'aws')]), 'BUNDLE_MALFORMED'],
      [
        'the same row twice, key columns in another order',
        bundleText(
          [good(1, 'aws'), { ...good(1, 'aws'), key: { provider: 'aws', user_id: '1' } }],
          { header: v2 },
        ),
        'BUNDLE_DUPLICATE_RECORD',
      ],
      [
        'fewer values than the header lists (truncated, trailer gone)',
        bundleText([good(1, 'aws')], { header: listed(2), trailer: false }),
        'BUNDLE_MALFORMED',
      ],
      [
        'a value of a field the header does not list',
        bundleText([good(1, 'aws'), { ...good(1, 'aws'), table: 'accounts', column: 'password' }], {
          header: listed(1),
        }),
        'BUNDLE_MALFORMED',
      ],
      [
        'a record whose key columns differ from the header',
        bundleText([good(1, 'aws'), { ...good(1, 'github'), key: { user_id: '1' } }], {
          header: listed(2),
        }),
        'BUNDLE_MALFORMED',
      ],
      [
        'a key value that is a number',
        bundleText([good(1, 'aws'), { ...good(2, 'aws'), key: { user_id: 2, provider: 'aws' } }], {
          header: v2,
        }),
        'BUNDLE_MALFORMED',
      ],
      [
        'a table name that is not an identifier',
        bundleText([good(1, 'aws'), { ...good(2, 'aws'), table: 'user_keys; drop table x' }], {
          header: v2,
        }),
        'BUNDLE_MALFORMED',
      ],
      [
        'an unknown field in a field record',
        bundleText([good(1, 'aws'), { ...good(2, 'aws'), scope: 'prod' }], { header: v2 }),
        'BUNDLE_MALFORMED',
      ],
      [
        'both value and valueBase64',
        bundleText([good(1, 'aws'), { ...good(2, 'aws'), valueBase64: 'AA==' }], { header: v2 }),
        'BUNDLE_MALFORMED',
      ],
      [
        'an oversized value',
        bundleText([good(1, 'aws'), { ...good(2, 'aws'), value: 'x'.repeat(70_000) }], {
          header: v2,
        }),
        'VALUE_TOO_LARGE',
      ],
      [
        'an oversized row key',
        bundleText(
          [
            good(1, 'aws'),
            { ...good(2, 'aws'), key: { user_id: '2', provider: 'p'.repeat(2000) } },
          ],
          { header: v2 },
        ),
        'VALUE_TOO_LARGE',
      ],
      [
        'a trailer that counts only the secrets',
        `${bundleText([good(1, 'aws'), good(2, 'aws')], { header: v2, trailer: false })}{"end":true,"records":0}\n`,
        'BUNDLE_MALFORMED',
      ],
    ] as const)('refuses %s and changes nothing', async (_what, text, code) => {
      const encrypted = await ageEncrypt(text, pair.recipient);
      const before = await storeFingerprint(database, APP_TABLES);
      await expectRejection(lockbox.backup.preview(encrypted, { decryption: decryption() }), code, [
        CANARY,
      ]);
      // One record per batch: the good first record is written before the refusal, then rolled back.
      await expectRejection(
        lockbox.backup.apply(encrypted, { decryption: decryption(), batchSize: 1 }),
        code,
        [CANARY],
      );
      expect(await storeFingerprint(database, APP_TABLES)).toBe(before);
    });

    it('refuses a genuine export truncated or with a flipped byte, and changes nothing', async () => {
      const before = await storeFingerprint(database, APP_TABLES);
      const flipped = Buffer.from(bundle);
      flipped[flipped.length - 20] = (flipped[flipped.length - 20] as number) ^ 1;
      for (const damaged of [bundle.subarray(0, bundle.length - 10), flipped]) {
        await expectRejection(
          lockbox.backup.apply(damaged, { decryption: decryption() }),
          'BUNDLE_DECRYPT_FAILED',
          [CANARY],
        );
      }
      expect(await storeFingerprint(database, APP_TABLES)).toBe(before);
    });

    it('rolls back field writes when a later secret conflicts (IMPORT_CONFLICT)', async () => {
      await lockbox.secrets.set('prod', 'API_KEY', 'newer in target');
      const before = await storeFingerprint(database, APP_TABLES);
      const text = bundleText(
        [
          good(1, 'aws'),
          { scope: 'prod', name: 'API_KEY', value: 'old', updatedAt: '2000-01-01T00:00:00.000Z' },
        ],
        { header: v2 },
      );
      await expectRejection(
        lockbox.backup.apply(await ageEncrypt(text, pair.recipient), {
          decryption: decryption(),
          batchSize: 1,
        }),
        'IMPORT_CONFLICT',
        [CANARY],
      );
      expect(await storeFingerprint(database, APP_TABLES)).toBe(before);
    });
  });
});
