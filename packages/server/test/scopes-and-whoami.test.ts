/**
 * /v1/scopes and /v1/whoami, on SQLite and PostgreSQL: any valid token may call
 * them, and each answers only with what that token may see — the scopes it can
 * read (never Lockbox's own `lockbox:` scopes), and its own record (never the
 * token text or its hash). Successful calls are not audited; refusals are.
 */

import { DIALECTS } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe.each(DIALECTS)('scopes and whoami routes on %s', (dialect) => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  async function setup() {
    server = await startTestServer(dialect);
    const { lockbox } = server;
    await lockbox.secrets.set('prod', 'db', 'pw');
    await lockbox.secrets.set('prod', 'api', 'sk');
    await lockbox.secrets.set('staging', 'db', 'pw-s');
    await lockbox.secrets.set('user:1', 'openai', 'sk-1');
    await lockbox.secrets.set('user:2', 'openai', 'sk-2');
    // A row in a reserved scope, written behind the vault's back (the vault refuses
    // such scopes), to show the listing filters them out rather than relying on there being none.
    const row = await lockbox.vault.store.db
      .selectFrom('lockbox_secrets')
      .selectAll()
      .where('scope', '=', 'prod')
      .where('name', '=', 'db')
      .executeTakeFirstOrThrow();
    await lockbox.vault.store.db
      .insertInto('lockbox_secrets')
      .values({ ...row, scope: 'lockbox:reserved' })
      .execute();
    return { app: server.app, lockbox };
  }

  async function scopesFor(permissions: string[]) {
    const token = await server.token(permissions);
    const response = await server.app.inject({
      method: 'GET',
      url: '/v1/scopes',
      headers: bearer(token),
    });
    expect(response.statusCode).toBe(200);
    return response;
  }

  it('lists the scopes a token may read, with secret counts, and no lockbox: scope', async () => {
    const { lockbox } = await setup();
    const admin = await scopesFor(['admin']);
    expect(admin.json()).toEqual({
      scopes: [
        { scope: 'prod', secrets: 2 },
        { scope: 'staging', secrets: 1 },
        { scope: 'user:1', secrets: 1 },
        { scope: 'user:2', secrets: 1 },
      ],
    });
    expect(admin.body).not.toContain('lockbox:');
    expect((await scopesFor(['secrets:read:*'])).json().scopes).toHaveLength(4);
    // Successful listings are not audited (like listing a scope's secrets).
    expect(await auditFor(lockbox, admin)).toEqual([]);
  });

  it('filters the list by the token secrets:read globs', async () => {
    await setup();
    expect((await scopesFor(['secrets:read:user:*'])).json().scopes).toEqual([
      { scope: 'user:1', secrets: 1 },
      { scope: 'user:2', secrets: 1 },
    ]);
    expect((await scopesFor(['secrets:read:prod', 'secrets:read:user:2'])).json().scopes).toEqual([
      { scope: 'prod', secrets: 2 },
      { scope: 'user:2', secrets: 1 },
    ]);
    // Writing is not reading; a glob that matches nothing, or no secret permission, lists nothing.
    expect((await scopesFor(['secrets:write:*'])).json()).toEqual({ scopes: [] });
    expect((await scopesFor(['secrets:read:dev*'])).json()).toEqual({ scopes: [] });
    expect((await scopesFor(['audit:read'])).json()).toEqual({ scopes: [] });
  });

  it("answers whoami with the caller's own record, without token text or hash, unaudited", async () => {
    const { app, lockbox } = await setup();
    const token = await server.token(['audit:read', 'secrets:read:user:*'], 'auditor');
    const response = await app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer(token) });
    expect(response.statusCode).toBe(200);
    const stored = (await lockbox.tokens.list()).find((t) => t.name === 'auditor')!;
    expect(response.json()).toEqual({
      token: {
        id: stored.id,
        name: 'auditor',
        permissions: ['audit:read', 'secrets:read:user:*'],
        createdAt: stored.createdAt,
        createdBy: null,
        // As the record stood when the request was authenticated: this is its first use.
        lastUsedAt: null,
        revokedAt: null,
      },
    });
    expect(response.body).not.toContain(token.slice(17));
    expect(response.body).not.toContain('sha256:');
    expect(await auditFor(lockbox, response)).toEqual([]);
  });

  it('refuses both without a token (AUTH_MISSING) or with a revoked one (AUTH_INVALID), audited', async () => {
    const { app, lockbox } = await setup();
    const token = await server.token(['admin'], 'gone');
    await lockbox.tokens.revoke((await lockbox.tokens.list()).find((t) => t.name === 'gone')!.id);
    for (const [url, action] of [
      ['/v1/scopes', 'scope.list'],
      ['/v1/whoami', 'token.whoami'],
    ] as const) {
      const missing = await app.inject({ method: 'GET', url });
      expect(missing.statusCode).toBe(401);
      expect(missing.json().error.code).toBe('AUTH_MISSING');
      expect(await auditFor(lockbox, missing)).toMatchObject([
        { action, outcome: 'denied', actorId: null, details: { code: 'AUTH_MISSING' } },
      ]);
      const revoked = await app.inject({ method: 'GET', url, headers: bearer(token) });
      expect(revoked.statusCode).toBe(401);
      expect(revoked.json().error.code).toBe('AUTH_INVALID');
      expect(await auditFor(lockbox, revoked)).toMatchObject([
        { action, outcome: 'denied', details: { code: 'AUTH_INVALID' } },
      ]);
    }
  });
});
