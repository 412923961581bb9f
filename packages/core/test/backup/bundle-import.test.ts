import type { Lockbox } from '@lockbox/core';
import { getMeta, META } from '@lockbox/core/hazmat';
import { DIALECTS, expectRejection, newKeyring, storesOfTest } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../src/keys/age-identity.js';
import { memorySink, seed, storeDigest } from './backup-helpers.js';

describe.each(DIALECTS)('bundle export and import on %s', (dialect) => {
  const stores = storesOfTest();
  afterEach(stores.closeAll);

  async function store(): Promise<Lockbox> {
    return (await stores.store(dialect, newKeyring().keyring)).lockbox;
  }

  async function exportAll(source: Lockbox, recipient: string, scopes?: string[]) {
    const { sink, bytes } = memorySink();
    const summary = await source.backup.export(sink, {
      encryption: { recipients: [recipient] },
      ...(scopes === undefined ? {} : { scopes }),
    });
    return { summary, bundle: bytes() };
  }

  it('moves text, bytes and metadata into a store with a different master key', async () => {
    const source = await store();
    await source.secrets.set('prod', 'STRIPE_KEY', 'sk_live_1', { metadata: { owner: 'ops' } });
    await source.secrets.set('prod', 'BLOB', Buffer.from([0, 1, 2, 255]));
    await source.secrets.set('user:42', 'token', 'ünïcødé ✓\n"quoted"');
    const pair = await generateAgeIdentity();
    const { summary, bundle } = await exportAll(source, pair.recipient);
    expect(summary.records).toBe(3);
    expect(summary.scopes).toEqual([
      { scope: 'prod', secrets: 2 },
      { scope: 'user:42', secrets: 1 },
    ]);
    expect(bundle.includes(Buffer.from('sk_live_1'))).toBe(false);

    const target = await store();
    expect(target.vault.keyring.primary.fingerprint).not.toBe(
      source.vault.keyring.primary.fingerprint,
    );
    const decryption = { identities: [pair.identity] };
    const preview = await target.backup.preview(bundle, { decryption });
    expect(preview.totals).toEqual({ create: 3, overwrite: 0, unchanged: 0, conflict: 0 });
    expect(preview.bundle.sourceFingerprint).toBe(source.vault.keyring.primary.fingerprint);
    expect(await target.secrets.list()).toEqual([]);

    const applied = await target.backup.apply(bundle, { decryption });
    expect(applied.writes).toEqual({ create: 3, overwrite: 0, fieldValues: 0 });
    expect(await target.secrets.get('prod', 'STRIPE_KEY')).toBe('sk_live_1');
    expect(await target.secrets.getBytes('prod', 'BLOB')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await target.secrets.get('user:42', 'token')).toBe('ünïcødé ✓\n"quoted"');
    const info = await target.secrets.read('prod', 'STRIPE_KEY');
    expect(info.metadata).toEqual({ owner: 'ops' });
    expect(info.version).toBe(1);

    const again = await target.backup.preview(bundle, { decryption });
    expect(again.totals).toEqual({ create: 0, overwrite: 0, unchanged: 3, conflict: 0 });
  });

  it('exports only the chosen scopes and never the internal lockbox: scopes', async () => {
    const source = await store();
    await source.secrets.set('a', 'x', '1');
    await source.secrets.set('b', 'y', '2');
    await source.audit.record({ action: 'test.event', outcome: 'ok' }); // creates the lockbox:audit key
    const pair = await generateAgeIdentity();
    const { summary, bundle } = await exportAll(source, pair.recipient, ['b']);
    expect(summary).toMatchObject({ records: 1, complete: false });
    const target = await store();
    const report = await target.backup.preview(bundle, {
      decryption: { identities: [pair.identity] },
    });
    expect(report.scopes.map((s) => s.scope)).toEqual(['b']);
    const all = await exportAll(source, pair.recipient);
    expect(all.summary.scopes.map((s) => s.scope)).toEqual(['a', 'b']);
  });

  it('records the last complete export, which backupState reads', async () => {
    const source = await store();
    await source.secrets.set('a', 'x', '1');
    expect((await source.backup.state()).state).toBe('not-backed-up');
    const pair = await generateAgeIdentity();
    await exportAll(source, pair.recipient, ['a']);
    expect(await getMeta(source.vault.store.db, META.lastExportAt)).toBeUndefined();
    const { summary } = await exportAll(source, pair.recipient);
    expect(await getMeta(source.vault.store.db, META.lastExportAt)).toBe(summary.createdAt);
    expect((await source.backup.state()).state).toBe('ok');
  });

  it('classifies create, overwrite, unchanged and conflict, and applies each policy', async () => {
    const source = await store();
    await source.secrets.set('s', 'new', 'n');
    await source.secrets.set('s', 'same', 'v');
    await source.secrets.set('s', 'older-in-target', 'bundle-value');
    await source.secrets.set('s', 'newer-in-target', 'bundle-value');
    const target = await store();
    await target.secrets.set('s', 'same', 'v');
    await target.secrets.set('s', 'older-in-target', 'old');
    // The bundle is made after the two target writes above and before the next one.
    await new Promise((r) => setTimeout(r, 5));
    await source.secrets.set('s', 'older-in-target', 'bundle-value');
    await source.secrets.set('s', 'newer-in-target', 'bundle-value');
    const pair = await generateAgeIdentity();
    const { bundle } = await exportAll(source, pair.recipient);
    await new Promise((r) => setTimeout(r, 5));
    await target.secrets.set('s', 'newer-in-target', 'edited-after-backup');
    const decryption = { identities: [pair.identity] };

    const preview = await target.backup.preview(bundle, { decryption });
    expect(preview.totals).toEqual({ create: 1, overwrite: 1, unchanged: 1, conflict: 1 });
    expect(preview.scopes).toEqual([
      { scope: 's', create: 1, overwrite: 1, unchanged: 1, conflict: 1 },
    ]);
    expect(preview.conflicts).toEqual([
      { scope: 's', name: 'newer-in-target', reason: 'newer-in-target' },
    ]);
    expect(preview.writes).toEqual({ create: 0, overwrite: 0, fieldValues: 0 });

    const before = await storeDigest(target);
    await expectRejection(target.backup.apply(bundle, { decryption }), 'IMPORT_CONFLICT');
    expect(await storeDigest(target)).toBe(before);

    const skipped = await target.backup.apply(bundle, { decryption, policy: 'skip' });
    expect(skipped.writes).toEqual({ create: 1, overwrite: 0, fieldValues: 0 });
    expect(await target.secrets.get('s', 'older-in-target')).toBe('old');
    expect(await target.secrets.get('s', 'newer-in-target')).toBe('edited-after-backup');

    const overwritten = await target.backup.apply(bundle, { decryption, policy: 'overwrite' });
    expect(overwritten.writes).toEqual({ create: 0, overwrite: 2, fieldValues: 0 });
    expect(await target.secrets.get('s', 'older-in-target')).toBe('bundle-value');
    expect(await target.secrets.get('s', 'newer-in-target')).toBe('bundle-value');
    expect((await target.secrets.read('s', 'newer-in-target')).version).toBe(2);
  });

  it('writes creates and overwrites under the fail policy when nothing conflicts', async () => {
    const source = await store();
    await source.secrets.set('s', 'a', 'new-a');
    await source.secrets.set('s', 'b', 'b');
    const target = await store();
    await target.secrets.set('s', 'a', 'old-a');
    await new Promise((r) => setTimeout(r, 5));
    await source.secrets.set('s', 'a', 'new-a2');
    const pair = await generateAgeIdentity();
    const { bundle } = await exportAll(source, pair.recipient);
    const report = await target.backup.apply(bundle, {
      decryption: { identities: [pair.identity] },
    });
    expect(report.writes).toEqual({ create: 1, overwrite: 1, fieldValues: 0 });
    expect(await target.secrets.get('s', 'a')).toBe('new-a2');
  });

  it('imports a passphrase bundle', async () => {
    const source = await store();
    await source.secrets.set('s', 'a', 'value');
    const { sink, bytes } = memorySink();
    await source.backup.export(sink, {
      encryption: { passphrase: 'correct horse', scryptWorkFactor: 10 },
    });
    const target = await store();
    await target.backup.apply(bytes(), { decryption: { passphrase: 'correct horse' } });
    expect(await target.secrets.get('s', 'a')).toBe('value');
  });

  it('exports and imports in pages larger than one database page and one age chunk', async () => {
    const source = await store();
    await seed(source, 1200);
    const pair = await generateAgeIdentity();
    const { summary, bundle } = await exportAll(source, pair.recipient);
    expect(summary.records).toBe(1200);
    expect(bundle.length).toBeGreaterThan(64 * 1024);
    const target = await store();
    const report = await target.backup.apply(bundle, {
      decryption: { identities: [pair.identity] },
      batchSize: 97,
    });
    expect(report.totals.create).toBe(1200);
    expect(await target.secrets.get('scope-6', 'name-1000')).toBe(
      `value-1000-${'x'.repeat(1000 % 97)}`,
    );
  });
});
