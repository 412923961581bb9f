/**
 * /v1/recovery (read and set the recovery recipient) and POST
 * /v1/rotation/abandon, on SQLite and PostgreSQL: what each changes, what it
 * audits, and that every refusal has a stable code and changes nothing.
 */
import { generateAgeIdentity } from '@lockbox/core';
import { DIALECTS } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe.each(DIALECTS)('recovery and abandon routes on %s', (dialect) => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  async function setup() {
    server = await startTestServer(dialect);
    await server.lockbox.secrets.set('prod', 'db', 'pw-1');
    await server.lockbox.secrets.set('user:7', 'api', 'sk-7');
    await server.lockbox.secrets.set('user:8', 'api', 'sk-8');
    const rotator = await server.token(['keys:rotate'], 'rotator');
    return { app: server.app, lockbox: server.lockbox, rotator };
  }

  const recovery = (token: string) =>
    server.app.inject({ method: 'GET', url: '/v1/recovery', headers: bearer(token) });
  const setRecovery = (token: string, payload: Record<string, unknown>) =>
    server.app.inject({ method: 'PUT', url: '/v1/recovery', headers: bearer(token), payload });

  it('sets the recovery recipient, wraps every data key to it, and audits recovery.set', async () => {
    const { lockbox, rotator } = await setup();
    expect((await recovery(rotator)).json()).toEqual({
      state: 'absent',
      recipient: null,
      dataKeys: expect.any(Number),
      missing: expect.any(Number),
    });
    const { recipient, identity } = await generateAgeIdentity();
    const response = await setRecovery(rotator, { recipient });
    expect(response.statusCode).toBe(200);
    const change = response.json();
    expect(change).toMatchObject({ recipient, previous: null });
    expect(change.rewrapped).toBe(change.dataKeys);
    expect(response.body).not.toContain(identity);
    expect((await recovery(rotator)).json()).toEqual({
      state: 'set',
      recipient,
      dataKeys: change.dataKeys,
      missing: 0,
    });
    expect(await auditFor(lockbox, response)).toMatchObject([
      { action: 'recovery.set', outcome: 'ok', actorName: 'rotator' },
    ]);
    // The same recipient again fills gaps only: nothing to rewrap.
    expect((await setRecovery(rotator, { recipient })).json()).toMatchObject({ rewrapped: 0 });
  });

  it('refuses a different recipient unless replace is asked, and a malformed one', async () => {
    const { lockbox, rotator } = await setup();
    const first = await generateAgeIdentity();
    const second = await generateAgeIdentity();
    const replaceMissing = await setRecovery(rotator, {
      recipient: first.recipient,
      replace: true,
    });
    expect([replaceMissing.statusCode, replaceMissing.json().error.code]).toEqual([
      409,
      'RECOVERY_NOT_CONFIGURED',
    ]);
    await setRecovery(rotator, { recipient: first.recipient });
    const before = await lockbox.audit.list({ action: 'recovery.set', limit: 100 });
    for (const [payload, status, code] of [
      [{ recipient: second.recipient }, 400, 'INVALID_ARGUMENT'],
      [{ recipient: 'age1notarecipient' }, 400, 'RECIPIENT_INVALID'],
      [{ recipient: second.identity }, 400, 'RECIPIENT_INVALID'],
      [{ recipient: first.recipient, extra: 1 }, 400, 'REQUEST_INVALID'],
      [{ recipient: '' }, 400, 'REQUEST_INVALID'],
    ] as const) {
      const refused = await setRecovery(rotator, payload);
      expect([refused.statusCode, refused.json().error.code]).toEqual([status, code]);
      expect(refused.body).not.toContain(second.identity);
    }
    expect((await recovery(rotator)).json()).toMatchObject({ recipient: first.recipient });
    expect(await lockbox.audit.list({ action: 'recovery.set', limit: 100 })).toEqual(before);
    // An identity sent by mistake is in no log line and no audit entry.
    expect(server.logs.text).not.toContain(second.identity);
    expect(JSON.stringify(await lockbox.audit.list({ limit: 1000 }))).not.toContain(
      second.identity,
    );
    const replaced = await setRecovery(rotator, { recipient: second.recipient, replace: true });
    expect(replaced.json()).toMatchObject({
      recipient: second.recipient,
      previous: first.recipient,
    });
  });

  it('lets only keys:rotate set the recipient (admin may read it)', async () => {
    const { lockbox } = await setup();
    const admin = await server.token(['admin']);
    const { recipient } = await generateAgeIdentity();
    expect((await recovery(admin)).statusCode).toBe(200);
    const refused = await setRecovery(admin, { recipient });
    expect([refused.statusCode, refused.json().error.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(await auditFor(lockbox, refused)).toMatchObject([
      { action: 'recovery.set', outcome: 'denied' },
    ]);
    expect(await lockbox.recovery.recipient()).toBeUndefined();
  });

  it('abandons an interrupted data re-key, audited; then nothing is left to abandon', async () => {
    const { app, lockbox, rotator } = await setup();
    const abandon = () =>
      app.inject({
        method: 'POST',
        url: '/v1/rotation/abandon',
        headers: bearer(rotator),
        payload: {},
      });
    const nothing = await abandon();
    expect([nothing.statusCode, nothing.json().error.code]).toEqual([404, 'ROTATION_NOT_FOUND']);
    await expect(
      lockbox.rotation.rekeyData({
        mode: 'online',
        batchSize: 1,
        onProgress: (event) => {
          if (event.done > 0) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const unfinished = (await lockbox.rotation.status()).unfinished;
    expect(unfinished).toMatchObject({ kind: 'data', state: 'running' });
    const response = await abandon();
    expect(response.statusCode).toBe(200);
    expect(response.json().job).toMatchObject({
      id: unfinished?.id,
      kind: 'data',
      state: 'failed',
    });
    expect(response.json().job).not.toHaveProperty('checkpoint');
    expect(await auditFor(lockbox, response)).toMatchObject([
      {
        action: 'key.rotate.abandon',
        outcome: 'ok',
        actorName: 'rotator',
        details: { jobId: unfinished?.id, kind: 'data' },
      },
    ]);
    expect((await lockbox.rotation.status()).unfinished).toBeNull();
    // Abandoning is safe: every secret still reads.
    for (const [scope, value] of [
      ['prod', 'pw-1'],
      ['user:7', 'sk-7'],
      ['user:8', 'sk-8'],
    ] as const) {
      expect(await lockbox.secrets.get(scope, scope === 'prod' ? 'db' : 'api')).toBe(value);
    }
    const again = await abandon();
    expect([again.statusCode, again.json().error.code]).toEqual([404, 'ROTATION_NOT_FOUND']);
  });
});
