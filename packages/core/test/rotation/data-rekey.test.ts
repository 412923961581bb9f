import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { encryptToText, fieldContext, secretContext } from '@lockbox/core/hazmat';
import {
  DIALECTS,
  freshDatabase,
  open,
  storeFingerprint,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  appDb,
  dataKeyStates,
  expectAllReadable,
  FIELD_COLUMN,
  FIELD_TABLE,
  type Seeded,
  secretKey,
  seed,
} from './store-fixture.js';

describe.each(DIALECTS)('data re-key on %s', (dialect) => {
  let database: TestDatabase;
  const opened: Lockbox[] = [];

  async function seeded(): Promise<{ data: Seeded; lockbox: Lockbox }> {
    database = await freshDatabase(dialect);
    const data = await seed(database, { scopes: 6, perScope: 3, rows: 8 });
    const lockbox = await open(database, data.key);
    opened.push(lockbox);
    // The audit log's key lives in the internal scope "lockbox:audit".
    await lockbox.audit.record({ action: 'test.seed', outcome: 'ok' });
    return { data, lockbox };
  }

  async function userKeyIds(lockbox: Lockbox, state: string): Promise<string[]> {
    const rows = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select(['id', 'scope'])
      .where('state', '=', state as 'active')
      .orderBy('id')
      .execute();
    return rows.filter((r) => !r.scope.startsWith('lockbox:')).map((r) => r.id);
  }

  afterEach(async () => {
    for (const lockbox of opened.splice(0)) await lockbox.close();
    await database?.drop();
  });

  it.each(['online', 'atomic'] as const)(
    're-encrypts every secret and field row under new data keys and destroys the old ones (%s)',
    async (mode) => {
      const { data, lockbox } = await seeded();
      const oldIds = await userKeyIds(lockbox, 'active');
      expect(oldIds).toHaveLength(7);
      const auditKey = await lockbox.vault.store.db
        .selectFrom('lockbox_data_keys')
        .selectAll()
        .where('scope', '=', 'lockbox:audit')
        .executeTakeFirstOrThrow();
      // No field grace period: this test checks every old key is destroyed by the job.
      const result = await lockbox.rotation.rekeyData({ mode, batchSize: 5, fieldGraceMs: 0 });
      expect(result).toMatchObject({
        kind: 'data',
        mode,
        scopes: 7,
        dataKeys: { retired: 7, created: 7, destroyed: 7, retained: 0 },
        secrets: 18,
        fields: [{ table: FIELD_TABLE, column: FIELD_COLUMN, rows: 8 }],
        rows: 26,
        tables: 2,
        conflicts: 0,
        unreadable: 0,
      });
      const destroyed = await lockbox.vault.store.db
        .selectFrom('lockbox_data_keys')
        .selectAll()
        .where('id', 'in', oldIds)
        .execute();
      expect(destroyed.map((k) => [k.state, k.wrapped, k.wrapped_recovery])).toEqual(
        oldIds.map(() => ['destroyed', null, null]),
      );
      // The audit key was retired, not destroyed (verify-only, still wrapped): the
      // re-key's own entry started the next audit key, and the chain still verifies.
      const auditKeys = await lockbox.vault.store.db
        .selectFrom('lockbox_data_keys')
        .selectAll()
        .where('scope', '=', 'lockbox:audit')
        .orderBy('version')
        .execute();
      expect(auditKeys.map((k) => [k.id, k.state, k.wrapped, k.version])).toEqual([
        [auditKey?.id, 'retiring', auditKey?.wrapped, 1],
        [expect.any(String), 'active', expect.any(String), 2],
      ]);
      expect(await lockbox.audit.verify()).toMatchObject({ ok: true });
      // Destroyed keys are gone from this instance's cache too.
      await expect(lockbox.vault.dataKeys.open(oldIds[0]!)).rejects.toMatchObject({
        code: 'DATA_KEY_UNDECRYPTABLE',
      });
      await expectAllReadable(lockbox, data);
      const fresh = await open(database, data.key);
      opened.push(fresh);
      await expectAllReadable(fresh, data);
      expect(await dataKeyStates(fresh)).toMatchObject({
        user: { active: 7, destroyed: 7 },
        internal: { active: 2 },
      });
    },
  );

  it('catches a row written with a retiring key behind the cursor, in a verification pass', async () => {
    const { data, lockbox } = await seeded();
    const oldIds = await userKeyIds(lockbox, 'active');
    let events = 0;
    await expect(
      lockbox.rotation.rekeyData({
        mode: 'online',
        batchSize: 4,
        onProgress: (e) => {
          if (e.phase === 'fields' && ++events === 1) throw new Error('paused');
        },
      }),
    ).rejects.toThrow('paused');
    // Paused after every secret and the first field batch (rows 1-4) were re-encrypted.
    // A writer that read the active key just before the switch writes with it now,
    // behind the cursor: only a verification pass can find these rows.
    const db = lockbox.vault.store.db;
    const row = await db
      .selectFrom('lockbox_secrets')
      .selectAll()
      .where('scope', '=', 'tenant:0')
      .where('name', '=', 'credential-0')
      .executeTakeFirstOrThrow();
    expect(oldIds).not.toContain(row.data_key_id);
    const oldKeyRow = await db
      .selectFrom('lockbox_data_keys')
      .select('id')
      .where('scope', '=', 'tenant:0')
      .where('state', '=', 'retiring')
      .executeTakeFirstOrThrow();
    const stale = await lockbox.vault.dataKeys.open(oldKeyRow.id);
    const ciphertext = encryptToText(
      stale.idBytes,
      stale.key,
      Buffer.from('written late'),
      secretContext('tenant:0', 'credential-0', 'utf8'),
    );
    await db
      .updateTable('lockbox_secrets')
      .set({ ciphertext, data_key_id: stale.id, version: row.version + 1 })
      .where('scope', '=', 'tenant:0')
      .where('name', '=', 'credential-0')
      .execute();
    data.secrets.set(secretKey('tenant:0', 'credential-0'), 'written late');
    // And a field row, encrypted by the application before the switch, saved now.
    const fieldKey = await db
      .selectFrom('lockbox_data_keys')
      .select('id')
      .where('scope', '=', `field:${FIELD_TABLE}.${FIELD_COLUMN}`)
      .where('state', '=', 'retiring')
      .executeTakeFirstOrThrow();
    const fieldStale = await lockbox.vault.dataKeys.open(fieldKey.id);
    const late = encryptToText(
      fieldStale.idBytes,
      fieldStale.key,
      Buffer.from('{"late":true}'),
      fieldContext(FIELD_TABLE, FIELD_COLUMN, ['id'], ['1']),
    );
    await sql`update ${sql.table(FIELD_TABLE)} set ${sql.ref(FIELD_COLUMN)} = ${late} where id = 1`.execute(
      appDb(lockbox),
    );
    data.fieldRows.set(1, '{"late":true}');

    const result = await lockbox.rotation.resume({ batchSize: 4, fieldGraceMs: 0 });
    expect(result).toMatchObject({ kind: 'data', resumed: true });
    if (result.kind !== 'data') throw new Error('expected a data re-key');
    expect(result.dataKeys).toMatchObject({ destroyed: 7, retained: 0 });
    // The late rows were re-encrypted by the verification pass, on top of the 26.
    expect(result.rows).toBe(28);
    await expectAllReadable(lockbox, data);
    const fresh = await open(database, data.key);
    opened.push(fresh);
    await expectAllReadable(fresh, data);
  });

  it('keeps application writes made during an online re-key', async () => {
    const { data, lockbox } = await seeded();
    // On SQLite a second connection in this process would block the thread while the
    // job's batch holds the write lock (better-sqlite3 is synchronous), so the
    // application shares the job's instance there; other processes: concurrency.test.ts.
    const app = dialect === 'postgres' ? await open(database, data.key) : lockbox;
    if (app !== lockbox) opened.push(app);
    const writes: Promise<unknown>[] = [];
    let n = 0;
    const result = await lockbox.rotation.rekeyData({
      mode: 'online',
      batchSize: 3,
      fieldGraceMs: 0,
      onProgress: () => {
        n += 1;
        const scope = `tenant:${n % 6}`;
        const name = `credential-${n % 3}`;
        const value = `app-write-${n}`;
        data.secrets.set(secretKey(scope, name), value);
        writes.push(app.secrets.set(scope, name, value));
        data.secrets.set(secretKey(scope, `new-${n}`), value);
        writes.push(app.secrets.set(scope, `new-${n}`, value));
      },
    });
    await Promise.all(writes);
    expect(n).toBeGreaterThan(5);
    expect(result.dataKeys.retained).toBe(0);
    await expectAllReadable(lockbox, data);
    expect((await dataKeyStates(lockbox)).user.retiring ?? 0).toBe(0);
  });

  it('dry run proves and counts, and changes nothing', async () => {
    const { data, lockbox } = await seeded();
    await lockbox.close();
    opened.length = 0;
    const before = await storeFingerprint(database);
    const again = await open(database, data.key);
    const result = await again.rotation.rekeyData({ dryRun: true });
    await again.close();
    expect(result).toMatchObject({
      dryRun: true,
      jobId: null,
      mode: 'atomic',
      dataKeys: { retired: 7 },
      secrets: 18,
      rows: 26,
      tables: 2,
    });
    expect(await storeFingerprint(database)).toBe(before);
  });

  it('refuses to start while a master rotation is unfinished', async () => {
    const { data, lockbox } = await seeded();
    await expect(
      lockbox.rotation.rotateMaster({
        oldKey: data.key,
        newKey: generateMasterKey(),
        mode: 'online',
        batchSize: 2,
        onProgress: (e) => {
          if (e.done > 0) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    await expect(lockbox.rotation.rekeyData()).rejects.toMatchObject({
      code: 'ROTATION_IN_PROGRESS',
      message: expect.stringContaining('lockbox rotate resume'),
    });
    const abandoned = await lockbox.rotation.abandon();
    expect(abandoned).toMatchObject({ kind: 'master', state: 'failed' });
    expect((await lockbox.rotation.rekeyData()).dataKeys.retained).toBe(0);
    await expectAllReadable(lockbox, data);
  });
});
