/**
 * The database writer against the HTTP API (inject), on both dialects: token rows
 * forged, widened or un-revoked by raw SQL get the same 401 as any unknown token,
 * /readyz reports the break (table and row id, never values), and an instance
 * whose primary another handle's rotation retired turns not-ready and refuses to
 * make data keys under it, logged at warn level.
 */
import { type DialectName, generateMasterKey, Keyring, openLockbox } from '@lockbox/core';
import { drivers } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { hashTokenSecret, newTokenId, newTokenSecret } from '../../core/src/tokens/token-format.js';
import { bearer, startTestServer, type TestServer } from './helpers/test-server.js';

const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];
const CANARY = 'canary-http-db-writer-51c2';

describe.each(DIALECTS)('the database writer over HTTP on %s', (dialect) => {
  let server: TestServer;
  afterEach(async () => server?.close());

  async function unauthorizedBody(token: string): Promise<unknown> {
    const response = await server.app.inject({
      method: 'GET',
      url: '/v1/secrets/prod/STRIPE_KEY',
      headers: bearer(token),
    });
    expect(response.statusCode).toBe(401);
    expect(response.body).not.toContain(CANARY);
    return response.json();
  }

  it('forged, widened and un-revoked tokens get the unknown-token 401, and /readyz names the rows', async () => {
    server = await startTestServer(dialect);
    const { lockbox } = server;
    const db = lockbox.vault.store.db;
    await lockbox.secrets.set('prod', 'STRIPE_KEY', CANARY);
    const unknown = await unauthorizedBody(`lbx_${'0'.repeat(12)}_${'A'.repeat(43)}`);

    // Forged: a row whose hash the attacker computed the documented old way.
    const id = newTokenId();
    const secret = newTokenSecret();
    await db
      .insertInto('lockbox_tokens')
      .values({
        id,
        name: 'evil',
        hash: hashTokenSecret(id, secret),
        permissions: JSON.stringify(['admin', 'keys:rotate', 'secrets:read:*']),
        created_at: new Date().toISOString(),
        created_by: null,
        last_used_at: null,
        revoked_at: null,
        mac: null,
      })
      .execute();
    const forged = `lbx_${id}_${secret.toString('base64url')}`;
    expect(await unauthorizedBody(forged)).toEqual(unknown);
    const rekey = await server.app.inject({
      method: 'POST',
      url: '/v1/rotation/data',
      headers: bearer(forged),
      payload: {},
    });
    expect(rekey.statusCode).toBe(401);

    // Widened: a dev reader edited to read everything.
    const reader = await server.token(['secrets:read:dev'], 'reader');
    const readerId = reader.slice(4, 16);
    await db
      .updateTable('lockbox_tokens')
      .set({ permissions: JSON.stringify(['secrets:read:*']) })
      .where('id', '=', readerId)
      .execute();
    expect(await unauthorizedBody(reader)).toEqual(unknown);

    // Un-revoked.
    const old = await server.token(['secrets:read:prod'], 'old');
    const oldId = old.slice(4, 16);
    await lockbox.tokens.revoke(oldId);
    await db
      .updateTable('lockbox_tokens')
      .set({ revoked_at: null })
      .where('id', '=', oldId)
      .execute();
    expect(await unauthorizedBody(old)).toEqual(unknown);

    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe('NOT_READY');
    expect(ready.json().error.message).toContain('INTEGRITY_CHECK_FAILED');
    for (const tokenId of [id, readerId, oldId]) {
      expect(ready.json().error.message).toContain(`lockbox_tokens ${tokenId}`);
    }
    expect(ready.body).not.toContain('secrets:read');
    expect(server.logs.text).not.toContain(CANARY);
    expect(server.logs.text).not.toContain(secret.toString('base64url'));
  });

  it('turns not-ready and refuses new data keys when another instance retired its primary', async () => {
    server = await startTestServer(dialect);
    const writer = await server.token(['secrets:write:*']);
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    // Another instance (its own handle on the same store) rotates to a new key.
    const other = await openLockbox({
      database: server.database.url,
      drivers,
      keyring: Keyring.fromBytes(server.masterKey),
    });
    await other.rotation.rotateMaster({
      oldKey: Keyring.fromBytes(server.masterKey).primary,
      newKey: generateMasterKey(),
      mode: 'atomic',
    });
    await other.close();

    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.message).toContain('MASTER_KEY_RETIRED');
    // The other instance's data keys are now under a key this one lacks.
    expect(ready.json().error.message).toContain('KEY_NOT_IN_KEYRING');
    const write = await server.app.inject({
      method: 'PUT',
      url: '/v1/secrets/tenant%3A1/K',
      headers: bearer(writer),
      payload: { value: 'v' },
    });
    expect(write.statusCode).toBe(503);
    expect(write.json().error.code).toBe('MASTER_KEY_RETIRED');
    const warned = server.logs
      .records()
      .filter((r) => r.level === 40 && r.code === 'MASTER_KEY_RETIRED');
    expect(warned).toHaveLength(1);
  });
});
