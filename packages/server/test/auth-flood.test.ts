/**
 * A flood of failed authentication from many source addresses: each address
 * stays under its own limit, yet the audit log grows by a bounded number of
 * entries (the first failures of the window one by one, then one summary), and
 * the global limit trips — failures are answered RATE_LIMITED with Retry-After
 * while valid tokens still pass.
 */

import { DIALECTS } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, startTestServer, type TestServer } from './helpers/test-server.js';

const ADDRESSES = 120;

describe.each(DIALECTS)('a failed-auth flood from many addresses (%s)', (dialect) => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('adds a bounded number of audit entries and trips the global limit', async () => {
    server = await startTestServer(dialect, {
      authRateLimit: { max: 10, windowMs: 60_000, globalMax: 50 },
      authFailureAudit: { perWindow: 5 },
    });
    const good = await server.token(['secrets:read:*']);
    const before = (await server.lockbox.audit.list({ limit: 1000 })).length;
    const statuses = new Map<number, number>();
    let retryAfter: string | undefined;
    for (let i = 0; i < ADDRESSES; i++) {
      const response = await server.app.inject({
        method: 'GET',
        url: '/v1/secrets/prod',
        remoteAddress: `10.1.${Math.floor(i / 250)}.${i % 250}`,
        headers: i % 2 === 0 ? {} : bearer(`lbx_guess${i}`),
      });
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      if (response.statusCode === 429) {
        expect(response.json().error.code).toBe('RATE_LIMITED');
        retryAfter = response.headers['retry-after'] as string | undefined;
      }
    }
    // The first 50 failures are 401; past the global limit every failure is 429.
    expect(Object.fromEntries(statuses)).toEqual({ 401: 50, 429: ADDRESSES - 50 });
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    // A valid token from a fresh address still passes: the flood locks nobody out.
    const valid = await server.app.inject({
      method: 'GET',
      url: '/v1/secrets/prod',
      remoteAddress: '10.9.9.9',
      headers: bearer(good),
    });
    expect(valid.statusCode).toBe(200);

    await server.app.close(); // writes the window's summary
    const entries = (await server.lockbox.audit.list({ limit: 1000 })).slice(before);
    const denied = entries.filter((e) => e.outcome === 'denied');
    expect(denied).toHaveLength(6);
    expect(denied.filter((e) => e.action === 'secret.list')).toHaveLength(5);
    const summary = denied.find((e) => e.action === 'auth.failed');
    expect(summary?.details).toMatchObject({
      listed: 5,
      unlisted: ADDRESSES - 5,
      byCode: { AUTH_MISSING: ADDRESSES / 2 - 3, AUTH_INVALID: ADDRESSES / 2 - 2 },
    });
    // No guessed token text reaches the log.
    expect(JSON.stringify(entries)).not.toContain('lbx_guess');
    expect(await server.lockbox.audit.verify()).toMatchObject({ ok: true });
  });
});
