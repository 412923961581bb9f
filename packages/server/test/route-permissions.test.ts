/**
 * Every authenticated route, table-driven: without a token it is AUTH_MISSING
 * (401), with a token that lacks its permission it is PERMISSION_DENIED (403),
 * and both refusals are audited as 'denied' under the route's action — with the
 * token's id and name for the 403. Nothing the route would change is changed.
 * The routes any valid token may call (whoami, the scope list) have only the 401.
 */
import { formatMasterKey, generateMasterKey } from '@lockbox/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

interface RouteCase {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  action: string;
  /** A token that is authenticated but lacks the permission (empty for ANY_TOKEN routes). */
  lacking: string[];
  payload?: unknown;
  headers?: Record<string, string>;
}

const OCTET = { 'content-type': 'application/octet-stream', 'x-lockbox-passphrase': 'p' };
const KEY = formatMasterKey(generateMasterKey());

const FIELD_ITEM = { key: { id: 1 }, plaintext: 'x' };

const ROUTES: RouteCase[] = [
  {
    method: 'POST',
    url: '/v1/fields/user_keys/api_key/encrypt',
    action: 'field.encrypt',
    lacking: ['fields:decrypt:*', 'fields:encrypt:user_keys.other', 'secrets:write:*'],
    payload: { items: [FIELD_ITEM] },
  },
  {
    method: 'POST',
    url: '/v1/fields/user_keys/api_key/decrypt',
    action: 'field.decrypt',
    lacking: ['fields:encrypt:*', 'secrets:read:*'],
    payload: { items: [{ key: { id: 1 }, ciphertext: 'lb1:x' }] },
  },
  {
    method: 'POST',
    url: '/v1/env',
    action: 'env.inject',
    lacking: ['secrets:read:dev', 'secrets:write:*', 'fields:decrypt:*'],
    payload: { scopes: ['prod'] },
  },
  { method: 'GET', url: '/v1/secrets/prod', action: 'secret.list', lacking: ['audit:read'] },
  {
    method: 'GET',
    url: '/v1/secrets/prod/db',
    action: 'secret.read',
    lacking: ['secrets:write:*'],
  },
  {
    method: 'PUT',
    url: '/v1/secrets/prod/db',
    action: 'secret.set',
    lacking: ['secrets:read:*'],
    payload: { value: 'x' },
  },
  {
    method: 'DELETE',
    url: '/v1/secrets/prod/db',
    action: 'secret.delete',
    lacking: ['secrets:read:*'],
  },
  {
    method: 'GET',
    url: '/v1/keys',
    action: 'keys.status',
    lacking: ['secrets:read:*', 'audit:read'],
  },
  {
    method: 'POST',
    url: '/v1/rotation/master',
    action: 'key.rotate.master',
    lacking: ['admin'],
    payload: { oldKey: KEY, newKey: KEY },
  },
  {
    method: 'POST',
    url: '/v1/rotation/data',
    action: 'key.rotate.data',
    lacking: ['admin'],
    payload: {},
  },
  {
    method: 'POST',
    url: '/v1/rotation/resume',
    action: 'key.rotate.resume',
    lacking: ['admin'],
    payload: {},
  },
  {
    method: 'POST',
    url: '/v1/rotation/abandon',
    action: 'key.rotate.abandon',
    lacking: ['admin'],
    payload: {},
  },
  { method: 'GET', url: '/v1/rotation', action: 'rotation.status', lacking: ['secrets:read:*'] },
  {
    method: 'GET',
    url: '/v1/recovery',
    action: 'recovery.status',
    lacking: ['secrets:read:*', 'backup:export'],
  },
  {
    method: 'PUT',
    url: '/v1/recovery',
    action: 'recovery.set',
    lacking: ['admin', 'backup:export'],
    payload: { recipient: 'age1x' },
  },
  {
    method: 'POST',
    url: '/v1/backup/export',
    action: 'backup.export',
    lacking: ['backup:import', 'secrets:read:*'],
    payload: { passphrase: 'p' },
  },
  {
    method: 'POST',
    url: '/v1/backup/import/preview',
    action: 'backup.import.preview',
    lacking: ['backup:export', 'secrets:write:*'],
    payload: Buffer.from('age'),
    headers: OCTET,
  },
  {
    method: 'POST',
    url: '/v1/backup/import/apply',
    action: 'backup.import',
    lacking: ['backup:export', 'secrets:write:*'],
    payload: Buffer.from('age'),
    headers: OCTET,
  },
  { method: 'GET', url: '/v1/audit', action: 'audit.list', lacking: ['keys:rotate'] },
  {
    method: 'GET',
    url: '/v1/audit/verify',
    action: 'audit.verify',
    lacking: ['keys:rotate', 'backup:export'],
  },
  {
    method: 'POST',
    url: '/v1/tokens',
    action: 'token.create',
    lacking: ['keys:rotate', 'secrets:read:*'],
    payload: { name: 'n', permissions: ['audit:read'] },
  },
  {
    method: 'GET',
    url: '/v1/tokens',
    action: 'token.list',
    lacking: ['keys:rotate', 'audit:read'],
  },
  {
    method: 'DELETE',
    url: '/v1/tokens/000000000000',
    action: 'token.revoke',
    lacking: ['keys:rotate'],
  },
];

