/**
 * Tampering with stored bytes always yields a typed error, never wrong data.
 */

import { generateMasterKey, Keyring, type Vault } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { Vault as VaultClass } from '../../src/vault/lockbox.js';

function flipCharacter(text: string, index: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const current = text[index]!;
  const next = alphabet[(alphabet.indexOf(current) + 1) % alphabet.length]!;
  return text.slice(0, index) + next + text.slice(index + 1);
}

const keyrings = new Map<string, Keyring>();
function keyringHolding(fingerprint: string): Keyring {
  return keyrings.get(fingerprint)!;
}

describe.each(DIALECTS)('tamper resistance on %s', (dialect) => {
  let database: TestDatabase;
  let vault: Vault;

  afterEach(async () => {
    await vault?.close();
    await database?.drop();
  });

  async function setup(): Promise<void> {
    database = await freshDatabase(dialect);
    const keyring = Keyring.fromBytes(generateMasterKey());
    keyrings.set(keyring.primary.fingerprint, keyring);
    vault = await VaultClass.open({ database: database.url, drivers, keyring });
    await vault.secrets.set('tenant-a', 'api-key', 'value-a');
    await vault.secrets.set('tenant-a', 'other-key', 'value-a2');
    await vault.secrets.set('tenant-b', 'api-key', 'value-b');
  }

  async function ciphertext(scope: string, name: string): Promise<string> {
    const row = await vault.store.db
      .selectFrom('lockbox_secrets')
      .select('ciphertext')
      .where('scope', '=', scope)
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return row.ciphertext;
  }

  async function overwrite(scope: string, name: string, text: string): Promise<void> {
    await vault.store.db
      .updateTable('lockbox_secrets')
      .set({ ciphertext: text })
      .where('scope', '=', scope)
      .where('name', '=', name)
      .execute();
  }

  it('refuses a ciphertext with any single changed character', async () => {
    await setup();
    const original = await ciphertext('tenant-a', 'api-key');
    // Every position after the format tag; the key id, nonce, body and tag all count.
    for (let i = 4; i < original.length; i += 3) {
      await overwrite('tenant-a', 'api-key', flipCharacter(original, i));
      const error = await vault.secrets.get('tenant-a', 'api-key').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SECRET_UNDECRYPTABLE' });
      expect(String((error as Error).message)).not.toContain('value-a');
    }
  });

  it('refuses two rows whose ciphertexts were swapped, in one scope and across scopes', async () => {
    await setup();
    const a = await ciphertext('tenant-a', 'api-key');
    const a2 = await ciphertext('tenant-a', 'other-key');
    const b = await ciphertext('tenant-b', 'api-key');
    await overwrite('tenant-a', 'api-key', a2);
    await overwrite('tenant-a', 'other-key', a);
    await expect(vault.secrets.get('tenant-a', 'api-key')).rejects.toMatchObject({
      code: 'SECRET_UNDECRYPTABLE',
    });
    await expect(vault.secrets.get('tenant-a', 'other-key')).rejects.toMatchObject({
      code: 'SECRET_UNDECRYPTABLE',
    });
    await overwrite('tenant-b', 'api-key', a);
    await expect(vault.secrets.get('tenant-b', 'api-key')).rejects.toMatchObject({
      code: 'SECRET_UNDECRYPTABLE',
    });
    void b;
  });

  it("refuses two scopes' wrapped data keys swapped", async () => {
    await setup();
    const keys = await vault.store.db
      .selectFrom('lockbox_data_keys')
      .select(['id', 'wrapped'])
      .where('scope', 'not like', 'lockbox:%')
      .orderBy('scope')
      .execute();
    expect(keys).toHaveLength(2);
    const [first, second] = keys as [
      { id: string; wrapped: string },
      { id: string; wrapped: string },
    ];
    await vault.store.db
      .updateTable('lockbox_data_keys')
      .set({ wrapped: second.wrapped })
      .where('id', '=', first.id)
      .execute();
    await vault.store.db
      .updateTable('lockbox_data_keys')
      .set({ wrapped: first.wrapped })
      .where('id', '=', second.id)
      .execute();
    // A fresh handle, so no unwrapped key is cached. The startup check unwraps one
    // data key per master key (it may pick the integrity key, which is intact);
    // either it refuses, or the first read of a swapped key does (naming the
    // secret, with the data key's refusal as its reason).
    const reopened = await VaultClass.open({
      database: database.url,
      drivers,
      keyring: vault.keyring,
    }).catch((e: unknown) => e);
    const refusal =
      reopened instanceof VaultClass
        ? await reopened.secrets
            .get('tenant-a', 'api-key')
            .finally(() => reopened.close())
            .catch((e: unknown) => e)
        : reopened;
    expect(
      (refusal as { code?: string }).code === 'DATA_KEY_UNDECRYPTABLE' ||
        ((refusal as { code?: string }).code === 'SECRET_UNDECRYPTABLE' &&
          (refusal as { details?: { reason?: string } }).details?.reason ===
            'DATA_KEY_UNDECRYPTABLE'),
    ).toBe(true);
  });

  it('reports undecryptable rows in list and status without aborting', async () => {
    await setup();
    await overwrite(
      'tenant-b',
      'api-key',
      flipCharacter(await ciphertext('tenant-b', 'api-key'), 30),
    );
    const listed = await vault.secrets.list({ verify: true });
    expect(listed.map((s) => `${s.scope}/${s.name}:${s.status}`)).toEqual([
      'tenant-a/api-key:ok',
      'tenant-a/other-key:ok',
      'tenant-b/api-key:undecryptable',
    ]);
    expect(listed[2]?.error?.code).toBe('SECRET_UNDECRYPTABLE');
  });

  it('names the scope, name and master-key fingerprint a secret needs when its key is not configured', async () => {
    await setup();
    const needed = vault.keyring.primary.fingerprint;
    await vault.close();
    // A fresh handle (nothing cached) whose keyring then loses the key.
    vault = await VaultClass.open({
      database: database.url,
      drivers,
      keyring: keyringHolding(needed),
    });
    vault.dataKeys.setKeyring(Keyring.fromBytes(generateMasterKey()));
    const error = await vault.secrets.get('tenant-a', 'api-key').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SECRET_UNDECRYPTABLE',
      details: { scope: 'tenant-a', name: 'api-key', fingerprint: needed },
    });
    expect((error as Error).message).toContain(needed);
    expect((error as Error).message).toContain('tenant-a/api-key');
  });
});
