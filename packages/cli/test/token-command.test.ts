import type { Lockbox } from '@lockbox/core';
import { DIALECTS } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliStore, initialisedStore, openDirect } from './helpers/cli.js';

describe.each(DIALECTS)('lockbox token on %s', (dialect) => {
  let store: CliStore;
  const handles: Lockbox[] = [];
  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.close();
    await store?.drop();
  });

  /** The same store, opened in-process (to tamper with it the way an attacker would). */
  async function direct(): Promise<Lockbox> {
    const lockbox = await openDirect(store);
    handles.push(lockbox);
    return lockbox;
  }

  it('creates a token printed once, lists it without the token, and revokes it', async () => {
    store = await initialisedStore(dialect);
    const created = await store.run([
      'token',
      'create',
      '--name',
      'first-admin',
      '--permission',
      'admin',
      '--permission',
      'secrets:read:user:*',
    ]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(created.stdout).toMatch(/^lbx_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n$/);
    expect(created.stderr).toContain('shown once');
    const id = token.slice(4, 16);

    // The printed token is the real thing: the library accepts it.
    const lockbox = await direct();
    expect(await lockbox.tokens.verify(token)).toMatchObject({
      id,
      name: 'first-admin',
      permissions: ['admin', 'secrets:read:user:*'],
    });

    const list = await store.run(['token', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('admin,secrets:read:user:*');
    const json = await store.run(['token', 'list', '--json']);
    expect(JSON.parse(json.stdout).tokens[0]).toMatchObject({ id, revokedAt: null });

    const revoked = await store.run(['token', 'revoke', id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`revoked token ${id} (first-admin)\n`);
    await expect(lockbox.tokens.verify(token)).rejects.toMatchObject({ code: 'AUTH_INVALID' });

    const audit = await store.run(['audit', 'tail', '--json']);
    const { entries } = JSON.parse(audit.stdout) as {
      entries: { action: string; actorId: string; details: { tokenId?: string } }[];
    };
    expect(entries.map((e) => [e.action, e.details.tokenId])).toEqual([
      ['token.create', id],
      ['token.revoke', id],
    ]);
    expect(entries.every((e) => e.actorId.startsWith('cli:'))).toBe(true);
    const secret = token.slice(17);
    for (const out of [list.stdout, json.stdout, revoked.stdout, audit.stdout]) {
      expect(out).not.toContain(secret);
    }
  });

  it('exits with usage and not-found codes for bad input', async () => {
    store = await initialisedStore(dialect);
    const unknown = await store.run(['token', 'create', '--name', 'x', '--permission', 'root']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('INVALID_ARGUMENT');
    expect((await store.run(['token', 'create', '--name', 'x'])).code).toBe(2);
    const missing = await store.run(['token', 'revoke', '0123456789ab']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('TOKEN_NOT_FOUND');
    expect((await store.run(['token', 'list'])).stdout).toBe('no tokens\n');
  });
});
