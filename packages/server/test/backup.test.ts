/**
 * /v1/backup: export as a streamed age download, import preview and apply
 * (identity or passphrase in headers), their limits and refusals — and the audit
 * entries they write (with the token as actor and the request id).
 */
import { generateAgeIdentity } from '@lockbox/core';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('backup routes', () => {
  const servers: TestServer[] = [];

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  async function server(options: Parameters<typeof startTestServer>[1] = {}) {
    const started = await startTestServer('sqlite', options);
    servers.push(started);
    const operator = await started.token(
      ['backup:export', 'backup:import', 'secrets:read', 'secrets:write'],
      'operator',
    );
    const operatorId = (await started.lockbox.tokens.list()).find((t) => t.name === 'operator')!.id;
    return { ...started, operator, operatorId };
  }

  /** POST /v1/backup/export from `source` with this body. */
  function exportFrom(source: Awaited<ReturnType<typeof server>>, payload: object) {
    return source.app.inject({
      method: 'POST',
      url: '/v1/backup/export',
      headers: bearer(source.operator),
      payload,
    });
  }

  function importHeaders(token: string, extra: Record<string, string>) {
    return { ...bearer(token), 'content-type': 'application/octet-stream', ...extra };
  }

  it('exports to a recipient as an age download and imports it elsewhere (preview, then apply)', async () => {
    const source = await server();
    await source.lockbox.secrets.set('prod', 'db', 'pw-1');
    await source.lockbox.secrets.set('user:1', 'api', Buffer.from([0, 1, 2]));
    const pair = await generateAgeIdentity();
    const exported = await exportFrom(source, { recipients: [pair.recipient] });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toBe('application/octet-stream');
    expect(exported.headers['content-disposition']).toMatch(
      /^attachment; filename="lockbox-.*\.age"$/,
    );
    expect(exported.headers['transfer-encoding']).toBe('chunked');
    const bundle = exported.rawPayload;
    expect(bundle.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(bundle.includes(Buffer.from('pw-1'))).toBe(false);
    expect(await source.lockbox.audit.list({ action: 'backup.export' })).toMatchObject([
      {
        outcome: 'ok',
        actorId: source.operatorId,
        requestId: exported.headers['x-request-id'],
        details: { records: 2, complete: true },
      },
    ]);
    expect((await source.lockbox.backup.state()).state).toBe('ok');

    const target = await server();
    await target.lockbox.secrets.set('prod', 'other', 'keep');
    const preview = await target.app.inject({
      method: 'POST',
      url: '/v1/backup/import/preview',
      headers: importHeaders(target.operator, { 'x-lockbox-identity': pair.identity }),
      payload: bundle,
    });
    expect(preview.statusCode).toBe(200);
    expect(preview.json()).toMatchObject({
      mode: 'preview',
      policy: 'fail',
      bundle: { records: 2 },
      totals: { create: 2, conflict: 0 },
    });
    expect(await target.lockbox.secrets.has('prod', 'db')).toBe(false);

    const apply = await target.app.inject({
      method: 'POST',
      url: '/v1/backup/import/apply',
      headers: importHeaders(target.operator, { 'x-lockbox-identity': pair.identity }),
      payload: bundle,
    });
    expect(apply.statusCode).toBe(200);
    expect(apply.json()).toMatchObject({ mode: 'apply', writes: { create: 2, overwrite: 0 } });
    expect(await target.lockbox.secrets.get('prod', 'db')).toBe('pw-1');
    expect(await target.lockbox.secrets.getBytes('user:1', 'api')).toEqual(Buffer.from([0, 1, 2]));
    expect(await target.lockbox.secrets.get('prod', 'other')).toBe('keep');
    expect(await target.lockbox.audit.list({ action: 'backup.import' })).toMatchObject([
      {
        outcome: 'ok',
        actorId: target.operatorId,
        requestId: apply.headers['x-request-id'],
        details: { records: 2, create: 2 },
      },
    ]);
  });

  it('carries field values through export and import into another master key', async () => {
    const createTable = sql`create table user_keys (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`;
    const field = { table: 'user_keys', column: 'api_key', primaryKey: ['user_id', 'provider'] };
    const source = await server();
    await createTable.execute(source.lockbox.vault.store.db);
    await source.lockbox.fields.register(field);
    const sealed = await source.lockbox.fields.encrypt(
      'user_keys',
      'api_key',
      { user_id: 1, provider: 'aws' },
      'field-canary-3e1f',
    );
    await sql`insert into user_keys values (1, 'aws', ${sealed}), (2, 'aws', null)`.execute(
      source.lockbox.vault.store.db,
    );
    const pair = await generateAgeIdentity();
    const exported = await exportFrom(source, { recipients: [pair.recipient] });
    expect(exported.statusCode).toBe(200);

    const target = await server();
    await createTable.execute(target.lockbox.vault.store.db);
    await target.lockbox.fields.register(field);
    await sql`insert into user_keys values (1, 'aws', null)`.execute(target.lockbox.vault.store.db);
    const apply = await target.app.inject({
      method: 'POST',
      url: '/v1/backup/import/apply',
      headers: importHeaders(target.operator, { 'x-lockbox-identity': pair.identity }),
      payload: exported.rawPayload,
    });
    expect(apply.statusCode).toBe(200);
    expect(apply.json()).toMatchObject({
      bundle: { version: 2, fields: [{ ...field, values: 1 }] },
      writes: { fieldValues: 1 },
      fields: [{ table: 'user_keys', column: 'api_key', registration: 'registered', update: 1 }],
      fieldTotals: { values: 1, update: 1, missingRow: 0 },
    });
    expect(apply.body).not.toContain('field-canary-3e1f');
    const row = await target.lockbox.fields.readRow('user_keys', 'api_key', {
      user_id: 1,
      provider: 'aws',
    });
    expect(
      await target.lockbox.fields.decrypt(
        'user_keys',
        'api_key',
        { user_id: 1, provider: 'aws' },
        row?.value as string,
      ),
    ).toBe('field-canary-3e1f');
  });

  it('round-trips a bundle to a non-ASCII passphrase sent percent-encoded, limited to scopes', async () => {
    const source = await server();
    await source.lockbox.secrets.set('prod', 'db', 'pw-1');
    await source.lockbox.secrets.set('staging', 'db', 'pw-2');
    const passphrase = 'pässwörd 100% 秘密';
    const exported = await exportFrom(source, { passphrase, scopes: ['staging'] });
    expect(exported.statusCode).toBe(200);
    const target = await server();
    const apply = await target.app.inject({
      method: 'POST',
      url: '/v1/backup/import/apply',
      headers: importHeaders(target.operator, {
        'x-lockbox-passphrase': encodeURIComponent(passphrase),
      }),
      payload: exported.rawPayload,
    });
    expect(apply.statusCode).toBe(200);
    expect(await target.lockbox.secrets.list()).toMatchObject([{ scope: 'staging', name: 'db' }]);
  });

  it.each([
    [
      'both recipients and a passphrase',
      { recipients: ['age1x'], passphrase: 'p' },
      'REQUEST_INVALID',
    ],
    ['neither recipients nor a passphrase', {}, 'REQUEST_INVALID'],
    ['a malformed recipient', { recipients: ['age1notbech32!'] }, 'RECIPIENT_INVALID'],
    ['an empty recipient list', { recipients: [] }, 'REQUEST_INVALID'],
    ['a scope with a control character', { passphrase: 'p', scopes: ['a\u0007'] }, 'SCOPE_INVALID'],
  ])(
    'refuses an export with %s (400) with a JSON error, not a download',
    async (_what, payload, code) => {
      const source = await server();
      const response = await exportFrom(source, payload);
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/json');
      expect(response.json().error.code).toBe(code);
      expect(await source.lockbox.audit.list({ action: 'backup.export' })).toEqual([]);
    },
  );

  it('refuses imports that cannot be opened or read, writing nothing', async () => {
    const source = await server();
    await source.lockbox.secrets.set('prod', 'db', 'pw-1');
    const pair = await generateAgeIdentity();
    const other = await generateAgeIdentity();
    const bundle = (await exportFrom(source, { recipients: [pair.recipient] })).rawPayload;
    const target = await server();
    const attempt = (headers: Record<string, string>, payload: Buffer | string = bundle) =>
      target.app.inject({
        method: 'POST',
        url: '/v1/backup/import/apply',
        headers: importHeaders(target.operator, headers),
        payload,
      });

    const wrong = await attempt({ 'x-lockbox-identity': other.identity });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().error.code).toBe('BUNDLE_DECRYPT_FAILED');
    // A refused import changes nothing, so it writes no audit entry either.
    expect(await auditFor(target.lockbox, wrong)).toEqual([]);
    expect(await target.lockbox.audit.list({ action: 'backup.import' })).toEqual([]);

    const neither = await attempt({});
    expect(neither.statusCode).toBe(400);
    expect(neither.json().error.code).toBe('REQUEST_INVALID');
    const both = await attempt({
      'x-lockbox-identity': pair.identity,
      'x-lockbox-passphrase': 'p',
    });
    expect(both.statusCode).toBe(400);
    const badPercent = await attempt({ 'x-lockbox-passphrase': '%E0%A4%A' });
    expect(badPercent.statusCode).toBe(400);
    const garbage = await attempt({ 'x-lockbox-identity': pair.identity }, 'not an age file');
    expect(garbage.statusCode).toBeGreaterThanOrEqual(400);
    expect(garbage.statusCode).toBeLessThan(500);
    const badPolicy = await target.app.inject({
      method: 'POST',
      url: '/v1/backup/import/apply?policy=merge',
      headers: importHeaders(target.operator, { 'x-lockbox-identity': pair.identity }),
      payload: bundle,
    });
    expect(badPolicy.statusCode).toBe(400);
    expect(badPolicy.json().error.code).toBe('REQUEST_INVALID');
    const json = await target.app.inject({
      method: 'POST',
      url: '/v1/backup/import/apply',
      headers: { ...bearer(target.operator), 'x-lockbox-identity': pair.identity },
      payload: { bundle: 'x' },
    });
    expect(json.statusCode).toBe(400);
    expect(await target.lockbox.secrets.list()).toEqual([]);
  });

  it('refuses a conflicting import under the default fail policy (IMPORT_CONFLICT, 409)', async () => {
    const source = await server();
    await source.lockbox.secrets.set('prod', 'db', 'old');
    const pair = await generateAgeIdentity();
    const bundle = (await exportFrom(source, { recipients: [pair.recipient] })).rawPayload;
    await source.lockbox.secrets.set('prod', 'db', 'newer');
    const response = await source.app.inject({
      method: 'POST',
      url: '/v1/backup/import/apply',
      headers: importHeaders(source.operator, { 'x-lockbox-identity': pair.identity }),
      payload: bundle,
    });
    expect(response.statusCode).toBe(409);
    expect(response.json().error.code).toBe('IMPORT_CONFLICT');
    expect(await source.lockbox.secrets.get('prod', 'db')).toBe('newer');
  });

  it('enforces the import body limit (REQUEST_TOO_LARGE, 413) separately from the JSON limit', async () => {
    const target = await server({ importBodyLimit: 4096, bodyLimit: 2048 });
    const pair = await generateAgeIdentity();
    const big = await target.app.inject({
      method: 'POST',
      url: '/v1/backup/import/preview',
      headers: importHeaders(target.operator, { 'x-lockbox-identity': pair.identity }),
      payload: Buffer.alloc(5000, 1),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('REQUEST_TOO_LARGE');
    // 3000 bytes is over the JSON limit but under the import limit: it reaches the bundle reader.
    const mid = await target.app.inject({
      method: 'POST',
      url: '/v1/backup/import/preview',
      headers: importHeaders(target.operator, { 'x-lockbox-identity': pair.identity }),
      payload: Buffer.alloc(3000, 1),
    });
    expect(mid.statusCode).not.toBe(413);
    expect(mid.json().error.code).not.toBe('REQUEST_TOO_LARGE');
  });
});
