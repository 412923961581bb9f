/**
 * The multi-instance seams, with two real processes on one PostgreSQL: this test
 * process is one instance, fixtures/instance-child.mjs the other, started first.
 *
 * (a) an instance started before `recovery add` elsewhere wraps the data keys it
 *     makes afterwards to the recipient (it reads it when a key is made);
 * (b) an instance whose primary master key another instance's rotation retired
 *     refuses to make data keys under it (MASTER_KEY_RETIRED) and reports itself
 *     not ready.
 */

import { generateMasterKey, Keyring, type Lockbox } from '@lockbox/core';
import { freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity, unwrapWithIdentity } from '../../src/keys/age-identity.js';
import { openStore } from './db-writer-helpers.js';
import { type Instance, startInstance } from './instance-child.js';

describe('two instances on postgres', () => {
  let database: TestDatabase;
  let other: Instance | undefined;
  let lockbox: Lockbox | undefined;

  afterEach(async () => {
    await other?.stop();
    await lockbox?.close();
    other = undefined;
    lockbox = undefined;
    await database.drop();
  });

  it('an instance started before `recovery add` elsewhere wraps its new data keys to the recipient', async () => {
    database = await freshDatabase('postgres');
    const key = generateMasterKey();
    lockbox = await openStore(database, Keyring.fromBytes(key));
    other = await startInstance({ url: database.url, primary: key });
    const owner = await generateAgeIdentity();
    await lockbox.recovery.add(owner.recipient);

    expect(await other.send({ op: 'set', scope: 'tenant:9', name: 'K', value: 'v' })).toEqual({
      ok: true,
      result: null,
    });
    const row = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select('wrapped_recovery')
      .where('scope', '=', 'tenant:9')
      .executeTakeFirstOrThrow();
    expect(row.wrapped_recovery).not.toBeNull();
    (await unwrapWithIdentity(owner.identity, row.wrapped_recovery as string)).fill(0);
    expect(await lockbox.backup.state()).toMatchObject({
      state: 'ok',
      dataKeysWithoutRecovery: 0,
    });
  });

  it("an instance whose primary another instance's rotation retired makes no data key under it", async () => {
    database = await freshDatabase('postgres');
    const oldKey = generateMasterKey();
    const newKey = generateMasterKey();
    lockbox = await openStore(database, Keyring.fromBytes(oldKey));
    await lockbox.secrets.set('prod', 'K', 'v');
    other = await startInstance({ url: database.url, primary: oldKey });
    expect(await other.send({ op: 'ready' })).toEqual({ ok: true, result: [] });

    const rotated = await lockbox.rotation.rotateMaster({
      oldKey: Keyring.fromBytes(oldKey).primary,
      newKey,
      mode: 'online',
    });
    expect(rotated.oldKeyRetired).toBe(true);

    const refused = await other.send({ op: 'set', scope: 'tenant:10', name: 'K', value: 'v' });
    expect(refused).toMatchObject({ ok: false, code: 'MASTER_KEY_RETIRED' });
    const ready = await other.send({ op: 'ready' });
    expect((ready.result as { code: string }[]).map((p) => p.code).sort()).toEqual([
      'KEY_NOT_IN_KEYRING',
      'MASTER_KEY_RETIRED',
    ]);
    const oldFp = Keyring.fromBytes(oldKey).primary.fingerprint;
    const underOld = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select('id')
      .where('master_fingerprint', '=', oldFp)
      .where('state', '!=', 'destroyed')
      .execute();
    expect(underOld).toEqual([]);
    // This instance, on the new key, is ready and writes.
    expect(await lockbox.readinessProblems()).toEqual([]);
    await lockbox.secrets.set('tenant:10', 'K', 'v');
  });
});
