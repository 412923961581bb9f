import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  connectStore,
  generateMasterKey,
  Keyring,
  parseDatabaseUrl,
  redactDatabaseUrl,
  schemaVersion,
  Vault,
} from '@lockbox/core';
import { migrateToLatest, SCHEMA_VERSION } from '@lockbox/core/hazmat';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('database URLs', () => {
  it('reads file paths, sqlite: and postgres:// URLs', () => {
    expect(parseDatabaseUrl()).toEqual({ dialect: 'sqlite', target: './lockbox.db' });
    expect(parseDatabaseUrl('data/x.db')).toEqual({ dialect: 'sqlite', target: 'data/x.db' });
    expect(parseDatabaseUrl('sqlite:/var/lib/x.db')).toEqual({
      dialect: 'sqlite',
      target: '/var/lib/x.db',
    });
    expect(parseDatabaseUrl('sqlite:///var/lib/x.db')).toEqual({
      dialect: 'sqlite',
      target: '/var/lib/x.db',
    });
    expect(parseDatabaseUrl('postgres://u@h/db').dialect).toBe('postgres');
    expect(parseDatabaseUrl('postgresql://u@h/db').dialect).toBe('postgres');
  });

  it('refuses other schemes and hides passwords', () => {
    expect(() => parseDatabaseUrl('mysql://u:p@h/db')).toThrow(
      expect.objectContaining({ code: 'STORE_URL_UNSUPPORTED' }),
    );
    expect(redactDatabaseUrl('postgres://user:s3cret-canary@host/db')).toBe(
      'postgres://user:***@host/db',
    );
  });
});

describe.each(DIALECTS)('migrations on %s', (dialect) => {
  let database: TestDatabase;
  afterEach(async () => database?.drop());

  it('migrates an empty database, and is safe when several processes open it at once', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey().toString('hex');
    const fixture = fileURLToPath(new URL('../fixtures/open-store.mjs', import.meta.url));
    const outputs = await Promise.all(
      [1, 2, 3].map(() =>
        run(process.execPath, [fixture, database.url, key], { encoding: 'utf8' }),
      ),
    );
    const lines = outputs.map((o) => o.stdout.trim());
    expect(new Set(lines).size).toBe(1);
    expect(lines[0]).toMatch(new RegExp(` ${SCHEMA_VERSION}$`));
  });

  it('refuses a database migrated by a newer Lockbox', async () => {
    database = await freshDatabase(dialect);
    const store = connectStore(database.url, drivers);
    try {
      await migrateToLatest(store);
      await sql`insert into lockbox_migration (name, applied_at) values (${'9999_from_the_future'}, ${new Date().toISOString()})`.execute(
        store.db,
      );
      await expect(schemaVersion(store)).rejects.toMatchObject({ code: 'STORE_SCHEMA_TOO_NEW' });
      const opened = Vault.open({
        database: store,
        keyring: Keyring.fromBytes(generateMasterKey()),
      });
      await expect(opened).rejects.toMatchObject({ code: 'STORE_SCHEMA_TOO_NEW' });
    } finally {
      await store.close();
    }
  });

  it('refuses to open an uninitialised store in open mode, and to create twice', async () => {
    database = await freshDatabase(dialect);
    const keyring = Keyring.fromBytes(generateMasterKey());
    await expect(
      Vault.open({ database: database.url, drivers, keyring, mode: 'open' }),
    ).rejects.toMatchObject({
      code: 'STORE_NOT_INITIALIZED',
    });
    await (await Vault.open({ database: database.url, drivers, keyring, mode: 'create' })).close();
    await expect(
      Vault.open({ database: database.url, drivers, keyring, mode: 'create' }),
    ).rejects.toMatchObject({
      code: 'STORE_ALREADY_INITIALIZED',
    });
  });
});
