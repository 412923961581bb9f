/**
 * The database writer: someone with raw write access to every Lockbox table (a
 * leaked database credential, an SQL injection in the host application) and no
 * master key. Every attack below must be refused or detected, and the canary
 * secret must never come out. Runs on both dialects.
 */
import { createHmac } from 'node:crypto';
import { connectStore, generateMasterKey, Keyring, type Lockbox } from '@lockbox/core';
import {
  DIALECTS,
  drivers,
  expectRejection,
  freshDatabase,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../src/keys/age-identity.js';
import {
  formatToken,
  hashTokenSecret,
  newTokenId,
  newTokenSecret,
} from '../../src/tokens/token-format.js';
import {
  attack,
  attackerHarvest,
  CANARY,
  openStore,
  reportedBreaks,
  tally,
} from './db-writer-helpers.js';

describe.each(DIALECTS)('the database writer on %s', (dialect) => {
  let database: TestDatabase;
  const opened: Lockbox[] = [];

  afterEach(async () => {
    for (const l of opened.splice(0)) await l.close();
    await database.drop();
  });

  async function store(keyring: Keyring): Promise<Lockbox> {
    const lockbox = await openStore(database, keyring);
    opened.push(lockbox);
    return lockbox;
  }

  async function setup(withRecipient: boolean) {
    database = await freshDatabase(dialect);
    const keyring = Keyring.fromBytes(generateMasterKey());
    const lockbox = await store(keyring);
    const owner = await generateAgeIdentity();
    if (withRecipient) await lockbox.recovery.add(owner.recipient);
    await lockbox.secrets.set('prod', 'STRIPE_KEY', CANARY);
    return { keyring, lockbox, owner, db: lockbox.vault.store.db };
  }

  it.each([true, false])(
    'a recovery recipient swapped in (recipient already set: %s) receives no data key, through a re-key or a new scope',
    async (withRecipient) => {
      const { keyring, lockbox, owner, db } = await setup(withRecipient);
      const attacker = await generateAgeIdentity();
      await attack('swap or add the recovery recipient', async () => {
        await db
          .insertInto('lockbox_meta')
          .values({ key: 'recovery_recipient', value: attacker.recipient })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: attacker.recipient }))
          .execute();
        // The live handle and a restarted one both refuse to wrap to it.
        const restarted = await store(keyring);
        for (const handle of [lockbox, restarted]) {
          await expectRejection(
            handle.secrets.set('new-scope', 'K', 'v'),
            'RECOVERY_RECIPIENT_UNAUTHENTICATED',
          );
          await expectRejection(handle.rotation.rekeyData(), 'RECOVERY_RECIPIENT_UNAUTHENTICATED');
        }
        expect(await reportedBreaks(restarted)).toContain('lockbox_meta recovery_recipient');
        expect(await restarted.readinessProblems()).toMatchObject([
          { code: 'INTEGRITY_CHECK_FAILED' },
        ]);
        const state = await restarted.backup.state();
        expect(state).toMatchObject({ state: 'not-backed-up', recoveryRecipientBroken: true });
        expect(await attackerHarvest(restarted, attacker.identity)).toBe(0);
      });
      await attack('replay a recipient MAC made by another store', async () => {
        const other = await freshDatabase(dialect);
        try {
          const theirs = await openStore(other, Keyring.fromBytes(generateMasterKey()));
          await theirs.recovery.add(attacker.recipient);
          const mac = await theirs.vault.store.db
            .selectFrom('lockbox_meta')
            .select('value')
            .where('key', '=', 'recovery_recipient.mac')
            .executeTakeFirstOrThrow();
          await theirs.close();
          await db
            .insertInto('lockbox_meta')
            .values({ key: 'recovery_recipient.mac', value: mac.value })
            .onConflict((oc) => oc.column('key').doUpdateSet({ value: mac.value }))
            .execute();
        } finally {
          await other.drop();
        }
        const restarted = await store(keyring);
        await expectRejection(
          restarted.secrets.set('another-scope', 'K', 'v'),
          'RECOVERY_RECIPIENT_UNAUTHENTICATED',
        );
        expect(await attackerHarvest(restarted, attacker.identity)).toBe(0);
      });
      // The operator's way out: replace with the recipient they hold; then writes go on.
      await lockbox.recovery.replace(owner.recipient);
      await lockbox.secrets.set('new-scope', 'K', 'v');
      await lockbox.rotation.rekeyData();
      expect(await reportedBreaks(lockbox)).toEqual([]);
      expect(await attackerHarvest(lockbox, attacker.identity)).toBe(0);
      expect(await lockbox.secrets.get('prod', 'STRIPE_KEY')).toBe(CANARY);
    },
  );

  it('forged, widened, un-revoked and copied tokens are refused with AUTH_INVALID', async () => {
    const { keyring, lockbox, db } = await setup(false);
    const reader = await lockbox.tokens.create({
      name: 'reader',
      permissions: ['secrets:read:dev'],
    });
    const other = await lockbox.tokens.create({ name: 'other', permissions: ['audit:read'] });
    const revoked = await lockbox.tokens.create({ name: 'old', permissions: ['admin'] });
    await lockbox.tokens.revoke(revoked.id);
    const now = new Date().toISOString();

    await attack('insert a token whose hash is computed the old (sha256) way', async () => {
      const id = newTokenId();
      const secret = newTokenSecret();
      await db
        .insertInto('lockbox_tokens')
        .values({
          id,
          name: 'evil',
          hash: hashTokenSecret(id, secret),
          permissions: JSON.stringify(['admin', 'keys:rotate']),
          created_at: now,
          created_by: null,
          last_used_at: null,
          revoked_at: null,
          mac: null,
        })
        .execute();
      await expectRejection(lockbox.tokens.verify(formatToken(id, secret)), 'AUTH_INVALID');
    });
    await attack('insert a keyed-format hash under a guessed key, with a copied MAC', async () => {
      const id = newTokenId();
      const secret = newTokenSecret();
      const guessed = createHmac('sha256', Buffer.alloc(32)).update(secret).digest('hex');
      const copied = await db
        .selectFrom('lockbox_tokens')
        .select('mac')
        .where('id', '=', other.id)
        .executeTakeFirstOrThrow();
      await db
        .insertInto('lockbox_tokens')
        .values({
          id,
          name: 'evil2',
          hash: `hmac-sha256:${guessed}`,
          permissions: JSON.stringify(['admin']),
          created_at: now,
          created_by: null,
          last_used_at: null,
          revoked_at: null,
          mac: copied.mac,
        })
        .execute();
      await expectRejection(lockbox.tokens.verify(formatToken(id, secret)), 'AUTH_INVALID');
    });
    await attack("widen an existing token's permissions", async () => {
      await db
        .updateTable('lockbox_tokens')
        .set({ permissions: JSON.stringify(['admin']) })
        .where('id', '=', reader.id)
        .execute();
      await expectRejection(lockbox.tokens.verify(reader.token), 'AUTH_INVALID');
    });
    await attack('un-revoke a revoked token', async () => {
      await db
        .updateTable('lockbox_tokens')
        .set({ revoked_at: null })
        .where('id', '=', revoked.id)
        .execute();
      await expectRejection(lockbox.tokens.verify(revoked.token), 'AUTH_INVALID');
    });
    await attack("copy one token's hash, permissions and MAC onto another row", async () => {
      const source = await db
        .selectFrom('lockbox_tokens')
        .selectAll()
        .where('id', '=', revoked.id)
        .executeTakeFirstOrThrow();
      await db
        .updateTable('lockbox_tokens')
        .set({ hash: source.hash, permissions: source.permissions, mac: source.mac })
        .where('id', '=', other.id)
        .execute();
      await expectRejection(lockbox.tokens.verify(other.token), 'AUTH_INVALID');
    });
    // One message for every refusal, so the caller learns nothing about why.
    const messages = new Set<string>();
    for (const token of [reader.token, other.token, revoked.token, 'lbx_nonsense']) {
      messages.add((await expectRejection(lockbox.tokens.verify(token), 'AUTH_INVALID')).message);
    }
    expect(messages.size).toBe(1);
    // Revoking a forged row does not launder it.
    await lockbox.tokens.revoke(reader.id);
    const restarted = await store(keyring);
    const breaks = await reportedBreaks(restarted);
    for (const id of [reader.id, other.id, revoked.id]) {
      expect(breaks).toContain(`lockbox_tokens ${id}`);
    }
    expect((await restarted.tokens.list()).filter((t) => t.authentic).map((t) => t.id)).toEqual([]);
  });

  it('edited field registrations are never used, and a rotation refuses to walk them', async () => {
    const { keyring, lockbox, db } = await setup(false);
    // A field needs its table (its row key is checked at registration).
    await sql`create table connectors (id text not null primary key, api_key text, notes text)`.execute(
      db,
    );
    await lockbox.fields.register({ table: 'connectors', column: 'api_key' });
    const text = await lockbox.fields.encrypt('connectors', 'api_key', 'c-1', CANARY);
    const edits: [string, Record<string, string>][] = [
      ['redirect to another scope', { scope: 'prod' }],
      ['redirect to another primary-key column', { primary_key: 'owner_id' }],
      ['redirect to another column', { column_name: 'notes' }],
      ['redirect to another table', { table_name: 'users' }],
    ];
    for (const [name, change] of edits) {
      await attack(`edit a field registration: ${name}`, async () => {
        await db
          .updateTable('lockbox_fields')
          .set(change)
          .where('table_name', '=', 'connectors')
          .where('column_name', '=', 'api_key')
          .execute();
        const restarted = await store(keyring);
        const table = change.table_name ?? 'connectors';
        const column = change.column_name ?? 'api_key';
        await expectRejection(
          restarted.fields.encrypt(table, column, 'c-2', 'x'),
          'INTEGRITY_CHECK_FAILED',
        );
        await expectRejection(restarted.rotation.rekeyData(), 'INTEGRITY_CHECK_FAILED');
        expect(await reportedBreaks(restarted)).toContain(`lockbox_fields ${table}.${column}`);
        // Put the row back as it was (its MAC was never touched).
        await db
          .updateTable('lockbox_fields')
          .set({
            table_name: 'connectors',
            column_name: 'api_key',
            primary_key: 'id',
            scope: 'field:connectors.api_key',
          })
          .execute();
      });
    }
    const restored = await store(keyring);
    expect(await restored.fields.decrypt('connectors', 'api_key', 'c-1', text)).toBe(CANARY);
  });

  it('edited master-key records are never used and are reported', async () => {
    const { lockbox, db, keyring: oldKeyring } = await setup(false);
    const newKey = generateMasterKey();
    await lockbox.rotation.rotateMaster({
      oldKey: oldKeyring.primary,
      newKey,
      mode: 'atomic',
    });
    const oldFp = oldKeyring.primary.fingerprint;
    const newKeyring = Keyring.fromBytes(newKey);
    const newFp = newKeyring.primary.fingerprint;
    const { retired_at: retiredAt } = await db
      .selectFrom('lockbox_master_keys')
      .select('retired_at')
      .where('fingerprint', '=', oldFp)
      .executeTakeFirstOrThrow();

    await attack('un-retire the old master key', async () => {
      await db
        .updateTable('lockbox_master_keys')
        .set({ state: 'active', retired_at: null })
        .where('fingerprint', '=', oldFp)
        .execute();
      // An instance still running with the old key as primary does not take the
      // forged "active" for real: it makes no data key under it.
      const withOld = await store(new Keyring(oldKeyring.primary, [newKeyring.primary]));
      await expectRejection(withOld.secrets.set('fresh', 'K', 'v'), 'INTEGRITY_CHECK_FAILED');
      expect(await reportedBreaks(withOld)).toContain(`lockbox_master_keys ${oldFp}`);
      // Put it back as it was, MAC untouched: the retirement is authentic again.
      await db
        .updateTable('lockbox_master_keys')
        .set({ state: 'retired', retired_at: retiredAt })
        .where('fingerprint', '=', oldFp)
        .execute();
      await expectRejection(withOld.secrets.set('fresh', 'K', 'v'), 'MASTER_KEY_RETIRED');
    });
    await attack('retire the current master key', async () => {
      await db
        .updateTable('lockbox_master_keys')
        .set({ state: 'retired', retired_at: new Date().toISOString() })
        .where('fingerprint', '=', newFp)
        .execute();
      const restarted = await store(newKeyring);
      await expectRejection(restarted.secrets.set('fresh', 'K', 'v'), 'INTEGRITY_CHECK_FAILED');
      expect(await reportedBreaks(restarted)).toContain(`lockbox_master_keys ${newFp}`);
      expect((await restarted.readinessProblems()).map((p) => p.code)).toContain(
        'INTEGRITY_CHECK_FAILED',
      );
    });
    await attack('insert a fake master-key fingerprint', async () => {
      const fake = Keyring.fromBytes(generateMasterKey());
      await db
        .insertInto('lockbox_master_keys')
        .values({
          fingerprint: fake.primary.fingerprint,
          state: 'active',
          created_at: new Date().toISOString(),
          retired_at: null,
          mac: null,
        })
        .execute();
      const restarted = await store(newKeyring);
      expect(await reportedBreaks(restarted)).toContain(
        `lockbox_master_keys ${fake.primary.fingerprint}`,
      );
      // A rotation "from" the fake key is refused: the forged record does not count.
      await expectRejection(
        restarted.rotation.rotateMaster({ oldKey: fake.primary, newKey: generateMasterKey() }),
        'ROTATION_OLD_KEY_MISMATCH',
      );
    });
    expect(await (await store(newKeyring)).secrets.get('prod', 'STRIPE_KEY')).toBe(CANARY);
  });

  it('a deleted or edited integrity key is a hard error, never a re-creation', async () => {
    const { keyring, lockbox } = await setup(false);
    const token = await lockbox.tokens.create({ name: 't', permissions: ['admin'] });
    // The writer's own connection, not a Lockbox handle.
    const raw = connectStore(database.url, drivers);
    const db = raw.db;
    const integrityRows = () =>
      db
        .selectFrom('lockbox_data_keys')
        .selectAll()
        .where('scope', '=', 'lockbox:integrity')
        .execute();
    const [original] = await integrityRows();
    await lockbox.close();
    opened.splice(0);

    await attack('mark the integrity key retiring', async () => {
      await sql`update lockbox_data_keys set state = 'retiring' where scope = 'lockbox:integrity'`.execute(
        db,
      );
      await expectRejection(openStore(database, keyring), 'INTEGRITY_KEY_MISSING');
      await sql`update lockbox_data_keys set state = 'active' where scope = 'lockbox:integrity'`.execute(
        db,
      );
    });
    await attack('delete the integrity key row', async () => {
      await sql`delete from lockbox_data_keys where scope = 'lockbox:integrity'`.execute(db);
      await expectRejection(openStore(database, keyring), 'INTEGRITY_KEY_MISSING');
      expect(await integrityRows()).toEqual([]);
    });
    await attack('delete the integrity key and the 0003 migration record', async () => {
      await sql`delete from lockbox_migration where name = '0003_integrity'`.execute(db);
      const refused = await openStore(database, keyring).catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: 'LockboxError' });
      expect(await integrityRows()).toEqual([]);
    });
    // Put back exactly what was there: everything verifies again (nothing was re-MACed).
    await sql`insert into lockbox_migration (name, applied_at) values ('0003_integrity', ${new Date().toISOString()})`.execute(
      db,
    );
    await db
      .insertInto('lockbox_data_keys')
      .values(original as NonNullable<typeof original>)
      .execute();
    const back = await store(keyring);
    expect((await back.tokens.verify(token.token)).id).toBe(token.id);
    await raw.close();
  });
});

afterAll(() => {
  // The tally for the closing note: every attack tried was refused or detected.
  console.log(`db-writer attacks: ${tally.tried} tried, ${tally.refused} refused`);
  expect(tally.refused).toBe(tally.tried);
});
