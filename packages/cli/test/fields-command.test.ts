/**
 * `lockbox fields …` and the config file's "fields", as an operator uses them:
 * a dry-run adoption writes nothing at all (not even the registration, and not
 * for a table that does not exist), sync shows and applies the declaration,
 * remove refuses while rows hold ciphertext, encrypt/decrypt round-trip.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptFernet, parseFernetKey } from '@lockbox/core/hazmat';
import { DIALECTS, storeFingerprint } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { type CliStore, initialisedStore, SPAWNING } from './helpers/cli.js';

const USER_KEYS = { table: 'user_keys', column: 'api_key', primaryKey: ['user_id', 'provider'] };

async function withUserKeys(store: CliStore): Promise<void> {
  await store.withLibrary(async (lockbox) => {
    const db = lockbox.vault.store.db;
    await sql`create table user_keys (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`.execute(
      db,
    );
    await sql`insert into user_keys values (1, 'github', 'gh-canary-1'), (1, 'stripe', 'sk-canary-1')`.execute(
      db,
    );
  });
}

function writeConfig(store: CliStore, fields: unknown[]): void {
  writeFileSync(join(store.dir, 'lockbox.json'), JSON.stringify({ fields }));
}

describe.each(DIALECTS)('lockbox rotate adopt --dry-run on %s', SPAWNING, (dialect) => {
  it('writes nothing at all, whether a declared table exists or not', async () => {
    const store = await initialisedStore(dialect);
    try {
      await withUserKeys(store);
      const fingerprint = () => storeFingerprint(store.db, ['user_keys']);
      const before = await fingerprint();
      writeConfig(store, [
        USER_KEYS,
        { table: 'no_such_table', column: 'secret', primaryKey: 'id' },
      ]);
      const missing = await store.run(['rotate', 'adopt', '--plaintext', '--dry-run', '--json']);
      expect(missing.code).toBe(2);
      expect(JSON.parse(missing.stderr)).toMatchObject({
        error: { code: 'FIELD_KEY_UNSUITABLE', details: { reason: 'missing-table' } },
      });
      expect(await fingerprint()).toBe(before);

      writeConfig(store, [USER_KEYS]);
      const planned = await store.run(['rotate', 'adopt', '--plaintext', '--dry-run', '--json']);
      expect(planned.code, planned.stderr).toBe(0);
      expect(JSON.parse(planned.stdout)).toMatchObject({
        dryRun: true,
        registered: [{ table: 'user_keys', primaryKey: ['user_id', 'provider'] }],
        fields: [{ table: 'user_keys', adopted: { plaintext: 2 } }],
      });
      expect(planned.stderr).toContain('would register user_keys.api_key');
      expect(await fingerprint()).toBe(before);
      for (const out of [missing, planned]) expect(out.stdout + out.stderr).not.toContain('canary');
    } finally {
      await store.drop();
    }
  });
});

describe('lockbox fields', SPAWNING, () => {
  it('syncs the declaration, refuses to remove a field in use, and encrypts for a row', async () => {
    const store = await initialisedStore('sqlite');
    try {
      await withUserKeys(store);
      writeConfig(store, [USER_KEYS]);
      const synced = await store.run(['fields', 'sync', '--apply', '--json']);
      expect(synced.code, synced.stderr).toBe(0);
      expect(JSON.parse(synced.stdout)).toMatchObject({
        applied: true,
        add: [{ table: 'user_keys', primaryKey: ['user_id', 'provider'] }],
        change: [],
        remove: [],
      });
      await store.withLibrary(async (lockbox) => {
        await lockbox.rotation.adopt({ table: 'user_keys', column: 'api_key', plaintext: true });
      });
      const removed = await store.run([
        'fields',
        'remove',
        '--table',
        'user_keys',
        '--column',
        'api_key',
      ]);
      expect(removed.code).toBe(5);
      expect(removed.stderr).toContain('FIELD_IN_USE');

      const encrypted = await store.run(
        ['fields', 'encrypt', '--table', 'user_keys', '--column', 'api_key'].concat([
          '--key',
          'user_id=2',
          '--key',
          'provider=gitlab',
        ]),
        { input: 'glpat-canary-2\n' },
      );
      expect(encrypted.code, encrypted.stderr).toBe(0);
      const ciphertext = encrypted.stdout.trim();
      expect(ciphertext.startsWith('lb1:')).toBe(true);
      await store.withLibrary(async (lockbox) => {
        const key = { user_id: 2, provider: 'gitlab' };
        expect(await lockbox.fields.decrypt('user_keys', 'api_key', key, ciphertext)).toBe(
          'glpat-canary-2',
        );
        await expect(
          lockbox.fields.decrypt('user_keys', 'api_key', { ...key, user_id: 1 }, ciphertext),
        ).rejects.toMatchObject({ code: 'SECRET_UNDECRYPTABLE' });
        const audit = await lockbox.audit.list({ order: 'desc', limit: 5 });
        const entry = audit.find((e) => e.action === 'field.encrypt');
        expect(entry?.details).toEqual({ row: 'user_id=2, provider=gitlab' });
        expect(JSON.stringify(audit)).not.toContain('canary');
        // A legacy table whose second Fernet token is under a key the operator lacks.
        const db = lockbox.vault.store.db;
        await sql`create table legacy_tokens (id integer primary key, token text)`.execute(db);
        const given = Buffer.alloc(32, 1).toString('base64url');
        const lost = Buffer.alloc(32, 2).toString('base64url');
        const ok = encryptFernet(parseFernetKey(given), Buffer.from('xoxb-canary-ok'));
        const bad = encryptFernet(parseFernetKey(lost), Buffer.from('xoxb-canary-lost'));
        await sql`insert into legacy_tokens values (1, ${ok}), (2, ${bad})`.execute(db);
        await lockbox.fields.register({ table: 'legacy_tokens', column: 'token' });
        writeFileSync(join(store.dir, 'app-fernet.key'), `${given}\n`, { mode: 0o600 });
      });
      // Every registered field in one job; a row that does not decode exits 3 (docs/cli.md).
      const adopted = await store.run(['rotate', 'adopt', '--fernet-key-file', 'app-fernet.key']);
      expect(adopted.code).toBe(3);
      expect(adopted.stdout).toContain('adopted 1 row of legacy_tokens.token (Fernet 1');
      expect(adopted.stdout).toContain('FAILED 1 row (left exactly as they were): 2 fernet');
      expect(adopted.stderr).toContain('LEGACY_DECRYPT_FAILED');
      expect(adopted.stdout + adopted.stderr).not.toContain('canary');
    } finally {
      await store.drop();
    }
  });
});
