/**
 * The canary scan: a secret written and read through the API appears in exactly
 * one place — the body of the explicit GET. Not in the server's logs, not in any
 * other response (list, keys, audit, errors, export), not in the audit table.
 * The bearer token and a master key sent for rotation are scanned for too.
 */
import { formatMasterKey, generateAgeIdentity, generateMasterKey } from '@lockbox/core';
import { DIALECTS } from '@lockbox/test-helpers';
import type { InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, startTestServer, type TestServer } from './helpers/test-server.js';

const CANARY = 'canary-7f3a9c1e-do-not-leak';

describe.each(DIALECTS)('canary scan on %s', (dialect) => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('finds the secret only in the explicit read, and the token and keys nowhere', async () => {
    server = await startTestServer(dialect);
    const token = await server.token(
      ['admin', 'keys:rotate', 'secrets:read:*', 'secrets:write:*'],
      'canary-test',
    );
    const auth = bearer(token);
    const others: { what: string; body: string; headers: string }[] = [];
    const call = async (what: string, options: InjectOptions) => {
      const response = await server.app.inject(options);
      others.push({
        what,
        body: response.rawPayload.toString('latin1') + response.body,
        headers: JSON.stringify(response.headers),
      });
      return response;
    };

    await call('put', {
      method: 'PUT',
      url: '/v1/secrets/prod/api-key',
      headers: auth,
      payload: { value: CANARY, metadata: { owner: 'billing' } },
    });
    await call('put bytes', {
      method: 'PUT',
      url: '/v1/secrets/prod/blob',
      headers: auth,
      payload: { value: Buffer.from(CANARY).toString('base64'), encoding: 'base64' },
    });
    const read = await server.app.inject({
      method: 'GET',
      url: '/v1/secrets/prod/api-key',
      headers: auth,
    });
    expect(read.statusCode).toBe(200);
    expect(read.json().value).toBe(CANARY);

    await call('list', { method: 'GET', url: '/v1/secrets/prod?verify=true', headers: auth });
    await call('keys', { method: 'GET', url: '/v1/keys', headers: auth });
    await call('conflict', {
      method: 'PUT',
      url: '/v1/secrets/prod/api-key',
      headers: auth,
      payload: { value: CANARY, ifVersion: 7 },
    });
    await call('bad json', {
      method: 'PUT',
      url: '/v1/secrets/prod/x',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: `{"value": "${CANARY}`,
    });
    await call('wrong type', {
      method: 'PUT',
      url: '/v1/secrets/prod/x',
      headers: auth,
      payload: { value: [CANARY] },
    });
    await call('unknown field', {
      method: 'PUT',
      url: '/v1/secrets/prod/x',
      headers: auth,
      payload: { value: 'v', note: CANARY },
    });
    await call('too big', {
      method: 'PUT',
      url: '/v1/secrets/prod/x',
      headers: auth,
      payload: { value: CANARY.repeat(3000) },
    });
    const pair = await generateAgeIdentity();
    const exported = await call('export', {
      method: 'POST',
      url: '/v1/backup/export',
      headers: auth,
      payload: { recipients: [pair.recipient] },
    });
    expect(exported.statusCode).toBe(200);
    await call('import preview', {
      method: 'POST',
      url: '/v1/backup/import/preview',
      headers: {
        ...auth,
        'content-type': 'application/octet-stream',
        'x-lockbox-identity': pair.identity,
      },
      payload: exported.rawPayload,
    });
    const newKey = formatMasterKey(generateMasterKey());
    const oldKey = formatMasterKey(server.masterKey);
    await call('rotate refused', {
      method: 'POST',
      url: '/v1/rotation/master',
      headers: auth,
      payload: { oldKey: newKey, newKey: oldKey },
    });
    await call('rotate', {
      method: 'POST',
      url: '/v1/rotation/master',
      headers: auth,
      payload: { oldKey, newKey },
    });
    await call('rotation status', { method: 'GET', url: '/v1/rotation', headers: auth });
    await call('audit', { method: 'GET', url: '/v1/audit?limit=1000', headers: auth });
    await call('verify', { method: 'GET', url: '/v1/audit/verify', headers: auth });
    await call('tokens', { method: 'GET', url: '/v1/tokens', headers: auth });
    await call('delete', { method: 'DELETE', url: '/v1/secrets/prod/api-key', headers: auth });

    const auditRows = JSON.stringify(
      await server.lockbox.vault.store.db.selectFrom('lockbox_audit').selectAll().execute(),
    );
    const logs = server.logs.text;
    expect(logs.length).toBeGreaterThan(0);
    const secrets = [
      ['the canary', CANARY],
      ['the canary in base64', Buffer.from(CANARY).toString('base64')],
      ['the bearer token', token],
      ['the old master key', oldKey],
      ['the new master key', newKey],
      ['the age identity', pair.identity],
    ] as const;
    for (const [what, needle] of secrets) {
      expect(logs, `${what} in the logs`).not.toContain(needle);
      expect(auditRows, `${what} in the audit table`).not.toContain(needle);
      for (const response of others) {
        expect(response.body, `${what} in the ${response.what} response`).not.toContain(needle);
        expect(response.headers, `${what} in the ${response.what} headers`).not.toContain(needle);
      }
    }
  });
});
