/**
 * Snapshots move a store between databases under the same master key(s) without
 * decrypting anything; restoring proves the keyring and every row before it
 * commits, so a wrong key or a damaged snapshot writes nothing.
 */

import { type DialectName, generateMasterKey, Keyring, type Lockbox } from '@lockbox/core';
import {
  DIALECTS,
  expectRejection,
  freshDatabase,
  open,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity, unwrapWithIdentity } from '../../src/keys/age-identity.js';
import { fileBytes, memorySink, storeDigest } from './backup-helpers.js';

const MOVES: [DialectName, DialectName][] = DIALECTS.flatMap((from) =>
  DIALECTS.map((to) => [from, to] as [DialectName, DialectName]),
);

describe('snapshots', () => {
  const databases: TestDatabase[] = [];
  const opened: Lockbox[] = [];

  afterEach(async () => {
    for (const l of opened.splice(0)) await l.close();
    for (const d of databases.splice(0)) await d.drop();
  });

  async function database(dialect: DialectName): Promise<TestDatabase> {
    const d = await freshDatabase(dialect);
    databases.push(d);
    return d;
  }

  async function store(d: TestDatabase, keyring: Keyring): Promise<Lockbox> {
    const l = await open(d, keyring);
    opened.push(l);
    return l;
  }

  async function populated(dialect: DialectName, keyring: Keyring) {
    const source = await store(await database(dialect), keyring);
    await source.secrets.set('prod', 'API_KEY', 'k1', { metadata: { owner: 'ops' } });
    await source.secrets.set('prod', 'BLOB', Buffer.from([1, 2, 3]));
    await source.secrets.set('user:42', 'token', 't');
    // A field needs its table (its key is checked at registration).
    await sql`create table accounts (id text not null primary key, password text)`.execute(
      source.vault.store.db,
    );
    await source.fields.register({ table: 'accounts', column: 'password' });
    const field = await source.fields.encrypt('accounts', 'password', 'row-1', 'hunter2');
    return { source, field };
  }

  it.each(MOVES)('moves a store from %s to %s under the same key', async (from, to) => {
    const keyring = Keyring.fromBytes(generateMasterKey());
    const { source, field } = await populated(from, keyring);
    // A field keyed by two columns: its registration moves with its key columns.
    await sql`create table user_keys (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`.execute(
      source.vault.store.db,
    );
    await source.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: ['user_id', 'provider'],
    });
    const rowKey = { user_id: 7, provider: 'github' };
    const composite = await source.fields.encrypt('user_keys', 'api_key', rowKey, 'ghp-7');
    const recovery = await generateAgeIdentity();
    await source.recovery.add(recovery.recipient);
    const pair = await generateAgeIdentity();
    const { sink, bytes } = memorySink();
    const summary = await source.backup.snapshot(sink, {
      encryption: { recipients: [pair.recipient] },
    });
    expect(summary.counts).toEqual({ dataKeys: 4, fields: 2, secrets: 3 });
    expect(summary.masterFingerprints).toEqual([keyring.primary.fingerprint]);
    expect(bytes().includes(Buffer.from('prod'))).toBe(false);

    const target = await store(await database(to), keyring);
    const restored = await target.backup.restore(bytes(), {
      decryption: { identities: [pair.identity] },
    });
    expect(restored).toMatchObject({
      counts: summary.counts,
      sourceStoreId: source.vault.storeId,
      recovery: 'adopted',
    });
    expect(await target.secrets.get('prod', 'API_KEY')).toBe('k1');
    expect((await target.secrets.read('prod', 'API_KEY')).metadata).toEqual({ owner: 'ops' });
    expect(await target.secrets.getBytes('prod', 'BLOB')).toEqual(Buffer.from([1, 2, 3]));
    expect(await target.fields.decrypt('accounts', 'password', 'row-1', field)).toBe('hunter2');
    expect(await target.fields.decrypt('user_keys', 'api_key', rowKey, composite)).toBe('ghp-7');
    expect((await target.fields.list()).map((f) => f.primaryKey)).toEqual([
      ['id'],
      ['user_id', 'provider'],
    ]);
    const ids = async (l: Lockbox) =>
      (
        await l.vault.store.db
          .selectFrom('lockbox_data_keys')
          .select('id')
          .where('scope', 'not like', 'lockbox:%')
          .orderBy('id')
          .execute()
      ).map((r) => r.id);
    expect(await ids(target)).toEqual(await ids(source));
    // The adopted recipient applies to keys made after the restore too.
    await target.secrets.set('new-scope', 'n', 'v');
    expect(await target.recovery.coverage()).toMatchObject({
      recipient: recovery.recipient,
      missing: 0,
    });
  });

  describe.each(DIALECTS)('restore refusals on %s', (dialect) => {
    async function refusedUnchanged(
      target: TestDatabase,
      keyring: Keyring,
      attempt: (l: Lockbox) => Promise<unknown>,
      code: Parameters<typeof expectRejection>[1],
    ): Promise<void> {
      const bytes = fileBytes(target);
      const l = await open(target, keyring);
      try {
        const digest = await storeDigest(l);
        await expectRejection(attempt(l), code);
        expect(await storeDigest(l)).toBe(digest);
      } finally {
        await l.close();
      }
      if (bytes !== undefined) expect(fileBytes(target)?.equals(bytes)).toBe(true);
    }

    async function plainSnapshot(source: Lockbox): Promise<string> {
      const { sink, bytes } = memorySink();
      await source.backup.snapshot(sink, { encryption: 'none' });
      return bytes().toString('utf8');
    }

    async function emptyTarget(keyring: Keyring): Promise<TestDatabase> {
      const d = await database(dialect);
      await (await open(d, keyring)).close();
      return d;
    }

    it('refuses a keyring that holds none of its keys (KEY_WRONG) or lacks one (KEY_NOT_IN_KEYRING)', async () => {
      const a = generateMasterKey();
      const b = generateMasterKey();
      const { source } = await populated(dialect, Keyring.fromBytes(a));
      // A second scope under key b, so the snapshot needs both a and b.
      await source.close();
      opened.splice(opened.indexOf(source), 1);
      const both = await store(
        databases[databases.length - 1] as TestDatabase,
        Keyring.fromBytes(b, [a]),
      );
      await both.secrets.set('under-b', 'n', 'v');
      const snapshot = await plainSnapshot(both);

      const stranger = Keyring.fromBytes(generateMasterKey());
      await refusedUnchanged(
        await emptyTarget(stranger),
        stranger,
        (l) => l.backup.restore(Buffer.from(snapshot)),
        'KEY_WRONG',
      );
      const onlyA = Keyring.fromBytes(a);
      await refusedUnchanged(
        await emptyTarget(onlyA),
        onlyA,
        (l) => l.backup.restore(Buffer.from(snapshot)),
        'KEY_NOT_IN_KEYRING',
      );
      const target = await store(
        await emptyTarget(Keyring.fromBytes(b, [a])),
        Keyring.fromBytes(b, [a]),
      );
      await target.backup.restore(Buffer.from(snapshot));
      expect(await target.secrets.get('under-b', 'n')).toBe('v');
      expect(await target.secrets.get('user:42', 'token')).toBe('t');
    });

    it('refuses a non-empty target, a damaged snapshot, or missing or extra decryption', async () => {
      const keyring = Keyring.fromBytes(generateMasterKey());
      const { source } = await populated(dialect, keyring);
      const snapshot = await plainSnapshot(source);
      const pair = await generateAgeIdentity();
      const { sink, bytes } = memorySink();
      await source.backup.snapshot(sink, { encryption: { recipients: [pair.recipient] } });
      const encrypted = bytes();

      const nonEmpty = await database(dialect);
      await (async () => {
        const l = await open(nonEmpty, keyring);
        await l.secrets.set('x', 'y', 'z');
        await l.close();
      })();
      await refusedUnchanged(
        nonEmpty,
        keyring,
        (l) => l.backup.restore(Buffer.from(snapshot)),
        'RESTORE_TARGET_NOT_EMPTY',
      );

      const target = await emptyTarget(keyring);
      const lines = snapshot.trimEnd().split('\n');
      const secretLine = lines.findIndex((l) => l.includes('"type":"secret"'));
      const tampered = [...lines];
      const row = JSON.parse(tampered[secretLine] as string) as { ciphertext: string };
      row.ciphertext = `${row.ciphertext.slice(0, -4)}${row.ciphertext.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      tampered[secretLine] = JSON.stringify(row);
      const cases: [string | Buffer, Parameters<typeof expectRejection>[1], boolean][] = [
        [`${tampered.join('\n')}\n`, 'SECRET_UNDECRYPTABLE', false],
        [`${lines.slice(0, -1).join('\n')}\n`, 'BUNDLE_MALFORMED', false],
        [
          `${lines.slice(0, -2).join('\n')}\n${lines[lines.length - 1]}\n`,
          'BUNDLE_MALFORMED',
          false,
        ],
        [snapshot.replace('"version":1', '"version":2'), 'BUNDLE_VERSION_UNSUPPORTED', false],
        [
          snapshot.replace('"format":"lockbox-snapshot"', '"format":"lockbox-bundle"'),
          'BUNDLE_MALFORMED',
          false,
        ],
        [snapshot, 'BUNDLE_MALFORMED', true],
        [encrypted, 'INVALID_ARGUMENT', false],
        [encrypted.subarray(0, encrypted.length - 30), 'BUNDLE_DECRYPT_FAILED', true],
      ];
      for (const [input, code, withIdentity] of cases) {
        await refusedUnchanged(
          target,
          keyring,
          (l) =>
            l.backup.restore(typeof input === 'string' ? Buffer.from(input) : input, {
              ...(withIdentity ? { decryption: { identities: [pair.identity] } } : {}),
            }),
          code,
        );
      }
    });

    it("rewraps restored keys to the target's own recovery recipient", async () => {
      const keyring = Keyring.fromBytes(generateMasterKey());
      const { source } = await populated(dialect, keyring);
      await source.recovery.add((await generateAgeIdentity()).recipient);
      const snapshot = await plainSnapshot(source);
      const target = await store(await database(dialect), keyring);
      const mine = await generateAgeIdentity();
      await target.recovery.add(mine.recipient);
      expect((await target.backup.restore(Buffer.from(snapshot))).recovery).toBe('rewrapped');
      const row = await target.vault.store.db
        .selectFrom('lockbox_data_keys')
        .selectAll()
        .where('scope', '=', 'prod')
        .executeTakeFirstOrThrow();
      expect((await unwrapWithIdentity(mine.identity, row.wrapped_recovery as string)).length).toBe(
        32,
      );
      expect(await target.recovery.coverage()).toMatchObject({
        recipient: mine.recipient,
        missing: 0,
      });
    });
  });
});
