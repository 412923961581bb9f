/**
 * POST /v1/env through the real app: the variables of several scopes in one
 * request, the permission checked on every scope before anything is read, the
 * refusals of a local `lockbox run` (collisions, unknown names), one env.inject
 * entry per scope with the token as actor, and no value in logs or audit.
 */
import type { InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

const CANARY = 'canary-env-9d41-do-not-leak';

describe('POST /v1/env', () => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  async function setup() {
    server = await startTestServer('sqlite');
    await server.lockbox.secrets.set('prod', 'api-key', CANARY);
    await server.lockbox.secrets.set('prod', 'region', 'eu');
    await server.lockbox.secrets.set('user:1', 'apiKey', 'other');
    await server.lockbox.secrets.set('dev', 'region', 'us');
    return server.token(['secrets:read:prod', 'secrets:read:user:*'], 'host');
  }

  const post = (token: string, payload: InjectOptions['payload']) =>
    server.app.inject({ method: 'POST', url: '/v1/env', headers: bearer(token), payload });

  it('answers the variables of every scope and audits one env.inject per scope', async () => {
    const token = await setup();
    const response = await post(token, {
      scopes: ['prod'],
      only: ['api-key'],
      client: { command: 'run', program: 'node', masked: true },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      variables: [{ variable: 'API_KEY', scope: 'prod', name: 'api-key', value: CANARY }],
    });
    const host = (await server.lockbox.tokens.list()).find((t) => t.name === 'host')!;
    expect(await auditFor(server.lockbox, response)).toMatchObject([
      { action: 'secret.read', scope: 'prod', name: 'api-key', actorId: host.id },
      {
        action: 'env.inject',
        scope: 'prod',
        outcome: 'ok',
        actorId: host.id,
        details: { names: ['api-key'], variables: ['API_KEY'], command: 'run', via: 'server' },
      },
    ]);
    const auditRows = JSON.stringify(
      await server.lockbox.vault.store.db.selectFrom('lockbox_audit').selectAll().execute(),
    );
    expect(auditRows).not.toContain(CANARY);
    expect(server.logs.text).not.toContain(CANARY);
    expect(server.logs.text).not.toContain(token);
  });

  it('refuses a scope outside the token before reading any scope', async () => {
    const token = await setup();
    const before = (await server.lockbox.audit.list({ order: 'desc', limit: 1 }))[0]!.seq;
    const response = await post(token, { scopes: ['prod', 'dev'] });
    expect(response.statusCode).toBe(403);
    expect(response.json().error).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(response.json().error.message).toContain('"dev"');
    expect(response.body).not.toContain(CANARY);
    const written = await server.lockbox.audit.list({ after: before });
    expect(written.map((e) => [e.action, e.scope, e.outcome])).toEqual([
      ['env.inject', 'dev', 'denied'],
    ]);
    expect((await post(token, { scopes: ['lockbox:audit'] })).statusCode).toBe(403);
  });

  it('refuses what a local run refuses: collisions, unknown names and empty scopes', async () => {
    const token = await setup();
    const cases: [object, number, string][] = [
      [{ scopes: ['prod', 'user:1'] }, 409, 'ENV_COLLISION'],
      [{ scopes: ['prod'], only: ['nope'] }, 404, 'SECRET_NOT_FOUND'],
      [{ scopes: ['user:2'] }, 404, 'SECRET_NOT_FOUND'],
      [{ scopes: [] }, 400, 'REQUEST_INVALID'],
      [{ scopes: ['prod'], client: { command: 'rm -rf' } }, 400, 'REQUEST_INVALID'],
    ];
    for (const [payload, status, code] of cases) {
      const response = await post(token, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(status);
      expect(response.json().error.code).toBe(code);
      expect(response.body).not.toContain(CANARY);
    }
  });
});
