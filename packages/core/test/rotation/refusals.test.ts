/**
 * Refusals change nothing: every refused rotation leaves the store byte-identical
 * (the SQLite file) or row-identical (every row of every table on PostgreSQL).
 */

import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { encryptFernet, parseFernetKey } from '@lockbox/core/hazmat';
import {
  DIALECTS,
  freshDatabase,
  open,
  storeFingerprint,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { appDb, type Seeded, seed } from './store-fixture.js';

describe.each(DIALECTS)('refused rotations on %s', (dialect) => {
  let database: TestDatabase;
  let data: Seeded;
  let lockbox: Lockbox;

  async function prepare(): Promise<void> {
    database = await freshDatabase(dialect);
    data = await seed(database, { scopes: 3, perScope: 2, rows: 3 });
    lockbox = await open(database, data.key);
  }

  async function expectRefusedUnchanged(code: string, attempt: () => Promise<unknown>) {
    const before = await storeFingerprint(database);
    await expect(attempt()).rejects.toMatchObject({ code });
    expect(await storeFingerprint(database)).toBe(before);
  }

  afterEach(async () => {
    await lockbox?.close();
    await database?.drop();
  });

  it('refuses a wrong old key (ROTATION_OLD_KEY_MISMATCH)', async () => {
    await prepare();
    await expectRefusedUnchanged('ROTATION_OLD_KEY_MISMATCH', () =>
      lockbox.rotation.rotateMaster({ oldKey: generateMasterKey(), newKey: generateMasterKey() }),
    );
  });

  it.each([
    ['bad encoding', 'not a key!', 'KEY_INVALID_ENCODING'],
    ['31 bytes of hex', 'ab'.repeat(31), 'KEY_INVALID_LENGTH'],
    ['16 raw bytes', Buffer.alloc(16, 7), 'KEY_INVALID_LENGTH'],
    ['empty', '', 'KEY_INVALID_ENCODING'],
  ] as const)('refuses an invalid new key: %s', async (_what, newKey, code) => {
    await prepare();
    await expectRefusedUnchanged(code, () =>
      lockbox.rotation.rotateMaster({ oldKey: data.key, newKey }),
    );
  });

  it('refuses a new key equal to the old one, in any encoding (KEY_SAME_AS_OLD)', async () => {
    await prepare();
    await expectRefusedUnchanged('KEY_SAME_AS_OLD', () =>
      lockbox.rotation.rotateMaster({
        oldKey: data.key.toString('hex'),
        newKey: data.key.toString('base64url'),
      }),
    );
  });

  it('refuses a master rotation whose first data key does not unwrap (ROTATION_FIRST_ROW_FAILED)', async () => {
    await prepare();
    const db = lockbox.vault.store.db;
    const first = await db
      .selectFrom('lockbox_data_keys')
      .select(['id', 'wrapped'])
      .orderBy('id')
      .limit(1)
      .executeTakeFirstOrThrow();
    const wrapped = first.wrapped as string;
    const flipped = wrapped.slice(0, -3) + (wrapped.at(-3) === 'A' ? 'B' : 'A') + wrapped.slice(-2);
    await db
      .updateTable('lockbox_data_keys')
      .set({ wrapped: flipped })
      .where('id', '=', first.id)
      .execute();
    await expectRefusedUnchanged('ROTATION_FIRST_ROW_FAILED', () =>
      lockbox.rotation.rotateMaster({ oldKey: data.key, newKey: generateMasterKey() }),
    );
  });

  it('refuses a data re-key whose first secret does not decrypt (ROTATION_FIRST_ROW_FAILED)', async () => {
    await prepare();
    const db = lockbox.vault.store.db;
    const first = await db
      .selectFrom('lockbox_secrets')
      .select(['scope', 'name', 'ciphertext'])
      .orderBy('scope')
      .orderBy('name')
      .limit(1)
      .executeTakeFirstOrThrow();
    const text = first.ciphertext;
    const flipped = text.slice(0, -3) + (text.at(-3) === 'A' ? 'B' : 'A') + text.slice(-2);
    await db
      .updateTable('lockbox_secrets')
      .set({ ciphertext: flipped })
      .where('scope', '=', first.scope)
      .where('name', '=', first.name)
      .execute();
    await expectRefusedUnchanged('ROTATION_FIRST_ROW_FAILED', () => lockbox.rotation.rekeyData());
  });

  it('refuses an adoption whose first Fernet row does not open with the given key', async () => {
    await prepare();
    await sql`create table legacy_tokens (id integer primary key, token text)`.execute(
      appDb(lockbox),
    );
    const appKey = parseFernetKey(Buffer.alloc(32, 1).toString('base64url'));
    const token = encryptFernet(appKey, Buffer.from('sk-live-1'));
    await sql`insert into legacy_tokens values (1, ${token}), (2, 'plain')`.execute(appDb(lockbox));
    await lockbox.fields.register({ table: 'legacy_tokens', column: 'token' });
    const wrongKey = Buffer.alloc(32, 2).toString('base64url');
    const before = await storeFingerprint(database, ['legacy_tokens']);
    await expect(
      lockbox.rotation.adopt({
        table: 'legacy_tokens',
        column: 'token',
        fernetKeys: [wrongKey],
        plaintext: true,
      }),
    ).rejects.toMatchObject({ code: 'ROTATION_FIRST_ROW_FAILED', details: { rowId: '1' } });
    expect(await storeFingerprint(database, ['legacy_tokens'])).toBe(before);
  });
});
