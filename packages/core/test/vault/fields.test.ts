import { generateMasterKey, Keyring, Vault } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('fields in application tables on %s', (dialect) => {
  let database: TestDatabase;
  let vault: Vault;

  afterEach(async () => {
    await vault?.close();
    await database?.drop();
  });

  async function setup(): Promise<void> {
    database = await freshDatabase(dialect);
    vault = await Vault.open({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(generateMasterKey()),
    });
    await sql`create table connectors (id text not null primary key, api_key text, webhook_secret text)`.execute(
      vault.store.db,
    );
  }

  it('encrypts into a TEXT column and decrypts bound to table, column and row', async () => {
    await setup();
    await vault.fields.register({ table: 'connectors', column: 'api_key' });
    const text = await vault.fields.encrypt('connectors', 'api_key', 'c-1', 'sk-live-123');
    await sql`insert into connectors (id, api_key) values (${'c-1'}, ${text})`.execute(
      vault.store.db,
    );
    const { rows } = await sql<{
      api_key: string;
    }>`select api_key from connectors where id = ${'c-1'}`.execute(vault.store.db);
    expect(rows[0]?.api_key.startsWith('lb1:')).toBe(true);
    expect(await vault.fields.decrypt('connectors', 'api_key', 'c-1', rows[0]!.api_key)).toBe(
      'sk-live-123',
    );
    expect(await vault.fields.list()).toEqual([
      {
        table: 'connectors',
        column: 'api_key',
        primaryKey: ['id'],
        scope: 'field:connectors.api_key',
      },
    ]);
  });

  it('refuses a value copied to another row or column', async () => {
    await setup();
    await vault.fields.register({ table: 'connectors', column: 'api_key' });
    await vault.fields.register({
      table: 'connectors',
      column: 'webhook_secret',
      scope: 'field:connectors.api_key',
    });
    const text = await vault.fields.encrypt('connectors', 'api_key', 'c-1', 'sk-live-123');
    await expect(vault.fields.decrypt('connectors', 'api_key', 'c-2', text)).rejects.toMatchObject({
      code: 'SECRET_UNDECRYPTABLE',
      details: { table: 'connectors', column: 'api_key', rowId: 'c-2' },
    });
    await expect(
      vault.fields.decrypt('connectors', 'webhook_secret', 'c-1', text),
    ).rejects.toMatchObject({
      code: 'SECRET_UNDECRYPTABLE',
    });
  });

  it('refuses to encrypt an unregistered field, and invalid identifiers', async () => {
    await setup();
    await expect(vault.fields.encrypt('connectors', 'api_key', 1, 'x')).rejects.toMatchObject({
      code: 'FIELD_NOT_REGISTERED',
    });
    await expect(
      vault.fields.register({ table: 'connectors; drop table x', column: 'a' }),
    ).rejects.toMatchObject({
      code: 'FIELD_INVALID',
    });
    await expect(vault.fields.decrypt('connectors', 'api_key', 1, 'v2:abc')).rejects.toMatchObject({
      code: 'FIELD_NOT_REGISTERED',
    });
  });
});
