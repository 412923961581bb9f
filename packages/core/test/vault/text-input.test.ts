/**
 * Text is stored exactly as given or refused with a stable code, never repaired
 * into U+FFFD: lone surrogates in values, names, scopes, metadata and bundle
 * records; invalid UTF-8 in bundles; metadata too deep to walk safely.
 */

import { type Lockbox, MAX_METADATA_DEPTH } from '@lockbox/core';
import {
  expectRejection,
  freshDatabase,
  newKeyring,
  open,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../src/keys/age-identity.js';
import { ageEncrypt, storeDigest } from '../backup/backup-helpers.js';

const LONE_HIGH = 'pass\ud800word';
const LONE_LOW = '\udc00tail';

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe('text that would be altered is refused', () => {
  let database: TestDatabase;
  let lockbox: Lockbox;
  beforeAll(async () => {
    database = await freshDatabase('sqlite');
    lockbox = await open(database, newKeyring().keyring);
    await lockbox.secrets.set('prod', 'existing', 'kept');
  });
  afterAll(async () => {
    await lockbox.close();
    await database.drop();
  });

  it('refuses lone surrogates in values (TEXT_INVALID) and in names and scopes, storing nothing', async () => {
    const digest = await storeDigest(lockbox);
    for (const value of [LONE_HIGH, LONE_LOW]) {
      await expectRejection(lockbox.secrets.set('prod', 'db', value), 'TEXT_INVALID', [value]);
    }
    await expectRejection(lockbox.secrets.set('prod', LONE_HIGH, 'v'), 'NAME_INVALID');
    await expectRejection(lockbox.secrets.set(LONE_LOW, 'db', 'v'), 'SCOPE_INVALID');
    await sql`create table connectors (id integer primary key not null, api_key text)`.execute(
      lockbox.vault.store.db,
    );
    await lockbox.fields.register({ table: 'connectors', column: 'api_key' });
    const afterRegister = await storeDigest(lockbox);
    await expectRejection(
      lockbox.fields.encrypt('connectors', 'api_key', 'c-1', LONE_HIGH),
      'TEXT_INVALID',
    );
    expect(await storeDigest(lockbox)).toBe(afterRegister);
    expect(afterRegister).not.toBe(digest);
    // A well-formed pair (an emoji) is fine and comes back exactly.
    await lockbox.secrets.set('prod', 'emoji', 'key-\ud83d\udd11');
    expect(await lockbox.secrets.get('prod', 'emoji')).toBe('key-\ud83d\udd11');
  });

  it('refuses metadata with a lone surrogate, nested too deeply, or not plain JSON', async () => {
    const set = (metadata: Record<string, unknown>) =>
      lockbox.secrets.set('prod', 'meta', 'v', { metadata });
    await expectRejection(set({ note: LONE_HIGH }), 'TEXT_INVALID');
    await expectRejection(set({ [LONE_LOW]: 1 }), 'TEXT_INVALID');
    await expectRejection(set(nested(MAX_METADATA_DEPTH + 1)), 'METADATA_INVALID');
    // Far deeper than any stack: refused by an iterative walk, not a RangeError.
    await expectRejection(set(nested(200_000)), 'METADATA_INVALID');
    await expectRejection(set({ when: new Date() }), 'METADATA_INVALID');
    await expectRejection(set({ n: Number.NaN }), 'METADATA_INVALID');
    expect(await lockbox.secrets.has('prod', 'meta')).toBe(false);
    await set(nested(MAX_METADATA_DEPTH));
    expect((await lockbox.secrets.read('prod', 'meta')).metadata).toEqual(
      nested(MAX_METADATA_DEPTH),
    );
  });

  it('refuses a bundle record holding a lone surrogate, or bytes that are not UTF-8', async () => {
    const pair = await generateAgeIdentity();
    const decryption = { identities: [pair.identity] };
    const header = '{"format":"lockbox-bundle","version":1}\n';
    const trailer = '{"end":true,"records":1}\n';
    const digest = await storeDigest(lockbox);
    // JSON.stringify writes a lone surrogate as the escape "\ud800".
    const escaped = `${header}${JSON.stringify({ scope: 'prod', name: 'x', value: LONE_HIGH })}\n${trailer}`;
    expect(escaped).toContain('\\ud800');
    const surrogate = await ageEncrypt(escaped, pair.recipient);
    await expectRejection(lockbox.backup.preview(surrogate, { decryption }), 'TEXT_INVALID');
    await expectRejection(lockbox.backup.apply(surrogate, { decryption }), 'TEXT_INVALID');
    const deep = await ageEncrypt(
      `${header}${JSON.stringify({ scope: 'prod', name: 'x', value: 'v', metadata: nested(40) })}\n${trailer}`,
      pair.recipient,
    );
    await expectRejection(lockbox.backup.apply(deep, { decryption }), 'METADATA_INVALID');
    const record = Buffer.concat([
      Buffer.from(`${header}{"scope":"prod","name":"x","value":"a`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`"}\n${trailer}`),
    ]);
    const bytes = await ageEncrypt(record, pair.recipient);
    const err = await expectRejection(
      lockbox.backup.apply(bytes, { decryption }),
      'BUNDLE_MALFORMED',
    );
    expect(err.message).toMatch(/UTF-8/);
    expect(await storeDigest(lockbox)).toBe(digest);
  });
});
