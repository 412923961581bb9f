/**
 * /v1/fields/{table}/{column}/encrypt and /decrypt through the real app: the
 * round trip and its audit entries, each permission boundary, a batch of good
 * and bad items answered one by one, refusals of the whole request, and a
 * canary scan over responses, logs and the audit table.
 */

import { DIALECTS } from '@lockbox/test-helpers';
import type { InjectOptions } from 'fastify';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_FIELD_BATCH } from '../src/routes/fields.js';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

const CANARY = 'canary-field-5b1e-do-not-leak';

describe.each(DIALECTS)('field routes on %s', (dialect) => {
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  async function setup() {
    server = await startTestServer(dialect);
    const db = server.lockbox.vault.store.db;
    // Registration checks the row key against the application's table.
    await sql`create table user_keys (id text not null primary key, api_key text, secret text)`.execute(
      db,
    );
    await sql`create table connectors (user_id integer not null, provider text not null, token text, primary key (user_id, provider))`.execute(
      db,
    );
    await server.lockbox.fields.register({
      table: 'connectors',
      column: 'token',
      primaryKey: ['user_id', 'provider'],
    });
    await server.lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: 'id',
    });
    await server.lockbox.fields.register({
      table: 'user_keys',
      column: 'secret',
      primaryKey: 'id',
    });
    const encrypter = await server.token(['fields:encrypt:user_keys.api_key'], 'writer');
    const decrypter = await server.token(['fields:decrypt:user_keys.api_key'], 'reader');
    return { app: server.app, encrypter, decrypter };
  }

  const post = (path: string, token: string, payload: InjectOptions['payload']) =>
    server.app.inject({
      method: 'POST',
      url: `/v1/fields/${path}`,
      headers: bearer(token),
      payload,
    });

  it('encrypts a batch that core decrypts, decrypts it back, and audits each batch once', async () => {
    const { encrypter, decrypter } = await setup();
    const encrypted = await post('user_keys/api_key/encrypt', encrypter, {
      items: [
        { key: { id: 7 }, plaintext: 'sk-seven' },
        { key: { id: 'u-8' }, plaintext: 'sk-eight' },
      ],
    });
    expect(encrypted.statusCode).toBe(200);
    const [seven, eight] = encrypted.json().results as { ciphertext: string }[];
    expect(seven?.ciphertext).toMatch(/^lb1:/);
    expect(await server.lockbox.fields.decrypt('user_keys', 'api_key', 7, seven!.ciphertext)).toBe(
      'sk-seven',
    );
    const reader = (await server.lockbox.tokens.list()).find((t) => t.name === 'reader')!;
    const writer = (await server.lockbox.tokens.list()).find((t) => t.name === 'writer')!;
    expect(await auditFor(server.lockbox, encrypted)).toMatchObject([
      {
        action: 'field.encrypt',
        name: 'user_keys.api_key',
        outcome: 'ok',
        actorId: writer.id,
        details: { items: 2, ok: 2, failed: 0, keys: [{ id: 7 }, { id: 'u-8' }] },
      },
    ]);

    const decrypted = await post('user_keys/api_key/decrypt', decrypter, {
      items: [
        { key: { id: 7 }, ciphertext: seven!.ciphertext },
        { key: { id: 'u-8' }, ciphertext: eight!.ciphertext },
      ],
    });
    expect(decrypted.statusCode).toBe(200);
    expect(decrypted.json()).toEqual({
      results: [{ plaintext: 'sk-seven' }, { plaintext: 'sk-eight' }],
    });
    expect(await auditFor(server.lockbox, decrypted)).toMatchObject([
      { action: 'field.decrypt', outcome: 'ok', actorId: reader.id, details: { items: 2 } },
    ]);
  });

  it('keeps each permission to its own operation and field, and audits the refusals', async () => {
    const { encrypter, decrypter } = await setup();
    await server.lockbox.secrets.set('prod', 'db', 'pw');
    const ciphertext = await server.lockbox.fields.encrypt('user_keys', 'api_key', 1, 'v');
    const refusals = [
      await post('user_keys/api_key/encrypt', decrypter, {
        items: [{ key: { id: 1 }, plaintext: 'x' }],
      }),
      await post('user_keys/secret/decrypt', decrypter, {
        items: [{ key: { id: 1 }, ciphertext }],
      }),
      await post('other/api_key/decrypt', decrypter, { items: [{ key: { id: 1 }, ciphertext }] }),
      await post('user_keys/api_key/decrypt', encrypter, {
        items: [{ key: { id: 1 }, ciphertext }],
      }),
      await server.app.inject({
        method: 'GET',
        url: '/v1/secrets/prod/db',
        headers: bearer(decrypter),
      }),
      await server.app.inject({
        method: 'GET',
        url: '/v1/secrets/prod',
        headers: bearer(decrypter),
      }),
      await post('user_keys/api_key/decrypt', await server.token(['secrets:read:*']), {
        items: [{ key: { id: 1 }, ciphertext }],
      }),
      await post('lockbox_secrets/value/decrypt', await server.token(['fields:decrypt:*']), {
        items: [{ key: { id: 1 }, ciphertext }],
      }),
    ];
    for (const response of refusals) {
      expect(response.statusCode, response.body).toBe(403);
      expect(response.json().error.code).toBe('PERMISSION_DENIED');
      expect(response.body).not.toContain('"plaintext"');
    }
    expect(await auditFor(server.lockbox, refusals[0]!)).toMatchObject([
      {
        action: 'field.encrypt',
        outcome: 'denied',
        details: { code: 'PERMISSION_DENIED', field: 'user_keys.api_key' },
      },
    ]);
    const anyField = await server.token(['fields:decrypt:user_keys.*']);
    const allowed = await post('user_keys/api_key/decrypt', anyField, {
      items: [{ key: { id: 1 }, ciphertext }],
    });
    expect(allowed.json()).toEqual({ results: [{ plaintext: 'v' }] });
  });

  it('answers a mixed batch item by item: good items succeed, each bad one has its code', async () => {
    const { decrypter } = await setup();
    const good = await server.lockbox.fields.encrypt('user_keys', 'api_key', 1, 'one');
    const other = await server.lockbox.fields.encrypt('user_keys', 'secret', 1, 'other column');
    const response = await post('user_keys/api_key/decrypt', decrypter, {
      items: [
        { key: { id: 1 }, ciphertext: good },
        { key: { id: 2 }, ciphertext: good }, // copied into another row
        { key: { user_id: 1 }, ciphertext: good }, // not the field's row key
        { key: { id: 1, extra: 2 }, ciphertext: good },
        { key: { id: 1 }, ciphertext: 'lb1:AAAA' }, // truncated
        { key: { id: 1 }, ciphertext: 'gAAAAAB-not-lockbox' },
        { key: { id: 1 }, ciphertext: other }, // from another column
        { key: { id: 1 }, ciphertext: good },
      ],
    });
    expect(response.statusCode).toBe(200);
    const results = response.json().results as { plaintext?: string; error?: { code: string } }[];
    expect(results.map((r) => r.plaintext ?? r.error?.code)).toEqual([
      'one',
      'SECRET_UNDECRYPTABLE',
      'FIELD_ROW_KEY_INVALID',
      'FIELD_ROW_KEY_INVALID',
      'SECRET_UNDECRYPTABLE',
      'CIPHERTEXT_UNKNOWN_FORMAT',
      'SECRET_UNDECRYPTABLE',
      'one',
    ]);
    expect(response.body).not.toContain('other column');
    expect(await auditFor(server.lockbox, response)).toMatchObject([
      {
        action: 'field.decrypt',
        outcome: 'error',
        details: {
          items: 8,
          ok: 2,
          failed: 6,
          errors: {
            SECRET_UNDECRYPTABLE: 3,
            FIELD_ROW_KEY_INVALID: 2,
            CIPHERTEXT_UNKNOWN_FORMAT: 1,
          },
        },
      },
    ]);
  });

  it('binds a composite row key: a value copied to a row differing in one column is refused', async () => {
    await setup();
    const token = await server.token([
      'fields:encrypt:connectors.*',
      'fields:decrypt:connectors.*',
    ]);
    const key = { user_id: 7, provider: 'github' };
    const encrypted = await post('connectors/token/encrypt', token, {
      items: [
        { key, plaintext: 'gho_seven' },
        { key: { user_id: 7 }, plaintext: 'missing a column' },
      ],
    });
    const [good, bad] = encrypted.json().results as {
      ciphertext?: string;
      error?: { code: string };
    }[];
    expect(bad?.error?.code).toBe('FIELD_ROW_KEY_INVALID');
    expect(
      await server.lockbox.fields.decrypt(
        'connectors',
        'token',
        { provider: 'github', user_id: 7 },
        good!.ciphertext!,
      ),
    ).toBe('gho_seven');
    const decrypted = await post('connectors/token/decrypt', token, {
      items: [
        { key: { provider: 'github', user_id: 7 }, ciphertext: good!.ciphertext },
        { key: { user_id: 7, provider: 'gitlab' }, ciphertext: good!.ciphertext },
        { key: { user_id: 8, provider: 'github' }, ciphertext: good!.ciphertext },
      ],
    });
    expect(
      (decrypted.json().results as { plaintext?: string; error?: { code: string } }[]).map(
        (r) => r.plaintext ?? r.error?.code,
      ),
    ).toEqual(['gho_seven', 'SECRET_UNDECRYPTABLE', 'SECRET_UNDECRYPTABLE']);
    expect(await auditFor(server.lockbox, decrypted)).toMatchObject([
      {
        action: 'field.decrypt',
        details: {
          keys: [
            { provider: 'github', user_id: 7 },
            { user_id: 7, provider: 'gitlab' },
            { user_id: 8, provider: 'github' },
          ],
        },
      },
    ]);
  });

  it('refuses an oversized, empty or malformed batch and an unregistered field whole', async () => {
    const { encrypter } = await setup();
    const item = { key: { id: 1 }, plaintext: 'x' };
    const anyField = await server.token(['fields:encrypt:*']);
    const before = (await server.lockbox.audit.list({ limit: 1000 })).length;
    const cases: [object, string, number, string][] = [
      [
        { items: Array.from({ length: MAX_FIELD_BATCH + 1 }, () => item) },
        'user_keys/api_key',
        400,
        'REQUEST_INVALID',
      ],
      [{ items: [] }, 'user_keys/api_key', 400, 'REQUEST_INVALID'],
      [{ items: [{ key: {}, plaintext: 'x' }] }, 'user_keys/api_key', 400, 'REQUEST_INVALID'],
      [
        { items: [{ key: { id: 1.5 }, plaintext: 'x' }] },
        'user_keys/api_key',
        400,
        'REQUEST_INVALID',
      ],
      [
        { items: [{ key: { id: 2 ** 53 }, plaintext: 'x' }] },
        'user_keys/api_key',
        400,
        'REQUEST_INVALID',
      ],
      [{ items: [{ ...item, extra: true }] }, 'user_keys/api_key', 400, 'REQUEST_INVALID'],
      [{ items: [item] }, 'user_keys/nope', 403, 'PERMISSION_DENIED'],
    ];
    for (const [payload, path, status, code] of cases) {
      const response = await post(`${path}/encrypt`, encrypter, payload);
      expect(response.statusCode, response.body).toBe(status);
      expect(response.json().error.code).toBe(code);
    }
    const unregistered = await post('nope/col/encrypt', anyField, {
      items: [item],
    });
    expect(unregistered.statusCode).toBe(404);
    expect(unregistered.json().error.code).toBe('FIELD_NOT_REGISTERED');
    const big = await post('user_keys/api_key/encrypt', encrypter, {
      items: [{ key: { id: 1 }, plaintext: 'x'.repeat(64 * 1024 + 1) }, item],
    });
    expect(big.statusCode).toBe(200);
    expect((big.json().results as { error?: { code: string } }[])[0]?.error?.code).toBe(
      'VALUE_TOO_LARGE',
    );
    // Recorded: the denied request and the completed batch; not the refused bodies or the unregistered field.
    const after = await server.lockbox.audit.list({ limit: 1000 });
    expect(after.length - before).toBe(2);
  });

  it('never lets a plaintext out except in the decrypt answer: responses, logs, audit table', async () => {
    const { encrypter, decrypter } = await setup();
    const bodies: string[] = [];
    const encrypted = await post('user_keys/api_key/encrypt', encrypter, {
      items: [
        { key: { id: 1 }, plaintext: CANARY },
        { key: { nope: 1 }, plaintext: CANARY },
      ],
    });
    bodies.push(encrypted.body);
    const ciphertext = (encrypted.json().results as { ciphertext: string }[])[0]!.ciphertext;
    bodies.push(
      (
        await post('user_keys/api_key/decrypt', decrypter, {
          items: [{ key: { id: 2 }, ciphertext }],
        })
      ).body,
      (
        await post('user_keys/api_key/encrypt', decrypter, {
          items: [{ key: { id: 1 }, plaintext: CANARY }],
        })
      ).body,
      (
        await post('user_keys/api_key/encrypt', encrypter, {
          items: [{ key: { id: 1 }, plaintext: CANARY, x: 1 }],
        })
      ).body,
    );
    const decrypted = await post('user_keys/api_key/decrypt', decrypter, {
      items: [{ key: { id: 1 }, ciphertext }],
    });
    expect(decrypted.json()).toEqual({ results: [{ plaintext: CANARY }] });
    const auditRows = JSON.stringify(
      await server.lockbox.vault.store.db.selectFrom('lockbox_audit').selectAll().execute(),
    );
    for (const token of [encrypter, decrypter, CANARY, ciphertext]) {
      for (const body of bodies.slice(1)) expect(body).not.toContain(token);
      expect(server.logs.text).not.toContain(token);
      expect(auditRows).not.toContain(token);
    }
    expect(bodies[0]).not.toContain(CANARY);
  });
});
