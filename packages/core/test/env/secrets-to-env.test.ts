import {
  type AuditEvent,
  type Lockbox,
  openLockbox,
  planSecretsEnv,
  secretsToEnv,
} from '@lockbox/core';
import {
  DIALECTS,
  drivers,
  freshDatabase,
  newKeyring,
  rejection,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('secretsToEnv on %s', (dialect) => {
  let db: TestDatabase;
  let lockbox: Lockbox;
  beforeEach(async () => {
    db = await freshDatabase(dialect);
    lockbox = await openLockbox({ database: db.url, drivers, keyring: newKeyring().keyring });
    await lockbox.secrets.set('app', 'openai-api-key', 'sk-1');
    await lockbox.secrets.set('app', 'db.password', 'pw-app');
    await lockbox.secrets.set('shared', 'dbPassword', 'pw-shared');
    await lockbox.secrets.set('shared', 'region', 'eu');
  });
  afterEach(async () => {
    await lockbox.close();
    await db.drop();
  });

  it('maps a scope to variables', async () => {
    expect(await secretsToEnv(lockbox, { scopes: ['app'] })).toEqual({
      DB_PASSWORD: 'pw-app',
      OPENAI_API_KEY: 'sk-1',
    });
  });

  it('selects names across scopes with only', async () => {
    expect(
      await secretsToEnv(lockbox, {
        scopes: ['app', 'shared'],
        only: ['openai-api-key', 'region'],
      }),
    ).toEqual({ OPENAI_API_KEY: 'sk-1', REGION: 'eu' });
  });

  it('refuses a collision between scopes, naming both sources', async () => {
    const { code, message } = await rejection(secretsToEnv(lockbox, { scopes: ['app', 'shared'] }));
    expect(code).toBe('ENV_COLLISION');
    expect(message).toContain('app/db.password and shared/dbPassword both map to DB_PASSWORD');
  });

  it('refuses to replace an existing variable unless override', async () => {
    const existingEnv = { REGION: 'us' };
    const { code, message } = await rejection(
      secretsToEnv(lockbox, { scopes: ['shared'], only: ['region'], existingEnv }),
    );
    expect(code).toBe('ENV_COLLISION');
    expect(message).toContain('shared/region maps to REGION');
    expect(
      await secretsToEnv(lockbox, {
        scopes: ['shared'],
        only: ['region'],
        existingEnv,
        override: true,
      }),
    ).toEqual({ REGION: 'eu' });
  });

  it('refuses empty scopes and missing names before decrypting anything', async () => {
    expect((await rejection(planSecretsEnv(lockbox, { scopes: ['nope'] }))).code).toBe(
      'SECRET_NOT_FOUND',
    );
    expect(
      (await rejection(planSecretsEnv(lockbox, { scopes: ['app'], only: ['missing'] }))).code,
    ).toBe('SECRET_NOT_FOUND');
    expect((await rejection(planSecretsEnv(lockbox, { scopes: [] }))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('refuses a value with a NUL byte, which no variable can hold', async () => {
    await lockbox.secrets.set('nul', 'k', 'a\0b');
    const { code, message } = await rejection(secretsToEnv(lockbox, { scopes: ['nul'] }));
    expect(code).toBe('INVALID_ARGUMENT');
    expect(message).not.toContain('a\0b');
  });

  it('records one env.inject event per scope with names and never values', async () => {
    const events: AuditEvent[] = [];
    const source = {
      secrets: lockbox.secrets,
      audit: { record: async (e: AuditEvent) => void events.push(e) },
    };
    await secretsToEnv(source, {
      scopes: ['app', 'shared'],
      only: ['openai-api-key', 'region'],
      actor: { id: 'test' },
    });
    expect(events).toEqual([
      expect.objectContaining({
        action: 'env.inject',
        scope: 'app',
        outcome: 'ok',
        actor: { id: 'test' },
        details: { names: ['openai-api-key'], variables: ['OPENAI_API_KEY'], count: 1 },
      }),
      expect.objectContaining({
        scope: 'shared',
        details: expect.objectContaining({ names: ['region'] }),
      }),
    ]);
    expect(JSON.stringify(events)).not.toMatch(/sk-1|"eu"/);
  });

  it('writes the injection to the Lockbox audit log', async () => {
    await secretsToEnv(lockbox, { scopes: ['app'] });
    const entries = await lockbox.audit.list({ action: 'env.inject' });
    expect(entries).toHaveLength(1);
    expect(entries[0]?.details).toMatchObject({ names: ['db.password', 'openai-api-key'] });
  });
});
