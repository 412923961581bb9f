import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { encryptV2 } from '@lockbox/core/hazmat';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { appDb, FIELD_TABLE, seed } from './store-fixture.js';

describe.each(DIALECTS)('the census on %s', (dialect) => {
  let database: TestDatabase;
  const opened: Lockbox[] = [];

  afterEach(async () => {
    for (const lockbox of opened.splice(0)) await lockbox.close();
    await database?.drop();
  });

  it('counts ciphertexts per master key, legacy and unreadable rows, and what can be dropped', async () => {
    database = await freshDatabase(dialect);
    const data = await seed(database, { scopes: 4, perScope: 2, rows: 4 });
    const newKey = generateMasterKey();
    const lockbox = await open(database, data.key);
    opened.push(lockbox);
    const oldFp = lockbox.vault.keyring.primary.fingerprint;
    // Interrupt a master rotation after 2 of the 5 data keys.
    await expect(
      lockbox.rotation.rotateMaster({
        oldKey: data.key,
        newKey,
        mode: 'online',
        batchSize: 2,
        onProgress: (e) => {
          if (e.done === 2) throw new Error('stop');
        },
      }),
    ).rejects.toThrow('stop');
    const newFp = lockbox.vault.keyring.primary.fingerprint;
    const db = appDb(lockbox);
    await sql`insert into ${sql.table(FIELD_TABLE)} values (100, 'plain text'), (101, ${encryptV2(Buffer.alloc(32, 3), Buffer.from('v'))}), (102, 'lb1:AAAA'), (103, null)`.execute(
      db,
    );

    const census = await lockbox.rotation.census();
    const byFp = new Map(census.masterKeys.map((k) => [k.fingerprint, k]));
    // 3 user keys and the integrity key (created at init) not yet rewrapped.
    expect(byFp.get(oldFp)).toMatchObject({
      dataKeys: 4,
      needed: true,
      inKeyring: true,
      primary: false,
    });
    // 2 rewrapped, and the audit log's key, created under the new primary by the
    // audit entry that records the interrupted rotation.
    expect(byFp.get(newFp)).toMatchObject({
      dataKeys: 3,
      needed: true,
      primary: true,
      recorded: 'active',
    });
    expect((byFp.get(oldFp)?.secrets ?? 0) + (byFp.get(newFp)?.secrets ?? 0)).toBe(8);
    expect((byFp.get(oldFp)?.fieldRows ?? 0) + (byFp.get(newFp)?.fieldRows ?? 0)).toBe(4);
    expect(census.droppable).toEqual([]);
    expect(census.missing).toEqual([]);
    expect(census.secrets).toMatchObject({ total: 8, unreadable: 0 });
    expect(census.fields).toEqual([
      expect.objectContaining({
        table: FIELD_TABLE,
        rows: 7,
        lockbox: 5,
        plaintext: 1,
        v2: 1,
        fernet: 0,
        unreadable: 1,
      }),
    ]);
    await expect(lockbox.rotation.assertKeyDroppable(oldFp)).rejects.toMatchObject({
      code: 'KEY_STILL_NEEDED',
      details: { dataKeys: 4 },
    });

    // A tampered secret is invisible to the key check and caught by verify.
    const first = await lockbox.vault.store.db
      .selectFrom('lockbox_secrets')
      .select(['scope', 'name', 'ciphertext'])
      .orderBy('scope')
      .limit(1)
      .executeTakeFirstOrThrow();
    const tampered = `${first.ciphertext.slice(0, -2)}${first.ciphertext.at(-2) === 'A' ? 'B' : 'A'}${first.ciphertext.at(-1)}`;
    await lockbox.vault.store.db
      .updateTable('lockbox_secrets')
      .set({ ciphertext: tampered })
      .where('scope', '=', first.scope)
      .where('name', '=', first.name)
      .execute();
    expect((await lockbox.rotation.census()).secrets.unreadable).toBe(0);
    const verified = await lockbox.rotation.census({ verify: true });
    expect(verified.secrets).toMatchObject({
      unreadable: 1,
      unreadableByReason: { DECRYPT_FAILED: 1 },
    });

    // Finish the rotation: the old key is no longer needed and can be dropped.
    await lockbox.rotation.resume();
    const done = await lockbox.rotation.census();
    expect(done.droppable).toEqual([oldFp]);
    await expect(lockbox.rotation.assertKeyDroppable(oldFp)).resolves.toBeUndefined();
  });
});
