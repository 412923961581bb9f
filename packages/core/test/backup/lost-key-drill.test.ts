/**
 * The lost-key drill: a store with a recovery recipient loses its master key
 * file; the operator recovers with the offline identity and a new master key.
 * Every secret and field reads back identical, the audit chain still verifies,
 * and the old master key opens nothing.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateMasterKey,
  Keyring,
  type Lockbox,
  masterKeyFromFile,
  openLockbox,
  Recovery,
  writeMasterKeyFile,
} from '@lockbox/core';
import {
  DIALECTS,
  drivers,
  expectRejection,
  freshDatabase,
  open,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity, writeAgeIdentityFile } from '../../src/keys/age-identity.js';
import { fileBytes, storeDigest } from './backup-helpers.js';

describe.each(DIALECTS)('the lost-key drill on %s', (dialect) => {
  let database: TestDatabase;
  let dir: string;
  const opened: Lockbox[] = [];

  afterEach(async () => {
    for (const l of opened.splice(0)) await l.close();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function setUp() {
    database = await freshDatabase(dialect);
    dir = await mkdtemp(join(tmpdir(), 'lockbox-drill-'));
    const keyFile = join(dir, 'master.key');
    const identityFile = join(dir, 'recovery.txt');
    await writeMasterKeyFile(keyFile, generateMasterKey());
    const pair = await generateAgeIdentity();
    await writeAgeIdentityFile(identityFile, pair.identity);
    const oldKey = await masterKeyFromFile(keyFile);
    const lockbox = await openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(oldKey),
      audit: true,
    });
    return { keyFile, identityFile, pair, oldKey, lockbox };
  }

  it('recovers every secret with the identity and a new key; the old key opens nothing', async () => {
    const { keyFile, identityFile, pair, oldKey, lockbox } = await setUp();
    // Secrets before and after the recipient is set: both kinds must be recoverable.
    await lockbox.secrets.set('prod', 'before-recovery-was-set', 'v0');
    await lockbox.recovery.add(pair.recipient);
    const expected = new Map<string, string | Buffer>();
    for (let i = 0; i < 40; i++) {
      const value = i % 5 === 0 ? Buffer.from([i, 0, 255]) : `value-${i}-ünï`;
      await lockbox.secrets.set(`scope-${i % 6}`, `name-${i}`, value);
      expected.set(`scope-${i % 6}/name-${i}`, value);
    }
    expected.set('prod/before-recovery-was-set', 'v0');
    // A field needs its table (its key is checked at registration).
    await sql`create table accounts (id integer primary key, token text)`.execute(
      lockbox.vault.store.db,
    );
    await lockbox.fields.register({ table: 'accounts', column: 'token' });
    const fieldCiphertext = await lockbox.fields.encrypt('accounts', 'token', 7, 'field-secret');
    expect((await lockbox.backup.state()).state).toBe('ok');
    await lockbox.close();

    // The master key is lost.
    await rm(keyFile);
    const newKey = generateMasterKey();
    const summary = await Recovery.recoverStore({
      database: database.url,
      drivers,
      identity: await readFile(identityFile, 'utf8'),
      newKey,
      actor: { id: 'cli:ops' },
      requestId: 'drill-1',
    });
    expect(summary.recipient).toBe(pair.recipient);
    expect(summary.retiredFingerprints).toEqual([Keyring.fromBytes(oldKey).primary.fingerprint]);
    expect(summary.dataKeys).toBeGreaterThanOrEqual(8);
    expect(summary.verified).toBeGreaterThanOrEqual(7);
    expect(summary.audited).toBe(true);

    const recovered = await open(database, Keyring.fromBytes(newKey));
    opened.push(recovered);
    for (const [key, value] of expected) {
      const [scope, name] = key.split('/') as [string, string];
      if (typeof value === 'string') expect(await recovered.secrets.get(scope, name)).toBe(value);
      else expect(await recovered.secrets.getBytes(scope, name)).toEqual(value);
    }
    expect(await recovered.fields.decrypt('accounts', 'token', 7, fieldCiphertext)).toBe(
      'field-secret',
    );
    expect(await recovered.audit.verify()).toMatchObject({ ok: true });
    expect(await recovered.audit.list({ order: 'desc', limit: 1 })).toMatchObject([
      { action: 'recovery.recover', actorId: 'cli:ops', requestId: 'drill-1' },
    ]);
    const state = await recovered.backup.state();
    expect(state.recoveryRecipient).toBe(pair.recipient);
    expect(state.keysChangedAt).toBeDefined();

    await expectRejection(open(database, Keyring.fromBytes(oldKey)), 'KEY_WRONG');
  });

  it('refuses, changing nothing: no recipient, the wrong identity, the old key as the new one, gaps', async () => {
    const { identityFile, pair, oldKey, lockbox } = await setUp();
    await lockbox.secrets.set('s', 'n', 'v');
    await lockbox.close();
    const identity = await readFile(identityFile, 'utf8');
    const identityLine = pair.identity;
    const recover = (id: string, newKey: Uint8Array = generateMasterKey()) =>
      Recovery.recoverStore({ database: database.url, drivers, identity: id, newKey });
    /** Opens the store with the old key, runs `change` (if any), and closes it again. */
    const withStore = async <T>(change: (l: Lockbox) => Promise<T>): Promise<T> => {
      const l = await open(database, Keyring.fromBytes(oldKey));
      try {
        return await change(l);
      } finally {
        await l.close();
      }
    };
    const refusedUnchanged = async (
      attempt: () => Promise<unknown>,
      code: Parameters<typeof expectRejection>[1],
    ) => {
      const bytes = fileBytes(database);
      const digest = await withStore(storeDigest);
      await expectRejection(attempt(), code, [identityLine]);
      if (bytes !== undefined) expect(fileBytes(database)?.equals(bytes)).toBe(true);
      expect(await withStore(storeDigest)).toBe(digest);
    };

    await refusedUnchanged(() => recover(identity), 'RECOVERY_NOT_CONFIGURED');
    await withStore((l) => l.recovery.add(pair.recipient));
    const stranger = await generateAgeIdentity();
    await refusedUnchanged(() => recover(stranger.identity), 'RECOVERY_IDENTITY_MISMATCH');
    await refusedUnchanged(() => recover(identity, oldKey), 'KEY_SAME_AS_OLD');
    // A data key without a recovery wrap (made by an instance that did not know the recipient yet).
    await withStore((l) =>
      l.vault.store.db.updateTable('lockbox_data_keys').set({ wrapped_recovery: null }).execute(),
    );
    await refusedUnchanged(() => recover(identity), 'RECOVERY_INCOMPLETE');
    await refusedUnchanged(() => recover('AGE-SECRET-KEY-1NOTAKEY'), 'RECOVERY_IDENTITY_INVALID');
  });

  it('refuses a recovery while a rotation holds the lock', async () => {
    const { identityFile, pair, lockbox } = await setUp();
    await lockbox.secrets.set('s', 'n', 'v');
    await lockbox.recovery.add(pair.recipient);
    const { withRotationLock } = await import('../../src/rotation/rotation-lock.js');
    await withRotationLock(lockbox.vault.store, lockbox.vault.storeId, async () => {
      await expectRejection(
        Recovery.recoverStore({
          database: database.url,
          drivers,
          identity: await readFile(identityFile, 'utf8'),
          newKey: generateMasterKey(),
        }),
        'ROTATION_IN_PROGRESS',
      );
    });
    opened.push(lockbox);
    expect(await lockbox.secrets.get('s', 'n')).toBe('v');
  });
});
