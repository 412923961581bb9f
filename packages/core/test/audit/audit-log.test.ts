import { AUDIT_SCOPE, GENESIS_HASH } from '@lockbox/core/hazmat';
import { DIALECTS } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditTestKit, appendMany, auditTestKit, db, seqs } from './audit-test-kit.js';

describe.each(DIALECTS)('audit log on %s', (dialect) => {
  let kit: AuditTestKit;
  afterEach(async () => kit?.close());

  it('verifies an empty log, then a long chain read in small pages', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    expect(await lockbox.audit.verify()).toEqual({
      ok: true,
      entries: 0,
      head: null,
      heads: [],
      throughSeq: 0,
    });
    await appendMany(lockbox, 120);
    const result = await lockbox.audit.verify({ batchSize: 7 });
    expect(result).toMatchObject({ ok: true, entries: 120, head: { seq: 120 } });
    expect(await seqs(lockbox)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const [first] = await lockbox.audit.list({ limit: 1 });
    expect(first?.prevHash).toBe(GENESIS_HASH);
    expect(first?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps one contiguous chain when one handle appends concurrently', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await Promise.all(Array.from({ length: 6 }, (_, t) => appendMany(lockbox, 10, `t${t}`)));
    expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: 60 });
    expect(await seqs(lockbox)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('records secret set (with the version written), read and delete with their outcome, and nothing when audit is off', async () => {
    kit = await auditTestKit(dialect);
    const quiet = await kit.open({ audit: false });
    await quiet.secrets.set('prod', 'quiet', 'v');
    expect(await quiet.audit.list()).toEqual([]);

    const lockbox = await kit.open({ actor: { id: 'cli:alice', name: 'alice' } });
    await lockbox.secrets.set('prod', 'db-password', 'hunter2', { requestId: 'r-1' });
    await lockbox.secrets.get('prod', 'db-password');
    await expect(lockbox.secrets.get('prod', 'missing')).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });
    await lockbox.secrets.delete('prod', 'db-password');
    const entries = await lockbox.audit.list();
    expect(
      entries.map((e) => [e.seq, e.action, e.scope, e.name, e.outcome, e.actorId, e.details]),
    ).toEqual([
      [1, 'secret.set', 'prod', 'db-password', 'ok', 'cli:alice', { version: 1 }],
      [2, 'secret.read', 'prod', 'db-password', 'ok', 'cli:alice', null],
      [3, 'secret.read', 'prod', 'missing', 'error', 'cli:alice', { code: 'SECRET_NOT_FOUND' }],
      [4, 'secret.delete', 'prod', 'db-password', 'ok', 'cli:alice', null],
    ]);
    expect(entries[0]?.requestId).toBe('r-1');
    expect(entries[0]?.actorName).toBe('alice');
    expect(entries[0]?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: 4 });
  });

  it('lists with filters, cursors and newest-first order', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await appendMany(lockbox, 5, 'a');
    await lockbox.audit.record({ action: 'secret.read', scope: 'x', name: 'n', outcome: 'denied' });
    await appendMany(lockbox, 3, 'b');
    expect((await lockbox.audit.list({ after: 2, limit: 3 })).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect((await lockbox.audit.list({ order: 'desc', limit: 2 })).map((e) => e.seq)).toEqual([
      9, 8,
    ]);
    expect((await lockbox.audit.list({ before: 3, order: 'desc' })).map((e) => e.seq)).toEqual([
      2, 1,
    ]);
    expect((await lockbox.audit.list({ action: 'secret.read' })).map((e) => e.seq)).toEqual([6]);
    expect((await lockbox.audit.list({ scope: 'scope-b' })).map((e) => e.seq)).toEqual([7, 8, 9]);
    await expect(lockbox.audit.list({ limit: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(lockbox.audit.list({ limit: 1001 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('keys the chain with a wrapped data key of the internal audit scope', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await appendMany(lockbox, 2);
    const keys = await db(lockbox)
      .selectFrom('lockbox_data_keys')
      .select(['id', 'scope', 'wrapped', 'state'])
      .where('scope', '=', AUDIT_SCOPE)
      .execute();
    expect(keys).toHaveLength(1);
    expect(keys[0]?.wrapped).toMatch(/^lbk1:/);
    const entries = await lockbox.audit.list();
    expect(entries.every((e) => e.keyId === keys[0]?.id)).toBe(true);
  });

  it('verifies from another handle and after reopening with the same master key', async () => {
    kit = await auditTestKit(dialect);
    const writer = await kit.open();
    await appendMany(writer, 10);
    const reader = await kit.open();
    expect(await reader.audit.verify()).toMatchObject({ ok: true, entries: 10 });
    await appendMany(reader, 1);
    expect(await writer.audit.verify()).toMatchObject({ ok: true, entries: 11 });
    expect(await writer.audit.head()).toMatchObject({ seq: 11 });
  });

  it('refuses details that name a value or a key, and bad outcomes', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    for (const details of [{ value: 'x' }, { nested: { masterKey: 'x' } }, { token: 'x' }]) {
      await expect(
        lockbox.audit.record({ action: 'test', outcome: 'ok', details }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(
      lockbox.audit.record({ action: 'test', outcome: 'maybe' as 'ok' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      lockbox.audit.record({ action: 'test', outcome: 'ok', details: { big: 'x'.repeat(5000) } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await lockbox.audit.list()).toEqual([]);
  });

  it('stores text that the database would otherwise alter, so it still verifies', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    await lockbox.audit.record({
      action: 'test',
      outcome: 'ok',
      actor: { id: 'a\u0000b', name: 'lone \ud800 surrogate' },
      requestId: 'r'.repeat(2000),
      details: { note: 'nul \u0000 and \udc00' },
    });
    expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: 1 });
    const [entry] = await lockbox.audit.list();
    expect(entry?.actorId).toBe('a\ufffdb');
    expect(entry?.requestId).toHaveLength(512);
    expect(entry?.details).toEqual({ note: 'nul \u0000 and \udc00' });
  });

  it('never holds a secret value, a master key or the audit key', async () => {
    kit = await auditTestKit(dialect);
    const lockbox = await kit.open();
    const canary = 'CANARY-7f3a9c-value';
    await lockbox.secrets.set('prod', 'canary', canary);
    await lockbox.secrets.set('prod', 'bytes', Buffer.from(canary));
    await lockbox.secrets.get('prod', 'canary');
    await lockbox.secrets.getBytes('prod', 'bytes');
    await expect(lockbox.secrets.set('prod', 'big', canary.repeat(10_000))).rejects.toMatchObject({
      code: 'VALUE_TOO_LARGE',
    });
    await lockbox.tokens.create({ name: 'canary-token', permissions: ['admin'] });
    const [entry] = await lockbox.audit.list();
    const auditKey = (await lockbox.vault.dataKeys.open(entry!.keyId!)).key.export();
    const dump = JSON.stringify([
      (await sql`select * from lockbox_audit`.execute(db(lockbox))).rows,
      (await sql`select * from lockbox_meta`.execute(db(lockbox))).rows,
      await lockbox.audit.list({ limit: 1000 }),
    ]);
    const canaries = [
      canary,
      Buffer.from(canary).toString('base64'),
      Buffer.from(canary).toString('hex'),
      kit.masterKey.toString('hex'),
      kit.masterKey.toString('base64'),
      kit.masterKey.toString('base64url'),
      auditKey.toString('hex'),
      auditKey.toString('base64'),
    ];
    for (const c of canaries) expect(dump).not.toContain(c);
    expect(dump).toContain('secret.read');
  });
});
