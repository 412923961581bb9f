/**
 * What the CLI says and records about who and which key: KEY_MISSING names the
 * fingerprint the store needs and every way to give a key; audit entries made
 * by the CLI carry the operating-system user as the actor's id and name.
 */
import { renameSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliStore, initialisedStore, SPAWNING } from './helpers/cli.js';

describe('CLI messages and actor', SPAWNING, () => {
  let store: CliStore;
  beforeAll(async () => {
    store = await initialisedStore('sqlite');
  });
  afterAll(async () => {
    await store.drop();
  });

  it('records the operating-system user as the actor name of CLI audit entries', async () => {
    const set = await store.run(['set', 'prod', 'api-key'], { input: 'canary-actor-value' });
    expect(set.code, set.stderr).toBe(0);
    const entries = await store.withLibrary((lockbox) => lockbox.audit.list({ limit: 100 }));
    const write = entries.find((e) => e.action === 'secret.set');
    const user = userInfo().username;
    expect(write).toMatchObject({ actorId: `cli:${user}`, actorName: user });
  });

  it('KEY_MISSING names the fingerprint the store needs and the ways to give a key', async () => {
    const fp = await store.withLibrary(
      async (lockbox) => lockbox.vault.keyring.primary.fingerprint,
    );
    renameSync(join(store.dir, 'lockbox.key'), join(store.dir, 'moved.key'));
    try {
      const got = await store.run(['get', 'prod', 'api-key', '--json']);
      expect(got.code).toBe(2);
      const { error } = JSON.parse(got.stderr) as {
        error: { code: string; message: string; details: { needed: string[] } };
      };
      expect(error.code).toBe('KEY_MISSING');
      expect(error.details.needed).toEqual([fp]);
      expect(error.message).toContain(`this store needs master key ${fp}`);
      for (const way of [
        './lockbox.key',
        '--master-key-file',
        'LOCKBOX_MASTER_KEY_FILE',
        'LOCKBOX_MASTER_KEY',
        '--master-key-stdin',
      ]) {
        expect(error.message).toContain(way);
      }
    } finally {
      renameSync(join(store.dir, 'moved.key'), join(store.dir, 'lockbox.key'));
    }
  });
});