/** Routes any valid token may call: they answer only with what the token itself may see. */
const ANY_TOKEN: RouteCase[] = [
  { method: 'GET', url: '/v1/scopes', action: 'scope.list', lacking: [] },
  { method: 'GET', url: '/v1/whoami', action: 'token.whoami', lacking: [] },
];

describe('permissions on every /v1 route', () => {
  let server: TestServer;

  beforeAll(async () => {
    // Every route's refusal is audited one by one here: the per-window bound on
    // unauthenticated entries (auth-flood.test.ts) is raised above the route count.
    server = await startTestServer('sqlite', {
      authRateLimit: false,
      authFailureAudit: { perWindow: 1000 },
    });
    await server.lockbox.secrets.set('prod', 'db', 'pw');
  });

  afterAll(async () => {
    await server?.close();
  });

  it('covers every route in the OpenAPI document', async () => {
    const doc = (await server.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const documented = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/') && path !== '/v1/openapi.json')
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const tested = [...ROUTES, ...ANY_TOKEN]
      .map(
        (r) =>
          `${r.method} ${r.url
            .replace(/^\/v1\/secrets\/prod\/db$/, '/v1/secrets/{scope}/{name}')
            .replace(/^\/v1\/secrets\/prod$/, '/v1/secrets/{scope}')
            .replace(/^\/v1\/tokens\/0+$/, '/v1/tokens/{id}')
            .replace(/^\/v1\/fields\/user_keys\/api_key\//, '/v1/fields/{table}/{column}/')}`,
      )
      .sort();
    expect(tested).toEqual(documented);
  });

  it.each([...ROUTES, ...ANY_TOKEN])(
    '$method $url without a token is AUTH_MISSING (401), audited',
    async (route) => {
      const response = await server.app.inject({
        method: route.method,
        url: route.url,
        headers: route.headers ?? {},
        ...(route.payload === undefined ? {} : { payload: route.payload as string }),
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('AUTH_MISSING');
      expect(await auditFor(server.lockbox, response)).toMatchObject([
        {
          action: route.action,
          outcome: 'denied',
          actorId: null,
          details: { code: 'AUTH_MISSING' },
        },
      ]);
    },
  );

  it.each(ROUTES)(
    '$method $url without its permission is PERMISSION_DENIED (403), audited',
    async (route) => {
      const token = await server.token(route.lacking, `lacking-${route.action}`);
      const id = (await server.lockbox.tokens.list()).find(
        (t) => t.name === `lacking-${route.action}`,
      )!.id;
      const auditBefore = (await server.lockbox.audit.list({ order: 'desc', limit: 1 }))[0]!.seq;
      const response = await server.app.inject({
        method: route.method,
        url: route.url,
        headers: { ...route.headers, ...bearer(token) },
        ...(route.payload === undefined ? {} : { payload: route.payload as string }),
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().error.code).toBe('PERMISSION_DENIED');
      expect(await auditFor(server.lockbox, response)).toMatchObject([
        {
          action: route.action,
          outcome: 'denied',
          actorId: id,
          actorName: `lacking-${route.action}`,
          details: { code: 'PERMISSION_DENIED' },
        },
      ]);
      // The refusal is the only entry the request wrote: nothing ran.
      const after = await server.lockbox.audit.list({ after: auditBefore });
      expect(after.map((e) => [e.action, e.outcome])).toEqual([[route.action, 'denied']]);
      expect(await server.lockbox.secrets.get('prod', 'db')).toBe('pw');
    },
  );
});
