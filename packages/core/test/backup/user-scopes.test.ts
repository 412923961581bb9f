/**
 * Only the exact lower-case prefix "lockbox:" is internal. Scopes that differ
 * from it in case ("LOCKBOX:prod", "Lockbox:x") are ordinary user scopes, and
 * every backup path carries them (SQLite's LIKE ignores case, which once made
 * export and snapshot skip them while reporting the export complete).
 */

import type { DialectName, Lockbox } from '@lockbox/core';
import { DIALECTS, newKeyring, storesOfTest } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../src/keys/age-identity.js';
import { memorySink } from './backup-helpers.js';

const USER_SCOPES = ['LOCKBOX:prod', 'Lockbox:x', 'prod'];

describe.each(DIALECTS)('user scopes that look internal (%s)', (dialect: DialectName) => {
  const stores = storesOfTest();
  afterEach(stores.closeAll);
  async function fresh(keyring = newKeyring().keyring): Promise<Lockbox> {
    return (await stores.store(dialect, keyring)).lockbox;
  }
  async function populated(keyring = newKeyring().keyring): Promise<Lockbox> {
    const lockbox = await fresh(keyring);
    for (const scope of USER_SCOPES) await lockbox.secrets.set(scope, 'token', `value of ${scope}`);
    // The audit key lives in "lockbox:audit": it exists, and must stay out.
    await lockbox.audit.record({ action: 'test.seed', outcome: 'ok' });
    expect((await lockbox.audit.list({ limit: 1 })).length).toBe(1);
    return lockbox;
  }
  async function expectEveryScope(lockbox: Lockbox): Promise<void> {
    for (const scope of USER_SCOPES) {
      expect(await lockbox.secrets.get(scope, 'token')).toBe(`value of ${scope}`);
    }
  }

  it('export carries every user scope, reports complete, and import restores them', async () => {
    const source = await populated();
    const pair = await generateAgeIdentity();
    const { sink, bytes } = memorySink();
    const summary = await source.backup.export(sink, {
      encryption: { recipients: [pair.recipient] },
    });
    expect(summary.scopes.map((s) => s.scope)).toEqual(USER_SCOPES);
    expect(summary).toMatchObject({ records: 3, complete: true });
    expect((await source.backup.state()).lastExportAt).toBe(summary.createdAt);

    const target = await fresh();
    const report = await target.backup.apply(bytes(), {
      decryption: { identities: [pair.identity] },
    });
    expect(report.bundle.records).toBe(3);
    await expectEveryScope(target);
  });

  it('snapshot carries every user scope and restore brings them back', async () => {
    const keyring = newKeyring().keyring;
    const source = await populated(keyring);
    const pair = await generateAgeIdentity();
    const { sink, bytes } = memorySink();
    const summary = await source.backup.snapshot(sink, {
      encryption: { recipients: [pair.recipient] },
    });
    expect(summary.counts).toEqual({ dataKeys: 3, fields: 0, secrets: 3 });

    const target = await fresh(keyring);
    const restored = await target.backup.restore(bytes(), {
      decryption: { identities: [pair.identity] },
    });
    expect(restored.counts).toEqual(summary.counts);
    await expectEveryScope(target);
  });

  it('restore refuses a target that holds only a look-alike user scope', async () => {
    const keyring = newKeyring().keyring;
    const source = await populated(keyring);
    const { sink, bytes } = memorySink();
    await source.backup.snapshot(sink, { encryption: 'none' });
    const target = await fresh(keyring);
    await target.secrets.set('LOCKBOX:prod', 'other', 'v');
    await target.secrets.delete('LOCKBOX:prod', 'other');
    // No secrets, but a user data key the LIKE filter used to overlook.
    await expect(target.backup.restore(bytes())).rejects.toMatchObject({
      code: 'RESTORE_TARGET_NOT_EMPTY',
    });
  });
});
