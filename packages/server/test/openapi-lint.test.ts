/**
 * The OpenAPI document as a client generator reads it: it passes Redocly's linter
 * (@redocly/openapi-core, `recommended` rules) with no error and no warning, and it
 * has what generated clients need — an operationId everywhere, a server, public
 * health routes, per-route error codes as enums, declared response headers,
 * described responses, shared schemas in components, and each route's permission.
 */
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';

type Json = Record<string, unknown>;
interface Operation {
  operationId?: string;
  description?: string;
  security?: unknown[];
  responses: Record<string, Json>;
}

describe('the OpenAPI document', () => {
  let server: TestServer;
  let text: string;
  let doc: {
    servers?: unknown[];
    components: Json;
    paths: Record<string, Record<string, Operation>>;
  };
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        label: `${method.toUpperCase()} ${path}`,
        op,
      })),
    );

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    const response = await server.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    text = response.body;
    doc = response.json();
  });

  afterAll(async () => {
    await server?.close();
  });

  it('has no errors, and no warnings but one that does not apply, under Redocly recommended rules', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: text, absoluteRef: '/openapi.json', config });
    const described = problems.map(
      (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? ''}: ${p.message}`,
    );
    // The public probes and this document have no client error to declare (no
    // input, no token): "must have a 4XX response" does not apply to them.
    const inapplicable =
      /^warn operation-4xx-response at #\/paths\/~1(healthz|readyz|v1~1openapi\.json)\/get\/responses:/;
    expect(described.filter((line) => !inapplicable.test(line))).toEqual([]);
  });

  it('names every operation, declares its permission, and keeps the public routes public', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.servers?.length).toBeGreaterThan(0);
    for (const { label, op } of operations()) {
      expect(op.description, label).toMatch(/\*\*Permission:\*\* /);
    }
    for (const path of ['/healthz', '/readyz', '/v1/openapi.json']) {
      expect(doc.paths[path]?.get?.security, path).toEqual([]);
    }
    expect(doc.paths['/v1/secrets/{scope}/{name}']?.get?.description).toContain(
      '`secrets:read` on the scope',
    );
    expect(doc.paths['/v1/fields/{table}/{column}/decrypt']?.post?.description).toContain(
      '`fields:decrypt` on `table.column`',
    );
  });

  it('declares error codes per route and status as enums, headers, and real descriptions', () => {
    for (const { label, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${label} ${status}`).not.toBe('Default Response');
        expect(response.headers, `${label} ${status}`).toHaveProperty('X-Request-Id');
      }
    }
    const read = doc.paths['/v1/secrets/{scope}/{name}']?.get?.responses ?? {};
    const codes = (status: string) =>
      (
        ((read[status]!.content as Json)['application/json'] as Json).schema as {
          allOf: [Json, { properties: { error: { properties: { code: { enum: string[] } } } } }];
        }
      ).allOf[1].properties.error.properties.code.enum;
    expect(read['404'] && codes('404')).toEqual(['SECRET_NOT_FOUND']);
    expect(codes('401')).toEqual(['AUTH_INVALID', 'AUTH_MISSING']);
    expect(codes('403')).toEqual(['PERMISSION_DENIED']);
    expect(read['429']?.headers).toHaveProperty('Retry-After');
    expect(read).not.toHaveProperty('4XX');
    const exported = doc.paths['/v1/backup/export']?.post;
    expect(exported?.responses['200']?.headers).toHaveProperty('Content-Disposition');
    // The body's scopes are literal; the document must not tell clients to URL-encode them.
    expect(JSON.stringify(exported)).not.toContain('%3A');
    expect(Object.keys(doc.components.schemas as Json)).toEqual(
      expect.arrayContaining([
        'ErrorBody',
        'SecretValue',
        'FieldDecryptRequest',
        'RowKey',
        'EnvResult',
        'TokenCreated',
        'MasterRotationRequest',
        'KeyStatus',
      ]),
    );
  });
});
