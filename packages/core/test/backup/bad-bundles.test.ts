/**
 * Every kind of bad bundle is refused with its own code, and nothing is written:
 * on SQLite the database file is byte-for-byte identical afterwards, on
 * PostgreSQL every Lockbox table holds exactly the rows it held before. Error
 * messages never quote a value from the bundle.
 */

import type { ErrorCode, Keyring } from '@lockbox/core';
import {
  DIALECTS,
  expectRejection,
  freshDatabase,
  newKeyring,
  open,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgeKeyPair, generateAgeIdentity } from '../../src/keys/age-identity.js';
import {
  ageEncrypt,
  bundleText,
  fileBytes,
  memorySink,
  seed,
  storeDigest,
} from './backup-helpers.js';

const CANARY = 'CANARY-secret-value-7f3a';

describe.each(DIALECTS)('bad bundles on %s', (dialect) => {
  let database: TestDatabase;
  let keyring: Keyring;
  let pair: AgeKeyPair;
  /** A genuine export of 1,200 secrets (several age chunks). */
  let good: Buffer;

  beforeAll(async () => {
    database = await freshDatabase(dialect);
    keyring = newKeyring().keyring;
    pair = await generateAgeIdentity();
    const lockbox = await open(database, keyring);
    await lockbox.secrets.set('existing', 'keep', 'kept');
    const source = await freshDatabase(dialect);
    const other = await open(source, newKeyring().keyring);
    await seed(other, 1200);
    const { sink, bytes } = memorySink();
    await other.backup.export(sink, { encryption: { recipients: [pair.recipient] } });
    good = bytes();
    await other.close();
    await source.drop();
    await lockbox.close();
  });

  afterAll(async () => {
    await database.drop();
  });

  /** Runs preview and apply on a closed-then-reopened store and proves nothing changed. */
  async function refused(
    bundle: Buffer,
    code: ErrorCode,
    options: { identities?: string[]; passphrase?: string; maxBytes?: number } = {},
  ): Promise<void> {
    const decryption =
      options.passphrase === undefined
        ? { identities: options.identities ?? [pair.identity] }
        : { passphrase: options.passphrase };
    const before = fileBytes(database);
    const lockbox = await open(database, keyring);
    const digest = await storeDigest(lockbox);
    const limits = options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes };
    try {
      await expectRejection(lockbox.backup.preview(bundle, { decryption, ...limits }), code, [
        CANARY,
      ]);
      await expectRejection(
        lockbox.backup.apply(bundle, { decryption, policy: 'overwrite', ...limits }),
        code,
        [CANARY],
      );
      expect(await storeDigest(lockbox)).toBe(digest);
    } finally {
      await lockbox.close();
    }
    if (before !== undefined) expect(fileBytes(database)?.equals(before)).toBe(true);
  }

  async function handMade(text: string): Promise<Buffer> {
    return ageEncrypt(text, pair.recipient);
  }

  it('accepts the genuine bundle (the baseline the others damage)', async () => {
    const lockbox = await open(database, keyring);
    try {
      const report = await lockbox.backup.preview(good, {
        decryption: { identities: [pair.identity] },
      });
      expect(report.totals.create).toBe(1200);
    } finally {
      await lockbox.close();
    }
  });

  it('refuses a truncated bundle (BUNDLE_DECRYPT_FAILED)', async () => {
    await refused(good.subarray(0, good.length - 100), 'BUNDLE_DECRYPT_FAILED');
    await refused(good.subarray(0, Math.floor(good.length / 2)), 'BUNDLE_DECRYPT_FAILED');
  });

  it('refuses a bundle with one flipped byte in its last chunk, after earlier chunks were read', async () => {
    const damaged = Buffer.from(good);
    const at = damaged.length - 20;
    damaged.writeUInt8(damaged.readUInt8(at) ^ 0x01, at);
    await refused(damaged, 'BUNDLE_DECRYPT_FAILED');
  });

  it('refuses a bundle with a flipped byte in its header MAC', async () => {
    const damaged = Buffer.from(good);
    const mac = damaged.indexOf('\n--- ') + 6;
    damaged[mac] = damaged[mac] === 0x41 ? 0x42 : 0x41;
    await refused(damaged, 'BUNDLE_DECRYPT_FAILED');
  });

  it('refuses the wrong identity and the wrong passphrase (BUNDLE_DECRYPT_FAILED)', async () => {
    const stranger = await generateAgeIdentity();
    await refused(good, 'BUNDLE_DECRYPT_FAILED', { identities: [stranger.identity] });
    await refused(good, 'BUNDLE_DECRYPT_FAILED', { passphrase: 'not it' });
  });

  it('refuses a passphrase bundle opened with another passphrase', async () => {
    const lockbox = await open(database, keyring);
    const { sink, bytes } = memorySink();
    try {
      await lockbox.backup.export(sink, {
        encryption: { passphrase: 'right', scryptWorkFactor: 10 },
      });
    } finally {
      await lockbox.close();
    }
    await refused(bytes(), 'BUNDLE_DECRYPT_FAILED', { passphrase: 'wrong' });
  });

  it('refuses an unknown schema version (BUNDLE_VERSION_UNSUPPORTED)', async () => {
    const text = bundleText([{ scope: 's', name: 'n', value: CANARY }], {
      header: { format: 'lockbox-bundle', version: 3 },
    });
    await refused(await handMade(text), 'BUNDLE_VERSION_UNSUPPORTED');
  });

  it('refuses a duplicate record, even far from its first occurrence (BUNDLE_DUPLICATE_RECORD)', async () => {
    const records = Array.from({ length: 1100 }, (_, i) => ({
      scope: 's',
      name: `n${i}`,
      value: CANARY,
    }));
    records.push({ scope: 's', name: 'n3', value: CANARY });
    await refused(await handMade(bundleText(records)), 'BUNDLE_DUPLICATE_RECORD');
  });

  it('refuses a bundle over the size limit (BUNDLE_TOO_LARGE)', async () => {
    await refused(good, 'BUNDLE_TOO_LARGE', { maxBytes: 10_000 });
  });

  it('refuses malformed content (BUNDLE_MALFORMED) without quoting it', async () => {
    const cases = [
      `{"format":"lockbox-bundle","version":1}\n{"scope":"s","name":"n","value":"${CANARY}"\n`,
      `{"scope":"s","name":"n","value":"${CANARY}"}\n`,
      bundleText([{ scope: 's', name: 'n' }]),
      bundleText([{ scope: 's', name: 'n', value: CANARY, valueBase64: 'AA==' }]),
      bundleText([{ scope: 's', name: 'n', vlaue: CANARY }]),
      bundleText([{ scope: 'lockbox:audit', name: 'n', value: CANARY }]),
      bundleText([{ scope: 's', name: 'bad\nname', value: CANARY }]),
      bundleText([{ scope: 's', name: 'n', valueBase64: `${CANARY}!` }]),
      bundleText([{ scope: 's', name: 'n', value: CANARY, metadata: [CANARY] }]),
      bundleText([{ scope: 's', name: 'n', value: CANARY, updatedAt: 'yesterday' }]),
      `${bundleText([{ scope: 's', name: 'n', value: CANARY }])}{"scope":"s","name":"m","value":"x"}\n`,
      bundleText([{ scope: 's', name: 'n', value: CANARY }], {
        header: { format: 'lockbox-bundle', version: 1, counts: { secrets: 2 } },
        trailer: false,
      }),
      `${bundleText([{ scope: 's', name: 'n', value: CANARY }], { trailer: false })}{"end":true,"records":5}\n`,
      '',
    ];
    for (const text of cases) await refused(await handMade(text), 'BUNDLE_MALFORMED');
  });

  it('refuses a file that is not age-encrypted (BUNDLE_MALFORMED)', async () => {
    await refused(
      Buffer.from(bundleText([{ scope: 's', name: 'n', value: CANARY }])),
      'BUNDLE_MALFORMED',
    );
  });

  it('refuses a value over the size limit (VALUE_TOO_LARGE)', async () => {
    const text = bundleText([{ scope: 's', name: 'n', value: 'v'.repeat(64 * 1024 + 1) }]);
    await refused(await handMade(text), 'VALUE_TOO_LARGE');
  });
});
