import { readFileSync } from 'node:fs';
import { generateMasterKey, isLockboxError, Keyring, Vault } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('secrets on %s', (dialect) => {
  let database: TestDatabase;
  const open: Vault[] = [];

  async function vault(keyring: Keyring, mode?: 'open' | 'create'): Promise<Vault> {
    const v = await Vault.open({
      database: database.url,
      drivers,
      keyring,
      ...(mode ? { mode } : {}),
    });
    open.push(v);
    return v;
  }

  afterEach(async () => {
    for (const v of open.splice(0)) await v.close();
    await database?.drop();
  });

  it('stores, reads, lists and deletes text and byte values', async () => {
    database = await freshDatabase(dialect);
    const keyring = Keyring.fromBytes(generateMasterKey());
    const v = await vault(keyring);
    expect(await v.secrets.set('user:42', 'openai-api-key', 'sk-test-1')).toBe(1);
    expect(
      await v.secrets.set('user:42', 'openai-api-key', 'sk-test-2', { metadata: { owner: 'bob' } }),
    ).toBe(2);
    await v.secrets.set('user:42', 'blob', Buffer.from([0, 1, 2, 255]));
    expect(await v.secrets.get('user:42', 'openai-api-key')).toBe('sk-test-2');
    expect(await v.secrets.getBytes('user:42', 'blob')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await v.secrets.has('user:42', 'blob')).toBe(true);
    const listed = await v.secrets.list({ verify: true });
    expect(listed.map((s) => [s.name, s.version, s.status, s.type])).toEqual([
      ['blob', 1, 'ok', 'bytes'],
      ['openai-api-key', 2, 'ok', 'utf8'],
    ]);
    expect(listed[1]?.metadata).toEqual({ owner: 'bob' });
    expect(await v.secrets.delete('user:42', 'blob')).toBe(true);
    expect(await v.secrets.delete('user:42', 'blob')).toBe(false);
    await expect(v.secrets.get('user:42', 'blob')).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });
  });

  it('refuses a compare-and-swap against a stale version', async () => {
    database = await freshDatabase(dialect);
    const v = await vault(Keyring.fromBytes(generateMasterKey()));
    expect(await v.secrets.set('s', 'n', 'a', { ifVersion: 0 })).toBe(1);
    await expect(v.secrets.set('s', 'n', 'b', { ifVersion: 0 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    expect(await v.secrets.set('s', 'n', 'b', { ifVersion: 1 })).toBe(2);
    await expect(v.secrets.set('s', 'n', 'c', { ifVersion: 1 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    expect(await v.secrets.get('s', 'n')).toBe('b');
  });

  it('reopens with the same key and reads everything back', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const first = await vault(Keyring.fromBytes(key));
    await first.secrets.set('prod', 'db-password', 'hunter2');
    await first.close();
    const second = await vault(Keyring.fromBytes(key), 'open');
    expect(await second.secrets.get('prod', 'db-password')).toBe('hunter2');
  });

  it('refuses to open with a wrong master key, names the fingerprint, and writes nothing', async () => {
    database = await freshDatabase(dialect);
    const right = Keyring.fromBytes(generateMasterKey());
    const first = await vault(right);
    await first.secrets.set('prod', 'db-password', 'hunter2');
    await first.close();
    const before = database.file ? readFileSync(database.file) : undefined;
    const wrong = Keyring.fromBytes(generateMasterKey());
    const error = await Vault.open({ database: database.url, drivers, keyring: wrong }).catch(
      (e: unknown) => e,
    );
    expect(isLockboxError(error, 'KEY_WRONG')).toBe(true);
    expect((error as Error).message).toContain(right.primary.fingerprint);
    if (before) expect(readFileSync(database.file!)).toEqual(before);
  });

  it('refuses a wrong key even before any secret exists', async () => {
    database = await freshDatabase(dialect);
    await (await vault(Keyring.fromBytes(generateMasterKey()))).close();
    const error = await Vault.open({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(generateMasterKey()),
    }).catch((e: unknown) => e);
    expect(isLockboxError(error, 'KEY_WRONG')).toBe(true);
  });
});
