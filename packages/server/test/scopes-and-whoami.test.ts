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

  async function scopesFor(permissions: string[], query = '') {
    const token = await server.token(permissions);
    const response = await server.app.inject({
      method: 'GET',
      url: `/v1/scopes${query}`,
      headers: bearer(token),
    });
    expect(response.statusCode).toBe(200);
    return response;
  }

  /** Every page of GET /v1/scopes for `token`, following `next`. */
  async function allPages(token: string, query: string) {
    const pages: { scopes: { scope: string }[]; next: string | null }[] = [];
    let after: string | null = null;
    do {
      const cursor: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
      const response = await server.app.inject({
        method: 'GET',
        url: `/v1/scopes?${query}${cursor}`,
        headers: bearer(token),
      });
      expect(response.statusCode).toBe(200);
      const page = response.json<{ scopes: { scope: string }[]; next: string | null }>();
      pages.push(page);
      after = page.next;
    } while (after !== null);
    return pages.map((page) => page.scopes.map((entry) => entry.scope));
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
      next: null,
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
    expect((await scopesFor(['secrets:write:*'])).json()).toEqual({ scopes: [], next: null });
    expect((await scopesFor(['secrets:read:dev*'])).json()).toEqual({ scopes: [], next: null });
    expect((await scopesFor(['audit:read'])).json()).toEqual({ scopes: [], next: null });
  });

  it('finds scopes by exact, case-sensitive prefix; LIKE wildcards are plain characters', async () => {
    const { lockbox } = await setup();
    await lockbox.secrets.set('a_b', 'k', 'v');
    await lockbox.secrets.set('axb', 'k', 'v');
    await lockbox.secrets.set('a%c', 'k', 'v');
    // Characters outside the BMP: both dialects and the prefix length count code points.
    await lockbox.secrets.set('🔑:鍵', 'k', 'v');
    const names = async (prefix: string) =>
      (await scopesFor(['admin'], `?prefix=${encodeURIComponent(prefix)}`))
        .json<{ scopes: { scope: string }[] }>()
        .scopes.map((entry) => entry.scope);
    expect(await names('user:')).toEqual(['user:1', 'user:2']);
    expect(await names('user:2')).toEqual(['user:2']);
    expect(await names('User:')).toEqual([]);
    expect(await names('a_')).toEqual(['a_b']);
    expect(await names('a%')).toEqual(['a%c']);
    expect(await names('🔑')).toEqual(['🔑:鍵']);
    expect(await names('🔑:鍵')).toEqual(['🔑:鍵']);
    expect(await names('🔑:鍵x')).toEqual([]);
    expect(await names('')).toHaveLength(8);
    // Scopes outside the token's globs stay hidden whatever the prefix.
    const narrow = await scopesFor(['secrets:read:user:1'], '?prefix=user');
    expect(narrow.json()).toEqual({ scopes: [{ scope: 'user:1', secrets: 1 }], next: null });
  });

  it('pages with a cursor that neither repeats nor skips when scopes change between pages', async () => {
    const { lockbox } = await setup();
    const admin = await server.token(['admin']);
    // The last full page says no more follow (no cursor to an empty page).
    expect(await allPages(admin, 'limit=2')).toEqual([
      ['prod', 'staging'],
      ['user:1', 'user:2'],
    ]);
    const first = await server.app.inject({
      method: 'GET',
      url: '/v1/scopes?limit=2',
      headers: bearer(admin),
    });
    expect(first.json()).toMatchObject({ next: 'staging' });
    // A scope created before the cursor and one deleted after it, between pages.
    await lockbox.secrets.set('aaa', 'k', 'v');
    await lockbox.secrets.delete('user:1', 'openai');
    const second = await server.app.inject({
      method: 'GET',
      url: '/v1/scopes?limit=2&after=staging',
      headers: bearer(admin),
    });
    expect(second.json()).toEqual({ scopes: [{ scope: 'user:2', secrets: 1 }], next: null });
    // A narrow token's pages skip what it cannot read and still fill up.
    const narrow = await server.token(['secrets:read:user:*', 'secrets:read:prod']);
    expect(await allPages(narrow, 'limit=1')).toEqual([['prod'], ['user:2']]);
  });

  it('pages through 10,000 per-user scopes, and a token that reads few of them still gets its own', async () => {
    const { lockbox } = await setup();
    // Copies of one row under 10,000 scope names, written behind the vault's back in
    // a few statements: the listing reads names and counts, never values.
    const row = await lockbox.vault.store.db
      .selectFrom('lockbox_secrets')
      .selectAll()
      .where('scope', '=', 'prod')
      .where('name', '=', 'db')
      .executeTakeFirstOrThrow();
    const scopes = Array.from({ length: 10_000 }, (_, i) => `tenant:${String(i).padStart(5, '0')}`);
    for (let i = 0; i < scopes.length; i += 500) {
      await lockbox.vault.store.db
        .insertInto('lockbox_secrets')
        .values(scopes.slice(i, i + 500).map((scope) => ({ ...row, scope })))
        .execute();
    }
    const admin = await server.token(['admin']);
    const pages = await allPages(admin, 'prefix=tenant%3A&limit=1000');
    // The tenth page ends a read-ahead round exactly, so one empty page follows it.
    expect(pages.map((page) => page.length)).toEqual([...Array(10).fill(1000), 0]);
    expect(pages.flat()).toEqual(scopes);
    const narrow = await server.token(['secrets:read:tenant:0999*', 'secrets:read:user:1']);
    expect(await allPages(narrow, 'limit=5')).toEqual([
      ['tenant:09990', 'tenant:09991', 'tenant:09992', 'tenant:09993', 'tenant:09994'],
      ['tenant:09995', 'tenant:09996', 'tenant:09997', 'tenant:09998', 'tenant:09999'],
      ['user:1'],
    ]);
  });

  it('refuses a malformed search or cursor with a stable code', async () => {
    await setup();
    const admin = await server.token(['admin']);
    const cases: [string, string][] = [
      ['?prefix=%0Auser', 'SCOPE_INVALID'],
      ['?after=%1B%5B31m', 'SCOPE_INVALID'],
      ['?prefix=%20user', 'SCOPE_INVALID'],
      [`?prefix=${'x'.repeat(257)}`, 'REQUEST_INVALID'],
      ['?limit=0', 'REQUEST_INVALID'],
      ['?limit=1001', 'REQUEST_INVALID'],
      ['?limit=ten', 'REQUEST_INVALID'],
      ['?offset=10', 'REQUEST_INVALID'],
    ];
    for (const [query, code] of cases) {
      const response = await server.app.inject({
        method: 'GET',
        url: `/v1/scopes${query}`,
        headers: bearer(admin),
      });
      expect([query, response.statusCode, response.json().error.code]).toEqual([query, 400, code]);
    }
    // A prefix may end in whitespace: a scope may continue after it.
    const spaced = await server.app.inject({
      method: 'GET',
      url: '/v1/scopes?prefix=user%20',
      headers: bearer(admin),
    });
    expect(spaced.json()).toEqual({ scopes: [], next: null });
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
