/**
 * /v1/audit: paging through entries and verifying the chain over HTTP, including
 * a chain edited directly in the database.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('audit routes', () => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('pages through entries in both directions with a next cursor', async () => {
    server = await startTestServer('sqlite');
    const auditor = await server.token(['audit:read'], 'auditor');
    for (let i = 0; i < 5; i++) await server.lockbox.secrets.set('prod', `s${i}`, 'v');
    const seen: number[] = [];
    let url = '/v1/audit?limit=2';
    for (;;) {
      const page = await server.app.inject({ method: 'GET', url, headers: bearer(auditor) });
      expect(page.statusCode).toBe(200);
      const body = page.json<{ entries: { seq: number }[]; next: { after?: number } | null }>();
      seen.push(...body.entries.map((e) => e.seq));
      if (body.next === null) break;
      url = `/v1/audit?limit=2&after=${body.next.after}`;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    const desc = await server.app.inject({
      method: 'GET',
      url: '/v1/audit?order=desc&limit=2&action=secret.set',
      headers: bearer(auditor),
    });
    const body = desc.json<{ entries: { seq: number; action: string }[]; next: unknown }>();
    expect(body.entries.map((e) => e.seq)).toEqual([6, 5]);
    expect(body.entries.every((e) => e.action === 'secret.set')).toBe(true);
    expect(body.next).toEqual({ before: 5 });
  });

  it.each([
    ['limit=0'],
    ['limit=1001'],
    ['order=sideways'],
    ['after=-1'],
    ['limit=ten'],
    ['colour=red'],
  ])('refuses the query %s with REQUEST_INVALID (400)', async (query) => {
    server = await startTestServer('sqlite');
    const auditor = await server.token(['audit:read']);
    const response = await server.app.inject({
      method: 'GET',
      url: `/v1/audit?${query}`,
      headers: bearer(auditor),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('REQUEST_INVALID');
  });

  it('verifies an intact chain, records the verification, and names the first edited entry', async () => {
    server = await startTestServer('sqlite');
    const auditor = await server.token(['audit:read'], 'auditor');
    for (let i = 0; i < 4; i++) await server.lockbox.secrets.set('prod', `s${i}`, 'v');
    const ok = await server.app.inject({
      method: 'GET',
      url: '/v1/audit/verify',
      headers: bearer(auditor),
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ ok: true, entries: 5 });
    expect(await auditFor(server.lockbox, ok)).toMatchObject([
      { action: 'audit.verify', outcome: 'ok', actorName: 'auditor', details: { ok: true } },
    ]);

    await server.lockbox.vault.store.db
      .updateTable('lockbox_audit')
      .set({ name: 'someone-else' })
      .where('seq', '=', 3)
      .execute();
    const broken = await server.app.inject({
      method: 'GET',
      url: '/v1/audit/verify',
      headers: bearer(auditor),
    });
    expect(broken.statusCode).toBe(200);
    expect(broken.json()).toMatchObject({ ok: false, firstBroken: 3, reason: 'edited' });
  });
});
