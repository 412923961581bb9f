/**
 * openLockbox in one line: a URL and a master key, no drivers and no keyring
 * built by the application (core loads better-sqlite3 / pg itself).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatMasterKey, generateMasterKey, Keyring, openLockbox } from '@lockbox/core';
import { DIALECTS, expectRejection, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('opening a store in one line on %s', (dialect) => {
  let database: TestDatabase;
  const dirs: string[] = [];
  afterEach(async () => {
    await database?.drop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function keyFile(key: Buffer): string {
    const dir = mkdtempSync(join(tmpdir(), 'lockbox-keys-'));
    dirs.push(dir);
    const path = join(dir, 'master.key');
    writeFileSync(path, `${formatMasterKey(key)}\n`, { mode: 0o600 });
    return path;
  }

  it('opens with the key text from an environment variable, then with a key file, then with the bytes', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const ENCRYPTION_KEY = key.toString('hex');
    const first = await openLockbox({ database: database.url, masterKey: ENCRYPTION_KEY });
    await first.secrets.set('app', 'stripe', 'sk_live_one_line');
    await first.close();
    const second = await openLockbox({ database: database.url, masterKeyFile: keyFile(key) });
    expect(await second.secrets.get('app', 'stripe')).toBe('sk_live_one_line');
    await second.close();
    const third = await openLockbox({ database: database.url, masterKey: key });
    expect(third.vault.keyring.primary.fingerprint).toBe(
      Keyring.fromBytes(key).primary.fingerprint,
    );
    await third.close();
    // The caller's buffer is the caller's: it is not zeroed behind its back.
    expect(key.equals(Buffer.alloc(32))).toBe(false);
  });

  it('opens after a rotation with the new key and the old one as a previous key', async () => {
    database = await freshDatabase(dialect);
    const oldKey = generateMasterKey();
    const newKey = generateMasterKey();
    const before = await openLockbox({ database: database.url, masterKey: oldKey });
    await before.secrets.set('app', 'token', 'kept');
    await before.close();
    // Only the new key: the stored data keys are still under the old one.
    await expectRejection(openLockbox({ database: database.url, masterKey: newKey }), 'KEY_WRONG', [
      formatMasterKey(newKey),
      newKey.toString('hex'),
    ]);
    for (const previous of [
      { previousKeys: [formatMasterKey(oldKey)] },
      { previousKeyFiles: [keyFile(oldKey)] },
    ]) {
      const both = await openLockbox({ database: database.url, masterKey: newKey, ...previous });
      expect(await both.secrets.get('app', 'token')).toBe('kept');
      await both.close();
    }
  });

  it('refuses a missing, doubled or malformed key with a stable code that never shows the value', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const text = formatMasterKey(key);
    await expectRejection(openLockbox({ database: database.url }), 'KEY_MISSING');
    await expectRejection(
      openLockbox({ database: database.url, masterKey: process.env.LOCKBOX_UNSET_FOR_TEST }),
      'KEY_MISSING',
    );
    await expectRejection(
      openLockbox({ database: database.url, masterKey: text, masterKeyFile: keyFile(key) }),
      'INVALID_ARGUMENT',
      [text],
    );
    await expectRejection(
      openLockbox({ database: database.url, keyring: Keyring.fromBytes(key), masterKey: text }),
      'INVALID_ARGUMENT',
      [text],
    );
    const truncated = key.toString('hex').slice(0, 40);
    await expectRejection(
      openLockbox({ database: database.url, masterKey: truncated }),
      'KEY_INVALID_LENGTH',
      [truncated],
    );
    await expectRejection(
      openLockbox({ database: database.url, masterKey: key.subarray(0, 16) }),
      'KEY_INVALID_LENGTH',
    );
    await expectRejection(
      openLockbox({ database: database.url, masterKey: text, previousKeys: [text] }),
      'KEY_DUPLICATE',
      [text],
    );
  });
});
