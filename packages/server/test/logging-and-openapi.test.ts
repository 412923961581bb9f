/**
 * Logs: every line written while serving a request carries its request id,
 * credential headers are redacted, bodies are never logged. The OpenAPI
 * document: public, and describes every route with its schemas. The console:
 * served from its directory when that exists.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@lockbox/server';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, LogCapture, startTestServer, type TestServer } from './helpers/test-server.js';

describe('logs', () => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('puts the request id on every line of a request, and keeps a client-sent plain id', async () => {
    server = await startTestServer('sqlite');
    const writer = await server.token(['secrets:write:*']);
    const ok = await server.app.inject({
      method: 'PUT',
      url: '/v1/secrets/prod/db',
      headers: { ...bearer(writer), 'x-request-id': 'trace-abc.123' },
      payload: { value: 'v' },
    });
    expect(ok.headers['x-request-id']).toBe('trace-abc.123');
    const refused = await server.app.inject({
      method: 'GET',
      url: '/v1/secrets/prod/db',
      headers: { 'x-request-id': 'bad id\nwith newline' },
    });
    expect(refused.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const lines = server.logs.records().filter((r) => r.req !== undefined || r.res !== undefined);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of server.logs.records()) {
      if (line.msg === 'Server listening at' || line.msg === undefined) continue;
      expect(line.reqId, JSON.stringify(line)).toBeDefined();
    }
    expect(server.logs.records().filter((r) => r.reqId === 'trace-abc.123')).toHaveLength(2);
    expect(
      server.logs.records().find((r) => r.msg === 'request refused' && r.code === 'AUTH_MISSING'),
    ).toMatchObject({ reqId: refused.headers['x-request-id'] });
  });

  it('redacts credential headers should anything log them', () => {
    const capture = new LogCapture();
    const logger = createLogger({ destination: capture });
    logger.info(
      {
        req: { method: 'GET', url: '/v1/x?token=1', headers: { authorization: 'Bearer lbx_x' } },
        headers: {
          authorization: 'Bearer lbx_y',
          'x-lockbox-identity': 'AGE-SECRET-KEY-1XYZ',
          'x-lockbox-passphrase': 'hunter2',
        },
      },
      'probe',
    );
    expect(capture.text).not.toContain('lbx_');
    expect(capture.text).not.toContain('AGE-SECRET-KEY');
    expect(capture.text).not.toContain('hunter2');
    expect(capture.text).not.toContain('token=1');
    expect(capture.records()[0]).toMatchObject({ req: { method: 'GET', url: '/v1/x' } });
  });
});

describe('OpenAPI document', () => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('is public and gives every /v1 operation its schemas and error responses', async () => {
    server = await startTestServer('sqlite');
    const response = await server.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json<{
      openapi: string;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, Record<string, unknown>>>;
    }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes).toEqual({ bearer: { type: 'http', scheme: 'bearer' } });
    expect(doc.components.schemas).toHaveProperty('ErrorBody');
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    );
    expect(operations.length).toBe(28);
    for (const { path, method, op } of operations) {
      const label = `${method.toUpperCase()} ${path}`;
      const responses = op.responses as Record<string, unknown>;
      expect(
        Object.keys(responses).some((s) => /^2\d\d$/.test(s)),
        label,
      ).toBe(true);
      if (path.startsWith('/v1/') && path !== '/v1/openapi.json') {
        expect(responses, label).toHaveProperty('401');
        expect(responses, label).toHaveProperty('500');
      }
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = ((op.parameters ?? []) as { in: string; name: string }[])
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      expect(declared.sort(), label).toEqual(pathParams.sort());
      if (method === 'put' || method === 'post') {
        expect(op.requestBody, label).toBeDefined();
      }
    }
  });
});

describe('web console', () => {
  let server: TestServer;
  let dir: string | undefined;

  afterEach(async () => {
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('serves the built console at / when its directory exists', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lockbox-console-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Lockbox</title>');
    server = await startTestServer('sqlite', { consoleDir: dir });
    const page = await server.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<title>Lockbox</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect((await server.app.inject({ method: 'GET', url: '/v1/openapi.json' })).statusCode).toBe(
      200,
    );
  });

  it('serves nothing at / when the directory does not exist', async () => {
    server = await startTestServer('sqlite', { consoleDir: join(tmpdir(), 'no-such-console-dir') });
    const page = await server.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(404);
    expect(page.json().error.code).toBe('NOT_FOUND');
  });
});
