/**
 * Bundles whose age header demands unbounded work are refused before the work
 * (BUNDLE_TOO_EXPENSIVE), on every path that reads one, and write nothing;
 * genuine passphrase bundles still open, interoperating with age-encryption's
 * own scrypt (Lockbox computes it natively, off the event loop).
 */

import type { Lockbox } from '@lockbox/core';
import {
  expectRejection,
  freshDatabase,
  newKeyring,
  open,
  scryptBundle,
  stanzaBundle,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { Decrypter, Encrypter } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../src/keys/age-identity.js';
import { bundleText, memorySink, storeDigest } from './backup-helpers.js';

describe('hostile bundle headers', () => {
  let database: TestDatabase;
  let lockbox: Lockbox;
  /** An empty store, which restore accepts as a target. */
  let emptyDatabase: TestDatabase;
  let empty: Lockbox;
  beforeAll(async () => {
    database = await freshDatabase('sqlite');
    lockbox = await open(database, newKeyring().keyring);
    await lockbox.secrets.set('prod', 'keep', 'kept');
    emptyDatabase = await freshDatabase('sqlite');
    empty = await open(emptyDatabase, newKeyring().keyring);
  });
  afterAll(async () => {
    await lockbox.close();
    await empty.close();
    await database.drop();
    await emptyDatabase.drop();
  });

  const passphrase = { passphrase: 'guess' };

  it.each([
    ['a passphrase file with scrypt work factor 20', () => scryptBundle(20), passphrase],
    ['a passphrase file with work factor 19', () => scryptBundle(19), passphrase],
    ['a passphrase file with an absurd work factor', () => scryptBundle(4096), passphrase],
  ] as const)(
    'refuses %s (BUNDLE_TOO_EXPENSIVE) and writes nothing',
    async (_what, make, decryption) => {
      const bundle = make();
      const digest = await storeDigest(lockbox);
      const started = performance.now();
      const err = await expectRejection(
        lockbox.backup.preview(bundle, { decryption }),
        'BUNDLE_TOO_EXPENSIVE',
      );
      expect(err.message).toMatch(/scrypt work factor of \d+ \(at most 18/);
      await expectRejection(lockbox.backup.apply(bundle, { decryption }), 'BUNDLE_TOO_EXPENSIVE');
      await expectRejection(empty.backup.restore(bundle, { decryption }), 'BUNDLE_TOO_EXPENSIVE');
      console.info(
        `refused ${bundle.length}-byte scrypt bundle in ${(performance.now() - started).toFixed(1)} ms (3 calls)`,
      );
      expect(await storeDigest(lockbox)).toBe(digest);
    },
  );

  it('refuses 20,000 recipient stanzas before trying any (BUNDLE_TOO_EXPENSIVE)', async () => {
    const bundle = stanzaBundle(20_000);
    const pair = await generateAgeIdentity();
    const digest = await storeDigest(lockbox);
    const started = performance.now();
    for (const decryption of [{ identities: [pair.identity] }, passphrase]) {
      const err = await expectRejection(
        lockbox.backup.preview(bundle, { decryption }),
        'BUNDLE_TOO_EXPENSIVE',
      );
      expect(err.message).toMatch(/more than 64 recipient stanzas/);
    }
    console.info(
      `refused ${bundle.length}-byte 20,000-stanza bundle twice in ${(performance.now() - started).toFixed(1)} ms`,
    );
    expect(await storeDigest(lockbox)).toBe(digest);
  });

  it('still opens a file with 64 stanzas, one of them ours', async () => {
    const pair = await generateAgeIdentity();
    const others = await Promise.all(Array.from({ length: 63 }, () => generateAgeIdentity()));
    const encrypter = new Encrypter();
    for (const other of others) encrypter.addRecipient(other.recipient);
    encrypter.addRecipient(pair.recipient);
    const bundle = await encrypter.encrypt(bundleText([{ scope: 's', name: 'n', value: 'v' }]));
    const report = await lockbox.backup.preview(bundle, {
      decryption: { identities: [pair.identity] },
    });
    expect(report.totals.create).toBe(1);
  });

  it('reads a passphrase file made by age-encryption, and age-encryption reads Lockbox’s', async () => {
    const encrypter = new Encrypter();
    encrypter.setPassphrase('correct horse');
    encrypter.setScryptWorkFactor(10);
    const theirs = await encrypter.encrypt(bundleText([{ scope: 's', name: 'n', value: 'v' }]));
    const report = await lockbox.backup.preview(theirs, {
      decryption: { passphrase: 'correct horse' },
    });
    expect(report.totals.create).toBe(1);
    await expectRejection(
      lockbox.backup.preview(theirs, { decryption: { passphrase: 'wrong horse' } }),
      'BUNDLE_DECRYPT_FAILED',
    );

    const { sink, bytes } = memorySink();
    await lockbox.backup.export(sink, {
      encryption: { passphrase: 'correct horse', scryptWorkFactor: 10 },
    });
    const decrypter = new Decrypter();
    decrypter.addPassphrase('correct horse');
    const text = await decrypter.decrypt(bytes(), 'text');
    expect(text).toContain('"kept"');
  });

  it('refuses to write a bundle it would refuse to read (work factor above 18)', () => {
    const { sink } = memorySink();
    return expectRejection(
      lockbox.backup.export(sink, { encryption: { passphrase: 'p', scryptWorkFactor: 19 } }),
      'INVALID_ARGUMENT',
    );
  });
});
