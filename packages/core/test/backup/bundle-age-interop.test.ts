/**
 * Bundles interoperate with the stock `age` binary (Debian package `age`): what
 * Lockbox exports, `age -d -i` decrypts into the documented JSON lines; what a
 * person encrypts by hand with `age -r` from a JSON-lines file, Lockbox imports.
 *
 * In CI (process.env.CI set) these tests run even when `age` is missing, and so
 * fail; on a workstation without `age` they are skipped with a warning.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lockbox } from '@lockbox/core';
import {
  AGE,
  describeWithTool,
  expectRejection,
  freshDatabase,
  newKeyring,
  open,
  runAge,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateAgeIdentity, writeAgeIdentityFile } from '../../src/keys/age-identity.js';
import { memorySink } from './backup-helpers.js';

const FIXTURE = new URL('./fixtures/hand-made-bundle.jsonl', import.meta.url);

describeWithTool('age', AGE)('bundles and the stock age binary', () => {
  let dir: string;
  let database: TestDatabase;
  let lockbox: Lockbox;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lockbox-bundle-age-'));
    database = await freshDatabase('sqlite');
    lockbox = await open(database, newKeyring().keyring);
  });

  afterEach(async () => {
    await lockbox.close();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the age binary (required in CI)', () => {
    expect(AGE, 'install the age binary (apt-get install age)').toBeDefined();
  });

  it('age -d -i decrypts an exported bundle into the documented JSON lines', async () => {
    await lockbox.secrets.set('prod', 'STRIPE_KEY', 'sk_live_1', { metadata: { owner: 'ops' } });
    await lockbox.secrets.set('prod', 'BLOB', Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const pair = await generateAgeIdentity();
    const identityFile = join(dir, 'identity.txt');
    await writeAgeIdentityFile(identityFile, pair.identity);
    const { sink, bytes } = memorySink();
    await lockbox.backup.export(sink, { encryption: { recipients: [pair.recipient] } });

    const plaintext = (await runAge(['-d', '-i', identityFile], bytes())).toString('utf8');
    const lines = plaintext
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      format: 'lockbox-bundle',
      version: 1,
      sourceFingerprint: lockbox.vault.keyring.primary.fingerprint,
      storeId: lockbox.vault.storeId,
      scopes: ['prod'],
      counts: { secrets: 2 },
    });
    expect(typeof lines[0]?.createdAt).toBe('string');
    expect(lines[1]).toMatchObject({
      scope: 'prod',
      name: 'BLOB',
      valueBase64: '3q2+7w==',
      metadata: null,
      version: 1,
    });
    expect(lines[2]).toMatchObject({
      scope: 'prod',
      name: 'STRIPE_KEY',
      value: 'sk_live_1',
      metadata: { owner: 'ops' },
      version: 1,
    });
    expect(typeof lines[2]?.updatedAt).toBe('string');
    expect(lines[3]).toEqual({ end: true, records: 2 });
  });

  it('imports a bundle made by hand with age -r from the documented JSON-lines file', async () => {
    // The identity file comes from the stock age-keygen, the recipient from age-keygen -y.
    const identityText = (await runAge([], '', 'age-keygen')).toString('utf8');
    const recipient = (await runAge(['-y'], identityText, 'age-keygen')).toString('utf8').trim();
    const bundle = await runAge(['-r', recipient], readFileSync(FIXTURE));
    const report = await lockbox.backup.apply(bundle, {
      decryption: { identities: [identityText] },
    });
    expect(report.totals).toEqual({ create: 3, overwrite: 0, unchanged: 0, conflict: 0 });
    expect(await lockbox.secrets.get('prod', 'STRIPE_KEY')).toBe('sk_live_example');
    expect((await lockbox.secrets.read('prod', 'DATABASE_URL')).metadata).toEqual({ owner: 'ops' });
    expect(await lockbox.secrets.getBytes('user:42', 'signing-key')).toEqual(
      Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    );
  });

  it('imports with any one of several recipients age -r was given', async () => {
    const a = await generateAgeIdentity();
    const b = await generateAgeIdentity();
    const bundle = await runAge(['-r', a.recipient, '-r', b.recipient], readFileSync(FIXTURE));
    const report = await lockbox.backup.preview(bundle, {
      decryption: { identities: [b.identity] },
    });
    expect(report.totals.create).toBe(3);
  });

  it('refuses an ASCII-armored bundle (age -a) with a message that says so', async () => {
    const pair = await generateAgeIdentity();
    const bundle = await runAge(['-a', '-r', pair.recipient], readFileSync(FIXTURE));
    const err = await expectRejection(
      lockbox.backup.preview(bundle, { decryption: { identities: [pair.identity] } }),
      'BUNDLE_MALFORMED',
    );
    expect(err.message).toContain('age -a');
  });

  it('keeps the documented example in docs/backup-and-recovery.md identical to the fixture', () => {
    const doc = readFileSync(
      new URL('../../../../docs/backup-and-recovery.md', import.meta.url),
      'utf8',
    );
    for (const line of readFileSync(FIXTURE, 'utf8').trimEnd().split('\n')) {
      expect(doc).toContain(line);
    }
  });
});
