import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { withRotationLock } from '@lockbox/core/hazmat';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { type Seeded, seed } from './store-fixture.js';

describe.each(DIALECTS)('the rotation lock on %s', (dialect) => {
  let database: TestDatabase;
  let data: Seeded;
  const opened: Lockbox[] = [];

  async function prepare(): Promise<Lockbox> {
    database = await freshDatabase(dialect);
    data = await seed(database, { scopes: 2, perScope: 1, rows: 1 });
    const lockbox = await open(database, data.key);
    opened.push(lockbox);
    return lockbox;
  }

  afterEach(async () => {
    for (const lockbox of opened.splice(0)) await lockbox.close();
    await database?.drop();
  });

  it('refuses a second rotation while the lock is held, naming the holder and since when', async () => {
    const lockbox = await prepare();
    const other = await open(database, data.key);
    opened.push(other);
    const { store, storeId } = other.vault;
    await withRotationLock(store, storeId, async (lock) => {
      await lock.setJob('job-1');
      const refused = await lockbox.rotation
        .rotateMaster({ oldKey: data.key, newKey: generateMasterKey() })
        .catch((err: unknown) => err);
      expect(refused).toMatchObject({
        code: 'ROTATION_IN_PROGRESS',
        message: expect.stringContaining(
          `${hostname()}:${process.pid}:job-1 (host:pid:job) since `,
        ),
        details: { holder: `${hostname()}:${process.pid}:job-1` },
      });
      const status = await lockbox.rotation.status();
      expect(status.lock).toMatchObject({
        holder: `${hostname()}:${process.pid}:job-1`,
        live: true,
      });
    });
    expect((await lockbox.rotation.status()).lock).toBeNull();
    await expect(
      lockbox.rotation.rotateMaster({ oldKey: data.key, newKey: generateMasterKey() }),
    ).resolves.toMatchObject({ oldKeyRetired: true });
  });

  it('takes over a lock whose holder process is dead', async () => {
    const lockbox = await prepare();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(gone.stdout.toString());
    const stamp = new Date().toISOString();
    await lockbox.vault.store.db
      .insertInto('lockbox_locks')
      .values({
        name: 'rotation',
        holder: `${hostname()}:${deadPid}:crashed-job`,
        acquired_at: stamp,
        heartbeat_at: stamp,
      })
      .execute();
    expect((await lockbox.rotation.status()).lock).toMatchObject({ live: false });
    await expect(
      lockbox.rotation.rotateMaster({ oldKey: data.key, newKey: generateMasterKey() }),
    ).resolves.toMatchObject({ kind: 'master' });
    expect((await lockbox.rotation.status()).lock).toBeNull();
  });
});

// The SQLite lock is a row with a heartbeat (PostgreSQL's is a session advisory
// lock, which dies with its connection), so staleness only exists on SQLite.
describe('the rotation lock row on sqlite', () => {
  let database: TestDatabase;
  let data: Seeded;
  const opened: Lockbox[] = [];

  async function prepare(): Promise<Lockbox> {
    database = await freshDatabase('sqlite');
    data = await seed(database, { scopes: 2, perScope: 1, rows: 1 });
    const lockbox = await open(database, data.key);
    opened.push(lockbox);
    return lockbox;
  }

  afterEach(async () => {
    for (const lockbox of opened.splice(0)) await lockbox.close();
    await database?.drop();
  });

  it('treats a holder on another host as live until its heartbeat is two minutes old', async () => {
    const lockbox = await prepare();
    const db = lockbox.vault.store.db;
    const fresh = new Date().toISOString();
    await db
      .insertInto('lockbox_locks')
      .values({
        name: 'rotation',
        holder: 'elsewhere:42:job',
        acquired_at: fresh,
        heartbeat_at: fresh,
      })
      .execute();
    await expect(
      lockbox.rotation.rotateMaster({ oldKey: data.key, newKey: generateMasterKey() }),
    ).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
    const old = new Date(Date.now() - 3 * 60_000).toISOString();
    await db.updateTable('lockbox_locks').set({ heartbeat_at: old }).execute();
    await expect(
      lockbox.rotation.rotateMaster({ oldKey: data.key, newKey: generateMasterKey() }),
    ).resolves.toMatchObject({ kind: 'master' });
  });
});
