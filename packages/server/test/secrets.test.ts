/**
 * /v1/secrets through the real app, on SQLite and PostgreSQL: success, missing
 * and invalid tokens, wrong permission, a scope outside the token's glob, bad
 * input — and the audit entry each request writes.
 */

import { DIALECTS } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe.each(DIALECTS)('secrets routes on %s', (dialect) => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  async function setup() {
    server = await startTestServer(dialect);
    const writer = await server.token(['secrets:read:user:*', 'secrets:write:user:*'], 'app-1');
    return { app: server.app, lockbox: server.lockbox, writer };
  }

  it('puts, reads, lists and deletes a secret, auditing each with token and request id', async () => {
    const { app, lockbox, writer } = await setup();
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/secrets/user%3A42/openai',
      headers: bearer(writer),
      payload: { value: 'sk-live-1', metadata: { owner: 'billing' } },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ scope: 'user:42', name: 'openai', version: 1 });
    const token = (await lockbox.tokens.list()).find((t) => t.name === 'app-1')!;
    expect(await auditFor(lockbox, put)).toMatchObject([
      {
        action: 'secret.set',
        scope: 'user:42',
        name: 'openai',
        outcome: 'ok',
        actorId: token.id,
        actorName: 'app-1',
      },
    ]);

    const get = await app.inject({
      method: 'GET',
      url: '/v1/secrets/user%3A42/openai',
      headers: bearer(writer),
    });
    expect(get.statusCode).toBe(200);
    expect(get.headers['cache-control']).toBe('no-store');
    expect(get.json()).toMatchObject({
      scope: 'user:42',
      name: 'openai',
      version: 1,
      type: 'utf8',
      encoding: 'utf8',
      value: 'sk-live-1',
      metadata: { owner: 'billing' },
      updatedBy: token.id,
    });
    expect(await auditFor(lockbox, get)).toMatchObject([
      { action: 'secret.read', scope: 'user:42', name: 'openai', outcome: 'ok', actorId: token.id },
    ]);

    const list = await app.inject({
      method: 'GET',
      url: '/v1/secrets/user%3A42',
      headers: bearer(writer),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({
      scope: 'user:42',
      secrets: [{ name: 'openai', version: 1, type: 'utf8', status: 'ok' }],
    });
    expect(list.body).not.toContain('sk-live-1');

    const del = await app.inject({
      method: 'DELETE',
      url: '/v1/secrets/user%3A42/openai',
      headers: bearer(writer),
    });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect(await auditFor(lockbox, del)).toMatchObject([
      { action: 'secret.delete', scope: 'user:42', name: 'openai', outcome: 'ok' },
    ]);
    const gone = await app.inject({
      method: 'GET',
      url: '/v1/secrets/user%3A42/openai',
      headers: bearer(writer),
    });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toEqual({
      error: { code: 'SECRET_NOT_FOUND', message: 'no secret "user:42/openai"' },
    });
    expect(await auditFor(lockbox, gone)).toMatchObject([
      { action: 'secret.read', outcome: 'error', details: { code: 'SECRET_NOT_FOUND' } },
    ]);
  });

  it('round-trips byte values as base64 and refuses malformed base64', async () => {
    const { app, writer } = await setup();
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/secrets/user%3A1/blob',
      headers: bearer(writer),
      payload: { value: bytes.toString('base64'), encoding: 'base64' },
    });
    expect(put.statusCode).toBe(200);
    const get = await app.inject({
      method: 'GET',
      url: '/v1/secrets/user%3A1/blob',
      headers: bearer(writer),
    });
    expect(get.json()).toMatchObject({ type: 'bytes', encoding: 'base64' });
    expect(Buffer.from(get.json<{ value: string }>().value, 'base64')).toEqual(bytes);
    const bad = await app.inject({
      method: 'PUT',
      url: '/v1/secrets/user%3A1/blob',
      headers: bearer(writer),
      payload: { value: 'not*base64', encoding: 'base64' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('REQUEST_INVALID');
  });

  it('refuses a compare-and-swap against a stale version with VERSION_CONFLICT (409)', async () => {
    const { app, writer } = await setup();
    const put = (ifVersion: number) =>
      app.inject({
        method: 'PUT',
        url: '/v1/secrets/user%3A1/cas',
        headers: bearer(writer),
        payload: { value: 'v', ifVersion },
      });
    expect((await put(0)).statusCode).toBe(200);
    const stale = await put(0);
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('VERSION_CONFLICT');
    expect((await put(1)).json()).toMatchObject({ version: 2 });
  });

  it.each([
    ['GET', '/v1/secrets/user%3A1/a', 'secret.read'],
    ['PUT', '/v1/secrets/user%3A1/a', 'secret.set'],
    ['DELETE', '/v1/secrets/user%3A1/a', 'secret.delete'],
    ['GET', '/v1/secrets/user%3A1', 'secret.list'],
  ] as const)(
    '%s %s without a token is AUTH_MISSING (401), audited as denied',
    async (method, url, action) => {
      const { app, lockbox } = await setup();
      const response = await app.inject({
        method,
        url,
        ...(method === 'PUT' ? { payload: { value: 'x' } } : {}),
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        error: { code: 'AUTH_MISSING', message: 'send Authorization: Bearer <token>' },
      });
      expect(await auditFor(lockbox, response)).toMatchObject([
        { action, outcome: 'denied', actorId: null, details: { code: 'AUTH_MISSING' } },
      ]);
    },
  );

  it('refuses an unknown or revoked token with AUTH_INVALID (401)', async () => {
    const { app, lockbox, writer } = await setup();
    const forged = `lbx_${'a'.repeat(12)}_${'A'.repeat(43)}`;
    for (const token of [forged, 'not-a-token']) {
      const response = await app.inject({
        method: 'GET',
        url: '/v1/secrets/user%3A1/a',
        headers: bearer(token),
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('AUTH_INVALID');
      expect(await auditFor(lockbox, response)).toMatchObject([
        { action: 'secret.read', outcome: 'denied', details: { code: 'AUTH_INVALID' } },
      ]);
    }
    const id = (await lockbox.tokens.list()).find((t) => t.name === 'app-1')!.id;
    await lockbox.tokens.revoke(id);
    const revoked = await app.inject({
      method: 'GET',
      url: '/v1/secrets/user%3A1/a',
      headers: bearer(writer),
    });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error.code).toBe('AUTH_INVALID');
  });

  it('refuses a token without the permission with PERMISSION_DENIED (403), audited with the token', async () => {
    const { app, lockbox, writer } = await setup();
    const reader = await server.token(['secrets:read:*'], 'reader');
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/secrets/user%3A1/a',
      headers: bearer(reader),
      payload: { value: 'x' },
    });
    expect(put.statusCode).toBe(403);
    expect(put.json().error.code).toBe('PERMISSION_DENIED');
    const readerId = (await lockbox.tokens.list()).find((t) => t.name === 'reader')!.id;
    expect(await auditFor(lockbox, put)).toMatchObject([
      {
        action: 'secret.set',
        scope: 'user:1',
        name: 'a',
        outcome: 'denied',
        actorId: readerId,
        actorName: 'reader',
        details: { code: 'PERMISSION_DENIED', permission: 'secrets:write' },
      },
    ]);
    expect(await lockbox.secrets.has('user:1', 'a')).toBe(false);

    const auditor = await server.token(['audit:read'], 'auditor');
    await app.inject({
      method: 'PUT',
      url: '/v1/secrets/user%3A1/a',
      headers: bearer(writer),
      payload: { value: 'x' },
    });
    for (const [method, url] of [
      ['GET', '/v1/secrets/user%3A1/a'],
      ['GET', '/v1/secrets/user%3A1'],
      ['DELETE', '/v1/secrets/user%3A1/a'],
    ] as const) {
      const response = await app.inject({ method, url, headers: bearer(auditor) });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
    }
    expect(await lockbox.secrets.has('user:1', 'a')).toBe(true);
  });

  it('refuses a scope outside the token glob (403), and reserved lockbox: scopes to everyone', async () => {
    const { app, lockbox, writer } = await setup();
    await lockbox.secrets.set('prod', 'db', 'pw');
    for (const [method, url] of [
      ['GET', '/v1/secrets/prod/db'],
      ['PUT', '/v1/secrets/prod/db'],
      ['DELETE', '/v1/secrets/prod/db'],
      ['GET', '/v1/secrets/prod'],
      ['GET', '/v1/secrets/users%3A1/db'],
    ] as const) {
      const response = await app.inject({
        method,
        url,
        headers: bearer(writer),
        ...(method === 'PUT' ? { payload: { value: 'x' } } : {}),
      });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(response.json().error).toMatchObject({ code: 'PERMISSION_DENIED' });
      expect(response.json().error.message).toContain('on scope');
      expect(await auditFor(lockbox, response)).toMatchObject([
        { outcome: 'denied', details: { code: 'PERMISSION_DENIED' } },
      ]);
    }
    expect(await lockbox.secrets.get('prod', 'db')).toBe('pw');
    const admin = await server.token(['admin', 'secrets:read:*']);
    const reserved = await app.inject({
      method: 'GET',
      url: '/v1/secrets/lockbox%3Aaudit',
      headers: bearer(admin),
    });
    expect(reserved.statusCode).toBe(403);
  });

  it.each([
    ['a body without value', { metadata: {} }],
    ['an unknown field', { value: 'x', colour: 'red' }],
    ['a value that is not a string', { value: 42 }],
    ['a negative ifVersion', { value: 'x', ifVersion: -1 }],
    ['an unknown encoding', { value: 'x', encoding: 'hex' }],
  ])('refuses %s with REQUEST_INVALID (400) and writes nothing', async (_what, payload) => {
    const { app, lockbox, writer } = await setup();
    const response = await app.inject({
      method: 'PUT',
      url: '/v1/secrets/user%3A1/a',
      headers: bearer(writer),
      payload,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('REQUEST_INVALID');
    expect(await lockbox.secrets.has('user:1', 'a')).toBe(false);
    expect(await auditFor(lockbox, response)).toEqual([]);
  });

  it('refuses names with control characters (NAME_INVALID, 400) and oversized values (413)', async () => {
    const { app, lockbox, writer } = await setup();
    const bad = await app.inject({
      method: 'PUT',
      url: '/v1/secrets/user%3A1/a%0Ab',
      headers: bearer(writer),
      payload: { value: 'x' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('NAME_INVALID');
    const big = await app.inject({
      method: 'PUT',
      url: '/v1/secrets/user%3A1/big',
      headers: bearer(writer),
      payload: { value: 'x'.repeat(64 * 1024 + 1) },
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('VALUE_TOO_LARGE');
    expect(await lockbox.secrets.has('user:1', 'big')).toBe(false);
  });
});
