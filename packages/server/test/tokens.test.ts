/**
 * /v1/tokens: an admin creates, lists and revokes tokens; the token text is in
 * the creation response only; a token cannot grant what its creator lacks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('tokens routes', () => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('creates a token that works at once, lists it without its text, and revokes it', async () => {
    server = await startTestServer('sqlite');
    const admin = await server.token(['admin'], 'ops');
    const adminId = (await server.lockbox.tokens.list())[0]!.id;
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(admin),
      payload: { name: 'ci-deploy', permissions: ['secrets:read:prod', 'audit:read'] },
    });
    expect(created.statusCode).toBe(201);
    const body = created.json<{ id: string; token: string; info: Record<string, unknown> }>();
    expect(body.token).toMatch(/^lbx_[0-9a-f]{12}_/);
    expect(body.info).toMatchObject({
      id: body.id,
      name: 'ci-deploy',
      permissions: ['secrets:read:prod', 'audit:read'],
      createdBy: adminId,
      revokedAt: null,
    });
    expect(await auditFor(server.lockbox, created)).toMatchObject([
      {
        action: 'token.create',
        outcome: 'ok',
        actorId: adminId,
        details: { tokenId: body.id, tokenName: 'ci-deploy' },
      },
    ]);
    const audit = await server.lockbox.audit.list({ limit: 1000 });
    expect(JSON.stringify(audit)).not.toContain(body.token);

    const works = await server.app.inject({
      method: 'GET',
      url: '/v1/audit',
      headers: bearer(body.token),
    });
    expect(works.statusCode).toBe(200);

    const list = await server.app.inject({
      method: 'GET',
      url: '/v1/tokens',
      headers: bearer(admin),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().tokens.map((t: { name: string }) => t.name)).toEqual(['ops', 'ci-deploy']);
    expect(list.body).not.toContain(body.token);
    expect(list.body).not.toContain('sha256:');

    const revoke = await server.app.inject({
      method: 'DELETE',
      url: `/v1/tokens/${body.id}`,
      headers: bearer(admin),
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json().token.revokedAt).not.toBeNull();
    expect(await auditFor(server.lockbox, revoke)).toMatchObject([
      { action: 'token.revoke', outcome: 'ok', actorId: adminId, details: { tokenId: body.id } },
    ]);
    const refused = await server.app.inject({
      method: 'GET',
      url: '/v1/audit',
      headers: bearer(body.token),
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('AUTH_INVALID');
  });

  it('refuses to let an admin token mint a keys:rotate token (admin is not enough to rotate)', async () => {
    server = await startTestServer('sqlite');
    const admin = await server.token(['admin'], 'ops');
    const response = await server.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(admin),
      payload: { name: 'sneaky', permissions: ['keys:rotate'] },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().error).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(response.json().error.message).toContain('keys:rotate');
    expect((await server.lockbox.tokens.list()).map((t) => t.name)).toEqual(['ops']);
    expect(await auditFor(server.lockbox, response)).toMatchObject([
      { action: 'token.create', outcome: 'denied', details: { code: 'PERMISSION_DENIED' } },
    ]);
    const rotator = await server.token(['admin', 'keys:rotate'], 'rotator');
    const allowed = await server.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(rotator),
      payload: { name: 'rotation-bot', permissions: ['keys:rotate'] },
    });
    expect(allowed.statusCode).toBe(201);
  });

  it.each([
    ['no permissions', { name: 'x', permissions: [] }, 'REQUEST_INVALID'],
    ['an unknown permission', { name: 'x', permissions: ['root'] }, 'INVALID_ARGUMENT'],
    ['a missing name', { permissions: ['audit:read'] }, 'REQUEST_INVALID'],
    ['a name with a newline', { name: 'a\nb', permissions: ['audit:read'] }, 'NAME_INVALID'],
    ['an unknown field', { name: 'x', permissions: ['audit:read'], ttl: 5 }, 'REQUEST_INVALID'],
  ])('refuses %s (400) and creates nothing', async (_what, payload, code) => {
    server = await startTestServer('sqlite');
    const admin = await server.token(['admin'], 'ops');
    const response = await server.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(admin),
      payload,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe(code);
    expect(await server.lockbox.tokens.list()).toHaveLength(1);
  });

  it('answers TOKEN_NOT_FOUND (404) for revoking an unknown id', async () => {
    server = await startTestServer('sqlite');
    const admin = await server.token(['admin'], 'ops');
    const response = await server.app.inject({
      method: 'DELETE',
      url: '/v1/tokens/0123456789ab',
      headers: bearer(admin),
    });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('TOKEN_NOT_FOUND');
  });
});
