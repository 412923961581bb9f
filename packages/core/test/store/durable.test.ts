/**
 * Durability on SQLite (docs/operations.md, "Durability: what a crash keeps").
 * The connection runs `synchronous = normal`, so a commit is only in the `-wal`
 * file's page cache; an operation whose result is acted on outside the database
 * (a finished rotation, a recovery recipient, a revoked token, an import, a
 * restore, an audit anchor) must flush the store before it reports. These tests
 * check both halves on a real store file: `durable()` really fsyncs the `-wal`
 * and the database file, and each such operation calls it after its commit (the
 * change is visible to an independent connection at that moment) and before it
 * returns.
 */
import fs, { readlinkSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { generateMasterKey, Keyring, type Lockbox } from '@lockbox/core';
import { expectRejection, rejection, storesOfTest } from '@lockbox/test-helpers';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../src/keys/age-identity.js';
import { memorySink } from '../backup/backup-helpers.js';

const stores = storesOfTest();
afterEach(stores.closeAll);

async function sqliteStore(key = generateMasterKey()) {
  const { database, lockbox } = await stores.store('sqlite', key);
  return { database, lockbox, key, file: database.file as string };
}

/** The paths fsynced while `run` runs (fsyncSync replaced for the whole process, then restored). */
async function fsyncedDuring(run: () => Promise<unknown>): Promise<string[]> {
  const original = fs.fsyncSync;
  const paths: string[] = [];
  fs.fsyncSync = (fd: number) => {
    paths.push(readlinkSync(`/proc/self/fd/${fd}`));
    original(fd);
  };
  syncBuiltinESMExports();
  try {
    await run();
  } finally {
    fs.fsyncSync = original;
    syncBuiltinESMExports();
  }
  return paths;
}

/** Runs `run` while every fsync fails as a dying disk's does (EIO), then restores fsync. */
async function withFailingFsync<T>(run: () => Promise<T>): Promise<T> {
  const original = fs.fsyncSync;
  fs.fsyncSync = () => {
    throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', errno: -5 });
  };
  syncBuiltinESMExports();
  try {
    return await run();
  } finally {
    fs.fsyncSync = original;
    syncBuiltinESMExports();
  }
}

/**
 * Counts `durable()` calls on the store and, at each, evaluates `committed`
 * through a separate read-only connection: true means the operation's change was
 * already committed when it was flushed.
 */
function watchDurable(
  lockbox: Lockbox,
  file: string,
  committed: (db: Database.Database) => boolean,
) {
  const store = lockbox.vault.store as { durable: () => Promise<void> };
  const original = store.durable.bind(store);
  const seen: boolean[] = [];
  store.durable = async () => {
    const reader = new Database(file, { readonly: true });
    try {
      seen.push(committed(reader));
    } finally {
      reader.close();
    }
    await original();
  };
  return seen;
}

describe('SQLite durability', () => {
  it('durable() fsyncs the -wal file and the database file', async () => {
    const { lockbox, file } = await sqliteStore();
    await lockbox.secrets.set('prod', 'API_KEY', 'v1');
    const paths = await fsyncedDuring(() => lockbox.vault.store.durable());
    expect(paths).toEqual([`${file}-wal`, file]);
  });

  it('a master rotation is flushed after its last commit, before it returns', async () => {
    const { lockbox, file, key } = await sqliteStore();
    await lockbox.secrets.set('prod', 'API_KEY', 'v1');
    const newKey = generateMasterKey();
    const newFingerprint = Keyring.fromBytes(newKey).primary.fingerprint;
    const seen = watchDurable(lockbox, file, (db) => {
      const row = db
        .prepare(
          "select count(*) as n from lockbox_data_keys where master_fingerprint <> ? and state <> 'destroyed'",
        )
        .get(newFingerprint) as { n: number };
      return row.n === 0;
    });
    const result = await lockbox.rotation.rotateMaster({
      oldKey: key,
      newKey,
      mode: 'online',
    });
    expect(result.dataKeys.rewrapped).toBeGreaterThan(0);
    expect(seen).toEqual([true]);
  });

  it('a recovery recipient, a revoked token and an audit anchor are flushed after their commits', async () => {
    const { lockbox, file } = await sqliteStore();
    await lockbox.secrets.set('prod', 'API_KEY', 'v1');
    const { recipient } = await generateAgeIdentity();
    let seen = watchDurable(lockbox, file, (db) => {
      const row = db
        .prepare("select count(*) as n from lockbox_meta where key = 'recovery_recipient'")
        .get() as { n: number };
      return row.n === 1;
    });
    await lockbox.recovery.add(recipient);
    expect(seen).toEqual([true]);

    const { id } = await lockbox.tokens.create({ name: 'ci', permissions: ['admin'] });
    seen = watchDurable(lockbox, file, (db) => {
      const row = db.prepare('select revoked_at from lockbox_tokens where id = ?').get(id) as {
        revoked_at: string | null;
      };
      return row.revoked_at !== null;
    });
    await lockbox.tokens.revoke(id);
    expect(seen).toEqual([true]);
    // Revoking again writes nothing, so there is nothing to flush.
    await lockbox.tokens.revoke(id);
    expect(seen).toEqual([true]);

    await lockbox.secrets.get('prod', 'API_KEY');
    seen = watchDurable(lockbox, file, (db) => {
      const row = db.prepare('select max(seq) as n from lockbox_audit').get() as { n: number };
      return row.n > 0;
    });
    const anchor = await lockbox.audit.anchor();
    expect(anchor?.heads[0]?.seq).toBeGreaterThan(0);
    expect(seen).toEqual([true]);
  });

  it('a flush that fails is STORE_FLUSH_FAILED, never "nothing changed": the change stands', async () => {
    const { lockbox } = await sqliteStore();
    await lockbox.secrets.set('prod', 'API_KEY', 'v1');
    const flushed = await withFailingFsync(() => rejection(lockbox.vault.store.durable()));
    expect(flushed.code).toBe('STORE_FLUSH_FAILED');
    expect(flushed.details).toEqual({ code: 'EIO' });
    expect(flushed.message).toMatch(/committed/);

    const { id, token } = await lockbox.tokens.create({ name: 'ci', permissions: ['admin'] });
    await expectRejection(
      withFailingFsync(() => lockbox.tokens.revoke(id)),
      'STORE_FLUSH_FAILED',
      [token],
    );
    // Committed all the same, and audited (the flush comes after the entry): the token no
    // longer verifies, and revoking again is a no-op.
    expect(await lockbox.audit.list({ action: 'token.revoke' })).toHaveLength(1);
    await expectRejection(lockbox.tokens.verify(token), 'AUTH_INVALID');
    expect((await lockbox.tokens.revoke(id)).revokedAt).not.toBeNull();
  });

  it('an import and a restore are flushed after their transactions', async () => {
    const key = generateMasterKey();
    const source = await sqliteStore(key);
    await source.lockbox.secrets.set('prod', 'API_KEY', 'v1');
    const pair = await generateAgeIdentity();
    const secretIn = (db: Database.Database) =>
      (db.prepare('select count(*) as n from lockbox_secrets').get() as { n: number }).n === 1;

    const exported = memorySink();
    await source.lockbox.backup.export(exported.sink, {
      encryption: { recipients: [pair.recipient] },
    });
    const imported = await sqliteStore();
    let seen = watchDurable(imported.lockbox, imported.file, secretIn);
    await imported.lockbox.backup.apply(exported.bytes(), {
      decryption: { identities: [pair.identity] },
    });
    expect(seen).toEqual([true]);

    const snapshot = memorySink();
    await source.lockbox.backup.snapshot(snapshot.sink, { encryption: 'none' });
    const restored = await sqliteStore(key);
    seen = watchDurable(restored.lockbox, restored.file, secretIn);
    await restored.lockbox.backup.restore(snapshot.bytes());
    expect(seen).toEqual([true]);
  });
});
