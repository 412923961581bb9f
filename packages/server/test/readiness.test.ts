/**
 * /healthz and /readyz: the process answers at once; the API is ready only once
 * the lockbox has opened, which includes the startup key check.
 */
import { generateMasterKey, Keyring, type Lockbox, openLockbox } from '@lockbox/core';
import { buildServer, type LockboxServer } from '@lockbox/server';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe('health and readiness', () => {
  let database: TestDatabase | undefined;
  let app: LockboxServer | undefined;
  const opened: Lockbox[] = [];

  afterEach(async () => {
    await app?.close();
    for (const lockbox of opened.splice(0)) await lockbox.close();
    await database?.drop();
    app = undefined;
    database = undefined;
  });

  it('is live at once, and ready only after the lockbox has opened', async () => {
    database = await freshDatabase('sqlite');
    let release: (lockbox: Lockbox) => void = () => undefined;
    const pending = new Promise<Lockbox>((resolve) => {
      release = resolve;
    });
    app = buildServer({ lockbox: pending, logger: false });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const early = await app.inject({ method: 'GET', url: '/readyz' });
    expect(early.statusCode).toBe(503);
    expect(early.json()).toEqual({
      error: { code: 'NOT_READY', message: 'the lockbox is still opening' },
    });
    const api = await app.inject({ method: 'GET', url: '/v1/secrets/prod' });
    expect(api.statusCode).toBe(503);
    expect(api.json().error.code).toBe('NOT_READY');

    const lockbox = await openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(generateMasterKey()),
      audit: true,
    });
    opened.push(lockbox);
    release(lockbox);
    await app.lockboxReadiness.settled;
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    expect((await app.inject({ method: 'GET', url: '/v1/secrets/prod' })).statusCode).toBe(401);
  });

  it('stays not ready, naming the error code, when the startup key check refuses the key', async () => {
    database = await freshDatabase('sqlite');
    const first = await openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(generateMasterKey()),
    });
    await first.secrets.set('prod', 'db', 'pw');
    await first.close();
    const wrongKey = openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(generateMasterKey()),
    });
    app = buildServer({ lockbox: wrongKey, logger: false });
    await app.lockboxReadiness.settled;
    expect(app.lockboxReadiness.state).toBe('failed');
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      error: { code: 'NOT_READY', message: 'the lockbox failed to open (KEY_WRONG)' },
    });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const api = await app.inject({ method: 'GET', url: '/v1/keys' });
    expect(api.statusCode).toBe(503);
    expect(api.json().error.code).toBe('NOT_READY');
  });
  it('stays not ready for a Lockbox opened without the audit log (reads would go unrecorded)', async () => {
    database = await freshDatabase('sqlite');
    const unaudited = await openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(generateMasterKey()),
    });
    opened.push(unaudited);
    app = buildServer({ lockbox: unaudited, logger: false });
    await app.lockboxReadiness.settled;
    expect(app.lockboxReadiness.state).toBe('failed');
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      error: { code: 'NOT_READY', message: 'the lockbox failed to open (INVALID_ARGUMENT)' },
    });
  });
});
