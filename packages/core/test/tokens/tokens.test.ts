import { type Lockbox, parseToken, TOKEN_PREFIX } from '@lockbox/core';
import { DIALECTS } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditTestKit, auditTestKit, db } from '../audit/audit-test-kit.js';

const TOKEN_TEXT = /^lbx_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;
const INVALID = {
  code: 'AUTH_INVALID',
  message: 'the bearer token is unknown, revoked or malformed',
};

describe.each(DIALECTS)('API tokens on %s', (dialect) => {
  let kit: AuditTestKit;
  let lockbox: Lockbox;
  afterEach(async () => kit?.close());

  async function setUp(): Promise<void> {
    kit = await auditTestKit(dialect);
    lockbox = await kit.open({ audit: false });
  }

  it('creates a token shown once, verifies it, lists it without secrets, and revokes it', async () => {
    await setUp();
    const created = await lockbox.tokens.create({
      name: 'ci-deploy',
      permissions: ['secrets:read:prod', 'audit:read'],
      createdBy: { id: 'cli:alice', name: 'alice' },
    });
    expect(created.token).toMatch(TOKEN_TEXT);
    expect(created.token.startsWith(`${TOKEN_PREFIX}${created.id}_`)).toBe(true);
    const info = await lockbox.tokens.verify(created.token);
    expect(info).toMatchObject({
      id: created.id,
      name: 'ci-deploy',
      permissions: ['secrets:read:prod', 'audit:read'],
      createdBy: 'cli:alice',
      revokedAt: null,
    });
    const listed = await lockbox.tokens.list();
    expect(listed).toHaveLength(1);
    expect(Object.keys(listed[0]!).sort()).toEqual([
      'authentic',
      'createdAt',
      'createdBy',
      'id',
      'lastUsedAt',
      'name',
      'permissions',
      'revokedAt',
    ]);
    const revoked = await lockbox.tokens.revoke(created.id, { actor: { id: 'cli:bob' } });
    expect(revoked.revokedAt).not.toBeNull();
    await expect(lockbox.tokens.verify(created.token)).rejects.toMatchObject(INVALID);
    // Revoking again changes nothing.
    expect((await lockbox.tokens.revoke(created.id)).revokedAt).toBe(revoked.revokedAt);
  });

  it('refuses a wrong secret, an unknown id and malformed tokens with the same error', async () => {
    await setUp();
    const { id, token } = await lockbox.tokens.create({ name: 't', permissions: ['admin'] });
    const secret = token.slice(17);
    const flipped = `${secret.slice(0, 10)}${secret[10] === 'A' ? 'B' : 'A'}${secret.slice(11)}`;
    const attempts = [
      `lbx_${id}_${flipped}`,
      `lbx_${'f'.repeat(12)}_${secret}`,
      '',
      'lbx_',
      token.slice(0, -1),
      `${token}A`,
      token.toUpperCase(),
      `Bearer ${token}`,
      token.replace('lbx_', 'lbk_'),
      `lbx_${id}-${secret}`,
      `lbx_${id}_${secret.slice(0, -1)}B`, // non-canonical base64url tail
    ];
    for (const attempt of attempts) {
      await expect(lockbox.tokens.verify(attempt)).rejects.toMatchObject(INVALID);
    }
    expect(parseToken(`lbx_${id}_${secret.slice(0, -1)}B`)).toBeUndefined();
    expect((await lockbox.tokens.verify(token)).id).toBe(id);
  });

  it('refuses unknown permissions and bad names, and revoking an unknown id', async () => {
    await setUp();
    await expect(
      lockbox.tokens.create({ name: 't', permissions: ['secrets:everything'] }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(lockbox.tokens.create({ name: 't', permissions: [] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      lockbox.tokens.create({ name: 'bad\nname', permissions: ['admin'] }),
    ).rejects.toMatchObject({ code: 'NAME_INVALID' });
    await expect(lockbox.tokens.revoke('0123456789ab')).rejects.toMatchObject({
      code: 'TOKEN_NOT_FOUND',
    });
    const { token } = await lockbox.tokens.create({ name: 't', permissions: ['admin'] });
    // A whole token pasted where an id belongs is not echoed back.
    const err = await lockbox.tokens.revoke(token).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TOKEN_NOT_FOUND' });
    expect(JSON.stringify(err)).not.toContain(token.slice(17));
    expect(await lockbox.tokens.list()).toHaveLength(1);
  });

  it('records last use at most once a minute', async () => {
    await setUp();
    const { id, token } = await lockbox.tokens.create({ name: 't', permissions: ['admin'] });
    await lockbox.tokens.verify(token);
    const first = (await lockbox.tokens.get(id)).lastUsedAt;
    expect(first).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await lockbox.tokens.verify(token);
    expect((await lockbox.tokens.get(id)).lastUsedAt).toBe(first);
    // Another handle (another instance) does not rewrite a recent last use either.
    const other = await kit.open({ audit: false });
    await other.tokens.verify(token);
    expect((await lockbox.tokens.get(id)).lastUsedAt).toBe(first);
    // Once the recorded use is older than a minute, the next verify moves it.
    const old = new Date(Date.now() - 120_000).toISOString();
    await db(lockbox).updateTable('lockbox_tokens').set({ last_used_at: old }).execute();
    const third = await kit.open({ audit: false });
    await third.tokens.verify(token);
    expect((await lockbox.tokens.get(id)).lastUsedAt).not.toBe(old);
  });

  it('audits create and revoke by token id, and never stores or shows the token', async () => {
    await setUp();
    const { id, token } = await lockbox.tokens.create({
      name: 'ops',
      permissions: ['admin'],
      createdBy: { id: 'cli:alice' },
      requestId: 'req-1',
    });
    await lockbox.tokens.verify(token);
    await lockbox.tokens.revoke(id, { actor: { id: 'cli:bob' } });
    const entries = await lockbox.audit.list();
    expect(entries.map((e) => [e.action, e.actorId, e.outcome, e.details?.tokenId])).toEqual([
      ['token.create', 'cli:alice', 'ok', id],
      ['token.revoke', 'cli:bob', 'ok', id],
    ]);
    expect(entries[0]?.requestId).toBe('req-1');
    expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: 2 });

    const secretPart = token.slice(17);
    const secretHex = Buffer.from(secretPart, 'base64url').toString('hex');
    const dump = JSON.stringify([
      await lockbox.tokens.list(),
      await lockbox.tokens.get(id),
      entries,
      (await sql`select * from lockbox_audit`.execute(db(lockbox))).rows,
      (await sql`select * from lockbox_meta`.execute(db(lockbox))).rows,
      (await sql`select * from lockbox_tokens`.execute(db(lockbox))).rows,
    ]);
    for (const canary of [token, secretPart, secretHex]) expect(dump).not.toContain(canary);
    const stored = await db(lockbox).selectFrom('lockbox_tokens').select('hash').executeTakeFirst();
    expect(stored?.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });
});
