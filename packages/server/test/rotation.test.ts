/**
 * /v1/keys and /v1/rotation: key status, master rotation with proof of
 * possession, data re-key, resume and status — and their audit entries, which
 * carry the token as actor and the request id.
 */
import { fingerprint, formatMasterKey, generateMasterKey } from '@lockbox/core';
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('keys and rotation routes', () => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  async function setup() {
    server = await startTestServer('sqlite');
    await server.lockbox.secrets.set('prod', 'db', 'pw-1');
    await server.lockbox.secrets.set('user:7', 'api', 'sk-7');
    const rotator = await server.token(['keys:rotate', 'secrets:read:*'], 'rotator');
    const rotatorId = (await server.lockbox.tokens.list()).find((t) => t.name === 'rotator')!.id;
    return { app: server.app, lockbox: server.lockbox, rotator, rotatorId };
  }

  async function wrappedUnder(): Promise<string[]> {
    const rows = await server.lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select('master_fingerprint')
      .where('state', '!=', 'destroyed')
      .execute();
    return [...new Set(rows.map((r) => r.master_fingerprint ?? ''))];
  }

  it('reports fingerprints, the census and the backup state, never a key', async () => {
    const { app, rotator } = await setup();
    const response = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(rotator) });
    expect(response.statusCode).toBe(200);
    const primary = fingerprint(server.masterKey);
    expect(response.json()).toMatchObject({
      primary,
      previous: [],
      needed: [{ fingerprint: primary, inKeyring: true }],
      totals: { secrets: 2, scopes: 2 },
      undecryptable: [],
      census: {
        masterKeys: [{ fingerprint: primary, primary: true, needed: true, secrets: 2 }],
        secrets: { total: 2, unreadable: 0 },
        missing: [],
      },
      backup: { state: 'not-backed-up' },
    });
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      expect(response.body).not.toContain(server.masterKey.toString(encoding));
    }
  });

  it('rotates the master key given the old and new keys, audited, and keeps serving secrets', async () => {
    const { app, lockbox, rotator, rotatorId } = await setup();
    const newKey = generateMasterKey();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/rotation/master',
      headers: bearer(rotator),
      payload: { oldKey: formatMasterKey(server.masterKey), newKey: newKey.toString('hex') },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      kind: 'master',
      dryRun: false,
      from: fingerprint(server.masterKey),
      to: fingerprint(newKey),
      dataKeys: { remaining: 0 },
      oldKeyRetired: true,
    });
    expect(await wrappedUnder()).toEqual([fingerprint(newKey)]);
    const entries = await lockbox.audit.list({ action: 'key.rotate.master' });
    expect(entries).toMatchObject([
      {
        outcome: 'ok',
        actorId: rotatorId,
        requestId: response.headers['x-request-id'],
        details: { to: fingerprint(newKey) },
      },
    ]);
    const read = await app.inject({
      method: 'GET',
      url: '/v1/secrets/prod/db',
      headers: bearer(rotator),
    });
    expect(read.json().value).toBe('pw-1');
    const status = await app.inject({
      method: 'GET',
      url: '/v1/rotation',
      headers: bearer(rotator),
    });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({
      lock: null,
      unfinished: null,
      recent: [{ kind: 'master', state: 'done', startedBy: rotatorId }],
    });
    expect(status.json().recent[0]).not.toHaveProperty('checkpoint');
  });

  it('refuses a wrong old key (ROTATION_OLD_KEY_MISMATCH, 422), audits the denial and changes nothing', async () => {
    const { app, lockbox, rotator, rotatorId } = await setup();
    const wrong = generateMasterKey();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/rotation/master',
      headers: bearer(rotator),
      payload: { oldKey: formatMasterKey(wrong), newKey: formatMasterKey(generateMasterKey()) },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('ROTATION_OLD_KEY_MISMATCH');
    expect(response.body).not.toContain(formatMasterKey(wrong));
    expect(await wrappedUnder()).toEqual([fingerprint(server.masterKey)]);
    expect(await auditFor(lockbox, response)).toMatchObject([
      {
        action: 'key.rotate.master',
        outcome: 'denied',
        actorId: rotatorId,
        details: { code: 'ROTATION_OLD_KEY_MISMATCH' },
      },
    ]);
    expect((await lockbox.rotation.status()).recent).toEqual([]);
  });

  it.each([
    [
      'a new key of the wrong length',
      () => ({ newKey: 'ab'.repeat(31) }),
      400,
      'KEY_INVALID_LENGTH',
    ],
    ['a new key that is not a key', () => ({ newKey: 'not a key!' }), 400, 'KEY_INVALID_ENCODING'],
    ['the same key twice', (old: string) => ({ newKey: old }), 422, 'KEY_SAME_AS_OLD'],
  ])('refuses %s before touching anything', async (_what, make, status, code) => {
    const { app, rotator } = await setup();
    const oldKey = formatMasterKey(server.masterKey);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/rotation/master',
      headers: bearer(rotator),
      payload: { oldKey, ...make(oldKey) },
    });
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(await wrappedUnder()).toEqual([fingerprint(server.masterKey)]);
  });

  it.each([
    ['no new key', { oldKey: 'x' }],
    ['an unknown mode', { oldKey: 'x', newKey: 'y', mode: 'fast' }],
    ['an unknown field', { oldKey: 'x', newKey: 'y', force: true }],
  ])('refuses a body with %s (REQUEST_INVALID, 400)', async (_what, payload) => {
    const { app, rotator } = await setup();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/rotation/master',
      headers: bearer(rotator),
      payload,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('REQUEST_INVALID');
  });

  it('dry-runs, then re-keys data, audited; resume with nothing unfinished is ROTATION_NOT_FOUND', async () => {
    const { app, lockbox, rotator, rotatorId } = await setup();
    const before = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select('id')
      .where('state', '=', 'active')
      .where('scope', 'not like', 'lockbox:%')
      .execute();
    const dry = await app.inject({
      method: 'POST',
      url: '/v1/rotation/data',
      headers: bearer(rotator),
      payload: { dryRun: true },
    });
    expect(dry.json()).toMatchObject({ kind: 'data', dryRun: true, secrets: 2 });
    const rekey = await app.inject({
      method: 'POST',
      url: '/v1/rotation/data',
      headers: bearer(rotator),
      payload: { mode: 'online', batchSize: 1 },
    });
    expect(rekey.statusCode).toBe(200);
    expect(rekey.json()).toMatchObject({ kind: 'data', mode: 'online', secrets: 2, unreadable: 0 });
    const after = await lockbox.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select('id')
      .where('state', '=', 'active')
      .execute();
    expect(after.map((r) => r.id)).not.toContain(before[0]?.id);
    expect(await lockbox.audit.list({ action: 'key.rotate.data' })).toMatchObject([
      { outcome: 'ok', actorId: rotatorId, requestId: rekey.headers['x-request-id'] },
    ]);
    const read = await app.inject({
      method: 'GET',
      url: '/v1/secrets/user%3A7/api',
      headers: bearer(rotator),
    });
    expect(read.json().value).toBe('sk-7');

    const resume = await app.inject({
      method: 'POST',
      url: '/v1/rotation/resume',
      headers: bearer(rotator),
      payload: {},
    });
    expect(resume.statusCode).toBe(404);
    expect(resume.json().error.code).toBe('ROTATION_NOT_FOUND');
  });
});
