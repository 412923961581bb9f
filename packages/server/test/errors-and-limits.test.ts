/**
 * The error contract: one table from codes to statuses, `{ error: { code,
 * message } }` bodies, framework errors mapped to REQUEST_INVALID /
 * REQUEST_TOO_LARGE, unknown errors as a generic INTERNAL — never a stack trace
 * or a request body echoed back. And the request-body limits.
 */
import { ERROR_CODES, type ErrorCode } from '@lockbox/core';
import { describeError, ERROR_STATUS } from '@lockbox/server';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('error table', () => {
  it('gives every catalogue code a 4xx or 5xx status, and the auth codes their HTTP meaning', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(ERROR_STATUS[code], code).toBeGreaterThanOrEqual(400);
      expect(ERROR_STATUS[code], code).toBeLessThan(600);
    }
    expect(Object.keys(ERROR_STATUS).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    expect(ERROR_STATUS).toMatchObject({
      AUTH_MISSING: 401,
      AUTH_INVALID: 401,
      PERMISSION_DENIED: 403,
      RATE_LIMITED: 429,
      REQUEST_INVALID: 400,
      REQUEST_TOO_LARGE: 413,
      NOT_FOUND: 404,
      NOT_READY: 503,
      SECRET_NOT_FOUND: 404,
      VERSION_CONFLICT: 409,
      INTERNAL: 500,
    });
  });

  it('turns an unknown error into INTERNAL with a generic message', () => {
    const described = describeError(new TypeError('secret sk-live-123 at /home/app/x.js:1'));
    expect(described).toEqual({
      status: 500,
      body: {
        error: {
          code: 'INTERNAL',
          message: 'internal error; the server log has the details (search for the request id)',
        },
      },
      unexpected: true,
    });
  });
});

describe('errors and limits through the app', () => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('answers an unknown route with NOT_FOUND (404) in the error format', async () => {
    server = await startTestServer('sqlite');
    const response = await server.app.inject({ method: 'GET', url: '/v1/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
  });

  it('refuses malformed JSON with REQUEST_INVALID (400) without echoing the body', async () => {
    server = await startTestServer('sqlite');
    const writer = await server.token(['secrets:write:*']);
    const response = await server.app.inject({
      method: 'PUT',
      url: '/v1/secrets/prod/db',
      headers: { ...bearer(writer), 'content-type': 'application/json' },
      payload: '{"value": "canary-in-broken-json',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('REQUEST_INVALID');
    expect(response.body).not.toContain('canary');
    expect(server.logs.text).not.toContain('canary');
  });

  it('names the field, not the value, in a validation error', async () => {
    server = await startTestServer('sqlite');
    const writer = await server.token(['secrets:write:*']);
    const response = await server.app.inject({
      method: 'PUT',
      url: '/v1/secrets/prod/db',
      headers: bearer(writer),
      payload: { value: { nested: 'canary-in-wrong-type' } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toEqual({
      code: 'REQUEST_INVALID',
      message: 'body/value Expected string',
    });
    expect(server.logs.text).not.toContain('canary');
  });

  it('answers an unexpected failure with a generic INTERNAL (500), logged with its request id', async () => {
    server = await startTestServer('sqlite');
    const reader = await server.token(['secrets:read:*']);
    // Pull the database out from under the running server: a genuinely unexpected error.
    await server.lockbox.vault.store.db.destroy();
    const response = await server.app.inject({
      method: 'GET',
      url: '/v1/secrets/prod/db',
      headers: bearer(reader),
    });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      error: {
        code: 'INTERNAL',
        message: 'internal error; the server log has the details (search for the request id)',
      },
    });
    expect(response.body).not.toMatch(/at .*\.(ts|js):\d+/);
    const requestId = response.headers['x-request-id'];
    const logged = server.logs.records().find((r) => r.msg === 'request failed');
    expect(logged).toMatchObject({ reqId: requestId, level: 50 });
  });

  it('refuses a JSON body over the limit with REQUEST_TOO_LARGE (413)', async () => {
    server = await startTestServer('sqlite', { bodyLimit: 2048 });
    const writer = await server.token(['secrets:write:*']);
    const response = await server.app.inject({
      method: 'PUT',
      url: '/v1/secrets/prod/db',
      headers: bearer(writer),
      payload: { value: 'x'.repeat(4096) },
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('REQUEST_TOO_LARGE');
    expect(await server.lockbox.secrets.has('prod', 'db')).toBe(false);
  });

  it('has a 1 MiB body limit by default', async () => {
    server = await startTestServer('sqlite');
    const writer = await server.token(['secrets:write:*']);
    const response = await server.app.inject({
      method: 'PUT',
      url: '/v1/secrets/prod/db',
      headers: bearer(writer),
      payload: { value: 'x'.repeat(1024 * 1024) },
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('refuses a body type a route does not take', async () => {
    server = await startTestServer('sqlite');
    const writer = await server.token(['secrets:write:*']);
    const response = await server.app.inject({
      method: 'PUT',
      url: '/v1/secrets/prod/db',
      headers: { ...bearer(writer), 'content-type': 'application/octet-stream' },
      payload: Buffer.from('raw'),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('REQUEST_INVALID');
  });
});
