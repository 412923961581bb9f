/**
 * The verified-token cache's revocation bound (docs/security.md): a token revoked
 * through one server is refused by that server at once, and by another instance
 * on the same store at most `tokenCacheMs` after the revocation committed.
 */
import { Keyring, type Lockbox, openLockbox } from '@lockbox/core';
import { buildServer, type LockboxServer } from '@lockbox/server';
import { DIALECTS, drivers } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe.each(DIALECTS)('verified-token cache on %s', (dialect) => {
  let server: TestServer;
  const others: { app: LockboxServer; lockbox: Lockbox }[] = [];

  afterEach(async () => {
    for (const other of others.splice(0)) {
      await other.app.close();
      await other.lockbox.close();
    }
    await server?.close();
  });

  /** Another instance on the same store, with its own handle and cache. */
  async function instance(tokenCacheMs: number): Promise<LockboxServer> {
    const lockbox = await openLockbox({
      database: server.database.url,
      drivers,
      keyring: Keyring.fromBytes(server.masterKey),
      audit: true,
    });
    const app = buildServer({ lockbox, logger: false, tokenCacheMs });
    await app.ready();
    others.push({ app, lockbox });
    return app;
  }

  const read = (app: LockboxServer, token: string) =>
    app
      .inject({ method: 'GET', url: '/v1/secrets/prod/db', headers: bearer(token) })
      .then((response) => response.statusCode);

  it('refuses a revoked token at once where it was revoked, and elsewhere within the bound', async () => {
    server = await startTestServer(dialect);
    await server.lockbox.secrets.set('prod', 'db', 'hunter2');
    const admin = await server.token(['admin']);
    const reader = await server.token(['secrets:read:prod'], 'reader');
    const readerId = (await server.lockbox.tokens.list()).find((t) => t.name === 'reader')!.id;
    const longCache = await instance(60_000);
    const shortCache = await instance(300);

    // Each server verifies the token once from the database and remembers it.
    for (const app of [server.app, longCache, shortCache])
      expect(await read(app, reader)).toBe(200);

    const revoked = await server.app.inject({
      method: 'DELETE',
      url: `/v1/tokens/${readerId}`,
      headers: bearer(admin),
    });
    expect(revoked.statusCode).toBe(200);
    const committedBy = Date.now();

    // The revoking server: at once, although it had just verified the token.
    expect(await read(server.app, reader)).toBe(401);
    // Another instance accepts it from memory until its bound has passed: the
    // bound, not a database read, is what limits it (60 s here).
    expect(await read(longCache, reader)).toBe(200);
    // With a 300 ms bound: refused once 300 ms have passed since the commit.
    const wait = committedBy + 300 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    expect(await read(shortCache, reader)).toBe(401);
  });

  it('forgets a token revoked through its own handle, whatever the bound', async () => {
    server = await startTestServer(dialect, { tokenCacheMs: 60_000 });
    await server.lockbox.secrets.set('prod', 'db', 'hunter2');
    const reader = await server.token(['secrets:read:prod'], 'reader');
    const readerId = (await server.lockbox.tokens.list())[0]!.id;
    expect(await read(server.app, reader)).toBe(200);
    await server.lockbox.tokens.revoke(readerId);
    expect(await read(server.app, reader)).toBe(401);
  });

  it('never remembers a failure: a token works as soon as it exists', async () => {
    server = await startTestServer(dialect, { tokenCacheMs: 60_000 });
    await server.lockbox.secrets.set('prod', 'db', 'hunter2');
    expect(await read(server.app, `lbx_${'0'.repeat(12)}_${'A'.repeat(43)}`)).toBe(401);
    const reader = await server.token(['secrets:read:prod']);
    expect(await read(server.app, reader)).toBe(200);
    // A wrong secret for a cached token's id is still refused.
    expect(await read(server.app, `${reader.slice(0, -2)}AA`)).toBe(401);
  });
});
