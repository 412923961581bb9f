import { createSecretKey } from 'node:crypto';
import { generateMasterKey, Keyring, type Lockbox, Recovery } from '@lockbox/core';
import { decryptParsed, parseCiphertext, secretRowContext } from '@lockbox/core/hazmat';
import {
  DIALECTS,
  drivers,
  expectRejection,
  freshDatabase,
  open,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity, unwrapWithIdentity } from '../../src/keys/age-identity.js';
import { memorySink, storeDigest } from './backup-helpers.js';

describe.each(DIALECTS)('the recovery recipient on %s', (dialect) => {
  let database: TestDatabase;
  const opened: Lockbox[] = [];

  afterEach(async () => {
    for (const l of opened.splice(0)) await l.close();
    await database.drop();
  });

  async function store(keyring = Keyring.fromBytes(generateMasterKey())): Promise<Lockbox> {
    const lockbox = await open(database, keyring);
    opened.push(lockbox);
    return lockbox;
  }

  /**
   * Proves every live data key's recovery wrap opens with `identity` and decrypts
   * its secrets. Returns the number of user-scope keys (the audit log's own key,
   * scope lockbox:audit, is checked too but not counted).
   */
  async function expectAllRecoverable(lockbox: Lockbox, identity: string): Promise<number> {
    const db = lockbox.vault.store.db;
    const keys = await db
      .selectFrom('lockbox_data_keys')
      .selectAll()
      .where('state', '!=', 'destroyed')
      .execute();
    for (const row of keys) {
      expect(row.wrapped_recovery, `data key of ${row.scope}`).not.toBeNull();
      const bytes = await unwrapWithIdentity(identity, row.wrapped_recovery as string);
      const secret = await db
        .selectFrom('lockbox_secrets')
        .selectAll()
        .where('data_key_id', '=', row.id)
        .executeTakeFirst();
      if (secret !== undefined) {
        const plain = decryptParsed(
          parseCiphertext(secret.ciphertext),
          createSecretKey(bytes),
          secretRowContext(
            secret.scope,
            secret.name,
            secret.value_type,
            Number(secret.version),
            secret.created_at,
          ),
        );
        expect(plain.equals(await lockbox.secrets.getBytes(secret.scope, secret.name))).toBe(true);
      }
    }
    return keys.filter((k) => !k.scope.startsWith('lockbox:')).length;
  }

  it('wraps every existing data key on add, and every new one afterwards (also after reopening)', async () => {
    database = await freshDatabase(dialect);
    const keyring = Keyring.fromBytes(generateMasterKey());
    const lockbox = await store(keyring);
    await lockbox.secrets.set('a', 'x', '1');
    await lockbox.secrets.set('b', 'y', '2');
    const state = await lockbox.backup.state();
    // Two user keys and the store's integrity key.
    expect(state).toMatchObject({ state: 'not-backed-up', dataKeysWithoutRecovery: 3 });
    expect(state.reasons).toContain('no recovery recipient is set');

    const pair = await generateAgeIdentity();
    const change = await lockbox.recovery.add(pair.recipient, {
      actor: { id: 'cli:ops' },
      requestId: 'req-recovery-1',
    });
    expect(change).toEqual({ recipient: pair.recipient, rewrapped: 3, dataKeys: 3 });
    await lockbox.secrets.set('c', 'z', '3');
    expect(await expectAllRecoverable(lockbox, pair.identity)).toBe(3);
    expect(await lockbox.backup.state()).toMatchObject({
      state: 'ok',
      recoveryRecipient: pair.recipient,
      dataKeysWithoutRecovery: 0,
    });

    await lockbox.close();
    opened.splice(0);
    const reopened = await store(keyring);
    await reopened.secrets.set('d', 'w', '4');
    expect(await expectAllRecoverable(reopened, pair.identity)).toBe(4);
    // Four user keys, the audit log's key (created by the recovery.set entry) and the integrity key.
    expect(await reopened.recovery.coverage()).toEqual({
      recipient: pair.recipient,
      dataKeys: 6,
      missing: 0,
    });
    expect(await reopened.audit.list({ action: 'recovery.set' })).toMatchObject([
      { outcome: 'ok', actorId: 'cli:ops', requestId: 'req-recovery-1' },
    ]);
  });

  it('refuses add over a different recipient and replace without one, changing nothing', async () => {
    database = await freshDatabase(dialect);
    const lockbox = await store();
    await lockbox.secrets.set('a', 'x', '1');
    const first = await generateAgeIdentity();
    const second = await generateAgeIdentity();
    const before = await storeDigest(lockbox);
    await expectRejection(lockbox.recovery.replace(second.recipient), 'RECOVERY_NOT_CONFIGURED');
    await expectRejection(lockbox.recovery.add('age1notarecipient'), 'RECIPIENT_INVALID');
    expect(await storeDigest(lockbox)).toBe(before);
    await lockbox.recovery.add(first.recipient);
    const added = await storeDigest(lockbox);
    await expectRejection(lockbox.recovery.add(second.recipient), 'INVALID_ARGUMENT');
    expect(await storeDigest(lockbox)).toBe(added);
    // The refused add did not leave this process wrapping to the other recipient.
    await lockbox.secrets.set('b', 'y', '2');
    await expectAllRecoverable(lockbox, first.identity);
  });

  it('replace rewraps every key for the new recipient; the old identity opens none', async () => {
    database = await freshDatabase(dialect);
    const lockbox = await store();
    await lockbox.secrets.set('a', 'x', '1');
    await lockbox.secrets.set('b', 'y', '2');
    const old = await generateAgeIdentity();
    const next = await generateAgeIdentity();
    await lockbox.recovery.add(old.recipient);
    const change = await lockbox.recovery.replace(next.recipient);
    // Two user keys, the audit log's key and the integrity key.
    expect(change).toEqual({
      recipient: next.recipient,
      previous: old.recipient,
      rewrapped: 4,
      dataKeys: 4,
    });
    expect(await expectAllRecoverable(lockbox, next.identity)).toBe(2);
    const row = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .selectAll()
      .where('scope', '=', 'a')
      .executeTakeFirstOrThrow();
    await expectRejection(
      unwrapWithIdentity(old.identity, row.wrapped_recovery as string),
      'RECOVERY_IDENTITY_MISMATCH',
    );
    expect((await lockbox.backup.state()).recoveryRecipient).toBe(next.recipient);
  });

  it('adding the same recipient again fills only the gaps', async () => {
    database = await freshDatabase(dialect);
    const lockbox = await store();
    for (const scope of ['a', 'b', 'c']) await lockbox.secrets.set(scope, 'x', scope);
    const pair = await generateAgeIdentity();
    await lockbox.recovery.add(pair.recipient);
    // As if another instance, unaware of the recipient, had created this key.
    await lockbox.vault.store.db
      .updateTable('lockbox_data_keys')
      .set({ wrapped_recovery: null })
      .where('scope', '=', 'b')
      .execute();
    const state = await lockbox.backup.state();
    expect(state).toMatchObject({ state: 'not-backed-up', dataKeysWithoutRecovery: 1 });
    expect(state.reasons).toContain('1 data key(s) are not wrapped to the recovery recipient');
    expect(await lockbox.recovery.add(pair.recipient)).toMatchObject({ rewrapped: 1, dataKeys: 5 });
    expect(await expectAllRecoverable(lockbox, pair.identity)).toBe(3);
  });

  it('stays true through master rotation and data re-key; recovery still works after both', async () => {
    database = await freshDatabase(dialect);
    const oldKey = generateMasterKey();
    const lockbox = await store(Keyring.fromBytes(oldKey));
    await lockbox.secrets.set('a', 'x', 'one');
    await lockbox.secrets.set('b', 'y', 'two');
    const pair = await generateAgeIdentity();
    await lockbox.recovery.add(pair.recipient);
    const { sink } = memorySink();
    await lockbox.backup.export(sink, { encryption: { recipients: [pair.recipient] } });
    const newKey = generateMasterKey();
    await lockbox.rotation.rotateMaster({ oldKey, newKey, mode: 'atomic' });
    await lockbox.rotation.rekeyData({ mode: 'atomic' });
    expect((await lockbox.recovery.coverage()).missing).toBe(0);
    await expectAllRecoverable(lockbox, pair.identity);
    const state = await lockbox.backup.state();
    // The rotation moved keysChangedAt past the export, but the recipient still covers every key.
    expect(state.state).toBe('ok');
    expect(Date.parse(state.keysChangedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(state.lastExportAt as string),
    );
    await lockbox.close();
    opened.splice(0);

    const replacement = generateMasterKey();
    await Recovery.recoverStore({
      database: database.url,
      drivers,
      identity: pair.identity,
      newKey: replacement,
    });
    const recovered = await store(Keyring.fromBytes(replacement));
    expect(await recovered.secrets.get('a', 'x')).toBe('one');
    expect(await recovered.secrets.get('b', 'y')).toBe('two');
  });
});
