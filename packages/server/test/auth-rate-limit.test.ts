/**
 * The failed-authentication limit: per client IP, fixed window, 429 with
 * Retry-After, valid tokens refused too while blocked, other clients unaffected.
 */

import { AuthFailureLimiter } from '@lockbox/server';
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('failed-authentication rate limit', () => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('blocks a client after 10 failures a minute with RATE_LIMITED (429) and Retry-After', async () => {
    server = await startTestServer('sqlite');
    const good = await server.token(['secrets:read:*']);
    const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
      server.app.inject({ method: 'GET', url: '/v1/secrets/prod', remoteAddress, headers });
    for (let i = 0; i < 10; i++) {
      const failure = await from('10.0.0.1', i % 2 === 0 ? {} : bearer('lbx_wrong'));
      expect(failure.statusCode).toBe(401);
    }
    const blocked = await from('10.0.0.1', bearer(good));
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Blocked requests are not audited: a flood cannot grow the audit log without bound.
    expect(await auditFor(server.lockbox, blocked)).toEqual([]);
    expect(await server.lockbox.audit.list({ action: 'secret.list', limit: 100 })).toHaveLength(10);

    const other = await from('10.0.0.2', bearer(good));
    expect(other.statusCode).toBe(200);
    // Public routes are never limited.
    const health = await server.app.inject({
      method: 'GET',
      url: '/healthz',
      remoteAddress: '10.0.0.1',
    });
    expect(health.statusCode).toBe(200);
  });

  it('lets the client in again once the window has passed', async () => {
    server = await startTestServer('sqlite', { authRateLimit: { max: 2, windowMs: 300 } });
    const good = await server.token(['secrets:read:*']);
    const request = (headers: Record<string, string>) =>
      server.app.inject({ method: 'GET', url: '/v1/secrets/prod', headers });
    await request({});
    await request({});
    expect((await request(bearer(good))).statusCode).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await request(bearer(good))).statusCode).toBe(200);
  });

  it('does not count successful authentications or permission refusals', async () => {
    server = await startTestServer('sqlite', { authRateLimit: { max: 2, windowMs: 60_000 } });
    const reader = await server.token(['audit:read']);
    for (let i = 0; i < 5; i++) {
      const refused = await server.app.inject({
        method: 'GET',
        url: '/v1/secrets/prod',
        headers: bearer(reader),
      });
      expect(refused.statusCode).toBe(403);
    }
    const ok = await server.app.inject({
      method: 'GET',
      url: '/v1/audit',
      headers: bearer(reader),
    });
    expect(ok.statusCode).toBe(200);
  });
});

describe('AuthFailureLimiter', () => {
  it('counts per client in fixed windows and keeps at most maxClients windows', () => {
    let now = 1_000_000;
    const limiter = new AuthFailureLimiter({ max: 2, windowMs: 10_000, maxClients: 2 }, () => now);
    limiter.fail('a');
    expect(limiter.retryAfter('a')).toBe(0);
    limiter.fail('a');
    expect(limiter.retryAfter('a')).toBe(10);
    now += 4_500;
    expect(limiter.retryAfter('a')).toBe(6);
    limiter.fail('b');
    limiter.fail('c');
    // 'a' was the oldest window and made room for 'c'.
    expect(limiter.retryAfter('a')).toBe(0);
    now += 10_000;
    expect(limiter.retryAfter('b')).toBe(0);
  });
});
