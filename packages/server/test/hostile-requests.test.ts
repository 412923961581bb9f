/**
 * Requests that used to be altered silently or escape Lockbox's error shape:
 * bodies that are not UTF-8 or hold lone surrogates (TEXT_INVALID, nothing
 * stored), nesting deep enough to overflow a recursive walk (REQUEST_INVALID /
 * METADATA_INVALID, never a 500), and the router's and HTTP parser's own
 * refusals (bad percent-encoding, an over-long parameter, oversized headers).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('hostile requests', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    token = await server.token(['secrets:read', 'secrets:write']);
  });
  afterAll(async () => {
    await server.close();
  });

  const put = (payload: string | Buffer) =>
    server.app.inject({
      method: 'PUT',
      url: '/v1/secrets/prod/db',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      payload,
    });

  function expectRefusal(
    response: { statusCode: number; json: () => unknown },
    status: number,
    code: string,
  ) {
    expect(response.statusCode).toBe(status);
    expect(response.json()).toEqual({ error: { code, message: expect.any(String) } });
  }

  it.each([
    [
      'bytes that are not UTF-8',
      Buffer.concat([Buffer.from('{"value":"pass'), Buffer.from([0xff]), Buffer.from('"}')]),
      'TEXT_INVALID',
    ],
    ['a lone surrogate escape in the value', '{"value":"pass\\ud800word"}', 'TEXT_INVALID'],
    ['a lone surrogate in metadata', '{"value":"v","metadata":{"k":"\\udc00"}}', 'TEXT_INVALID'],
    [
      'metadata 17 levels deep',
      `{"value":"v","metadata":${'{"a":'.repeat(17)}1${'}'.repeat(17)}}`,
      'METADATA_INVALID',
    ],
    [
      'a body nested 100,000 levels deep',
      `{"value":"v","metadata":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`,
      'REQUEST_INVALID',
    ],
  ])('refuses %s with 400 and stores nothing', async (_what, payload, code) => {
    expectRefusal(await put(payload), 400, code);
    expect(await server.lockbox.secrets.has('prod', 'db')).toBe(false);
  });

  it('stores a well-formed non-ASCII value exactly', async () => {
    const response = await put('{"value":"cl\\u00e9-\\ud83d\\udd11"}');
    expect(response.statusCode).toBe(200);
    expect(await server.lockbox.secrets.get('prod', 'db')).toBe('clé-\u{1f511}');
    await server.lockbox.secrets.delete('prod', 'db');
  });

  it.each([
    ['a URL that is not valid percent-encoding', '/v1/secrets/%E0%A4%A/x'],
    ['a path parameter over the limit', `/v1/secrets/${'a'.repeat(2000)}/x`],
  ])('answers %s in the error shape (REQUEST_INVALID)', async (_what, url) => {
    const response = await server.app.inject({ method: 'GET', url, headers: bearer(token) });
    expectRefusal(response, 400, 'REQUEST_INVALID');
    expect(response.body).not.toContain('aaaa');
  });

  it('answers oversized headers with 431 REQUEST_HEADERS_TOO_LARGE in the error shape', async () => {
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const address = server.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(address.port, '127.0.0.1', () => {
        socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      });
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    const [head, body] = raw.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(body ?? '')).toEqual({
      error: { code: 'REQUEST_HEADERS_TOO_LARGE', message: expect.any(String) },
    });
  });
});
