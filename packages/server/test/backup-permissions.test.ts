/**
 * What backup:import grants: a token holding it cannot use a preview as an
 * oracle (does this secret exist? is my guess of its value right?) without
 * secrets:read on the scope, nor apply without secrets:write; refusals report
 * nothing, write nothing and are audited; successful previews are audited.
 */
import { generateAgeIdentity } from '@lockbox/core';
import { Encrypter } from 'age-encryption';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { auditFor, bearer, startTestServer, type TestServer } from './helpers/test-server.js';

const GUESS = 'canary-guess-7c1e';

describe('backup import permissions', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  /** A target holding prod/db = GUESS, and an attacker's bundle that guesses it. */
  async function setting() {
    const target = await startTestServer('sqlite');
    const maker = await startTestServer('sqlite');
    servers.push(target, maker);
    await target.lockbox.secrets.set('prod', 'db', GUESS);
    await maker.lockbox.secrets.set('prod', 'db', GUESS);
    const pair = await generateAgeIdentity();
    const { stream, done } = maker.lockbox.backup.exportStream({
      encryption: { recipients: [pair.recipient] },
    });
    const bundle = Buffer.from(await new Response(stream).arrayBuffer());
    await done;
    const send = (
      url: string,
      token: string,
      other: { bundle: Buffer; pair: { identity: string } } = { bundle, pair },
    ) =>
      target.app.inject({
        method: 'POST',
        url,
        headers: {
          ...bearer(token),
          'content-type': 'application/octet-stream',
          'x-lockbox-identity': other.pair.identity,
        },
        payload: other.bundle,
      });
    return { target, send };
  }

  it('refuses the oracle preview without secrets:read on the scope, reporting nothing', async () => {
    const { target, send } = await setting();
    const importer = await target.token(['backup:import', 'secrets:read:staging'], 'importer');
    const response = await send('/v1/backup/import/preview', importer);
    expect(response.statusCode).toBe(403);
    const body = response.json();
    expect(body.error.code).toBe('PERMISSION_DENIED');
    expect(body.error.message).toMatch(/lacks secrets:read on scope "prod"/);
    expect(body.totals).toBeUndefined();
    expect(response.body).not.toMatch(/unchanged|overwrite|"create/);
    expect(response.body).not.toContain(GUESS);
    expect(await auditFor(target.lockbox, response)).toMatchObject([
      {
        action: 'backup.import.preview',
        outcome: 'denied',
        scope: 'prod',
        details: { code: 'PERMISSION_DENIED', permission: 'secrets:read' },
      },
    ]);
  });

  it("refuses a field value's oracle preview without secrets:read on the target's field scope", async () => {
    const { target, send } = await setting();
    // The target's row holds GUESS: a preview answering "unchanged" would confirm the guess.
    const lockbox = target.lockbox;
    await sql`create table user_keys (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`.execute(
      lockbox.vault.store.db,
    );
    await lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: ['user_id', 'provider'],
    });
    const sealed = await lockbox.fields.encrypt(
      'user_keys',
      'api_key',
      { user_id: 1, provider: 'aws' },
      GUESS,
    );
    await sql`insert into user_keys values (1, 'aws', ${sealed})`.execute(lockbox.vault.store.db);
    const pair = await generateAgeIdentity();
    const header = { format: 'lockbox-bundle', version: 2 };
    const guess = {
      kind: 'field.v1',
      table: 'user_keys',
      column: 'api_key',
      key: { user_id: '1', provider: 'aws' },
      value: GUESS,
    };
    const encrypter = new Encrypter();
    encrypter.addRecipient(pair.recipient);
    const bundle = Buffer.from(
      await encrypter.encrypt(`${JSON.stringify(header)}\n${JSON.stringify(guess)}\n`),
    );
    const importer = await target.token(['backup:import', 'secrets:read:prod'], 'importer');
    const response = await send('/v1/backup/import/preview', importer, { bundle, pair });
    expect(response.statusCode).toBe(403);
    expect(response.json().error.message).toMatch(
      /lacks secrets:read on scope "field:user_keys\.api_key"/,
    );
    expect(response.body).not.toMatch(/unchanged|"update/);
    expect(response.body).not.toContain(GUESS);
    const allowed = await target.token(
      ['backup:import', 'secrets:read:field:user_keys.api_key'],
      'field-reader',
    );
    const answered = await send('/v1/backup/import/preview', allowed, { bundle, pair });
    expect(answered.statusCode).toBe(200);
    expect(answered.json().fieldTotals).toMatchObject({ unchanged: 1, update: 0 });
  });

  it('answers and audits a preview with secrets:read on the scope', async () => {
    const { target, send } = await setting();
    const reader = await target.token(['backup:import', 'secrets:read:prod'], 'reader');
    const response = await send('/v1/backup/import/preview', reader);
    expect(response.statusCode).toBe(200);
    expect(response.json().totals).toEqual({ create: 0, overwrite: 0, unchanged: 1, conflict: 0 });
    const entries = await auditFor(target.lockbox, response);
    expect(entries).toMatchObject([
      {
        action: 'backup.import.preview',
        outcome: 'ok',
        details: { records: 1, unchanged: 1, policy: 'fail' },
      },
    ]);
    expect(JSON.stringify(entries)).not.toContain(GUESS);
  });

  it('refuses apply without secrets:write (or without secrets:read), writing nothing', async () => {
    const { target, send } = await setting();
    await target.lockbox.secrets.delete('prod', 'db');
    const readOnly = await target.token(['backup:import', 'secrets:read:prod'], 'read-only');
    const writeOnly = await target.token(['backup:import', 'secrets:write:prod'], 'write-only');
    for (const [token, missing] of [
      [readOnly, 'secrets:write'],
      [writeOnly, 'secrets:read'],
    ] as const) {
      const response = await send('/v1/backup/import/apply', token);
      expect(response.statusCode).toBe(403);
      expect(response.json().error.code).toBe('PERMISSION_DENIED');
      expect(response.json().error.message).toContain(`lacks ${missing} on scope "prod"`);
      expect(await auditFor(target.lockbox, response)).toMatchObject([
        { action: 'backup.import', outcome: 'denied', scope: 'prod' },
      ]);
    }
    expect(await target.lockbox.secrets.has('prod', 'db')).toBe(false);
    const both = await target.token(
      ['backup:import', 'secrets:read:prod', 'secrets:write:prod'],
      'both',
    );
    const applied = await send('/v1/backup/import/apply', both);
    expect(applied.statusCode).toBe(200);
    expect(await target.lockbox.secrets.get('prod', 'db')).toBe(GUESS);
  });
});
