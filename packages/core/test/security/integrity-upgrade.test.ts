/**
 * Migration 0003_integrity on a store written before it: the keyed step creates
 * the integrity key inside the migration transaction and stamps the rows that
 * exist then (trust on first use), a wrong key upgrades nothing, and a token
 * hashed the old way keeps working only because its row was stamped.
 */

import {
  connectStore,
  generateMasterKey,
  Keyring,
  type Lockbox,
  schemaVersion,
} from '@lockbox/core';
import { dataKeyContext, SCHEMA_VERSION } from '@lockbox/core/hazmat';
import {
  DIALECTS,
  drivers,
  expectRejection,
  freshDatabase,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity, unwrapWithIdentity } from '../../src/keys/age-identity.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import {
  formatToken,
  hashTokenSecret,
  newTokenId,
  newTokenSecret,
} from '../../src/tokens/token-format.js';
import { openStore, reportedBreaks } from './db-writer-helpers.js';

describe.each(DIALECTS)('upgrading a store to 0003_integrity on %s', (dialect) => {
  let database: TestDatabase;
  const opened: Lockbox[] = [];

  afterEach(async () => {
    for (const l of opened.splice(0)) await l.close();
    await database.drop();
  });

  /** A store as Lockbox wrote it at schema version 2, with a token, a field and a recipient. */
  async function legacyStore(keyring: Keyring, recipient: string) {
    const raw = connectStore(database.url, drivers);
    const db = raw.db;
    await MIGRATIONS['0001_initial']!.up(db);
    await MIGRATIONS['0002_audit_key_id']!.up(db);
    await sql`create table lockbox_migration (name text primary key, applied_at text not null)`.execute(
      db,
    );
    const now = new Date().toISOString();
    for (const name of ['0001_initial', '0002_audit_key_id']) {
      await sql`insert into lockbox_migration (name, applied_at) values (${name}, ${now})`.execute(
        db,
      );
    }
    const rows: [string, string][] = [
      ['store_id', 'legacy-store'],
      ['created_at', now],
      ['recovery_recipient', recipient],
    ];
    for (const [key, value] of rows) {
      await sql`insert into lockbox_meta (key, value) values (${key}, ${value})`.execute(db);
    }
    const fp = keyring.primary.fingerprint;
    await sql`insert into lockbox_master_keys (fingerprint, state, created_at, retired_at) values (${fp}, 'active', ${now}, null)`.execute(
      db,
    );
    const id = '00112233aabbccdd';
    const wrapped = keyring.wrap(Buffer.alloc(32, 7), dataKeyContext('prod', id));
    await sql`insert into lockbox_data_keys (id, scope, version, wrapped, master_fingerprint, wrapped_recovery, state, created_at, updated_at) values (${id}, 'prod', 1, ${wrapped}, ${fp}, null, 'active', ${now}, ${now})`.execute(
      db,
    );
    await sql`insert into lockbox_fields (table_name, column_name, primary_key, scope, created_at) values ('connectors', 'api_key', 'id', 'field:connectors.api_key', ${now})`.execute(
      db,
    );
    const tokenId = newTokenId();
    const secret = newTokenSecret();
    await sql`insert into lockbox_tokens (id, name, hash, permissions, created_at, created_by, last_used_at, revoked_at) values (${tokenId}, 'ci', ${hashTokenSecret(tokenId, secret)}, '["secrets:read:prod"]', ${now}, null, null, null)`.execute(
      db,
    );
    return { raw, token: formatToken(tokenId, secret), tokenId };
  }

  it('stamps the rows that exist at upgrade time; legacy tokens keep working; later plants do not', async () => {
    database = await freshDatabase(dialect);
    const keyring = Keyring.fromBytes(generateMasterKey());
    const owner = await generateAgeIdentity();
    const { raw, token, tokenId } = await legacyStore(keyring, owner.recipient);

    // A wrong key upgrades nothing: the migration (schema and stamping) rolls back.
    await expectRejection(openStore(database, Keyring.fromBytes(generateMasterKey())), 'KEY_WRONG');
    expect(await schemaVersion(raw)).toBe(2);

    const lockbox = await openStore(database, keyring);
    opened.push(lockbox);
    expect(lockbox.vault.schemaVersion).toBe(SCHEMA_VERSION);
    expect((await lockbox.tokens.verify(token)).id).toBe(tokenId);
    expect(await lockbox.fields.list()).toHaveLength(1);
    expect(await lockbox.recovery.recipient()).toBe(owner.recipient);
    expect(await reportedBreaks(lockbox)).toEqual([]);
    // The integrity key is wrapped to the recipient found at upgrade, so recovery carries it.
    const integrity = await raw.db
      .selectFrom('lockbox_data_keys')
      .selectAll()
      .where('scope', '=', 'lockbox:integrity')
      .execute();
    expect(integrity).toHaveLength(1);
    (await unwrapWithIdentity(owner.identity, integrity[0]!.wrapped_recovery as string)).fill(0);

    // After the upgrade, a row planted with an old-style hash has no valid MAC.
    const plantedId = newTokenId();
    const secret = newTokenSecret();
    await sql`insert into lockbox_tokens (id, name, hash, permissions, created_at, created_by, last_used_at, revoked_at, mac) values (${plantedId}, 'evil', ${hashTokenSecret(plantedId, secret)}, '["admin"]', ${new Date().toISOString()}, null, null, null, null)`.execute(
      raw.db,
    );
    await expectRejection(lockbox.tokens.verify(formatToken(plantedId, secret)), 'AUTH_INVALID');
    await raw.close();
  });
});
