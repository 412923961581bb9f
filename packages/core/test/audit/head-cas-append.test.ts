/**
 * The compare-and-swap append (audit/head-cas-append.ts): a handle whose
 * remembered head another handle moved falls back to the locked append and the
 * chain stays contiguous; on SQLite, an append while the connection is inside a
 * Kysely transaction or mid-stream waits for it (through Kysely) instead of
 * running its statements inside it.
 */
import { DIALECTS } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditTestKit, appendMany, auditTestKit, seqs } from './audit-test-kit.js';

describe.each(DIALECTS)('compare-and-swap appends on %s', (dialect) => {
  let kit: AuditTestKit;
  afterEach(async () => kit?.close());

  it('falls back when another handle moved the head, in turn, many times', async () => {
    kit = await auditTestKit(dialect);
    const [a, b] = [await kit.open(), await kit.open()];
    for (let round = 0; round < 10; round++) {
      // Each handle's remembered head is stale on its first append of a round.
      await appendMany(a, 3, `a${round}`);
      await appendMany(b, 3, `b${round}`);
    }
    expect(await seqs(a)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await b.audit.verify()).toMatchObject({ ok: true, entries: 60 });
  });
});

describe('compare-and-swap appends on sqlite, beside other work on the connection', () => {
  let kit: AuditTestKit;
  afterEach(async () => kit?.close());

  it('waits for a transaction open on the connection, and is not part of it', async () => {
    kit = await auditTestKit('sqlite');
    const lockbox = await kit.open();
    await appendMany(lockbox, 2);
    let appended = false;
    let pending: Promise<void> | undefined;
    await expect(
      lockbox.vault.store.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('lockbox_meta')
          .values({ key: 'test_rolled_back', value: 'x' })
          .execute();
        pending = appendMany(lockbox, 1, 'during').then(() => {
          appended = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(appended).toBe(false);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await pending;
    // The entry was committed on its own: the rolled-back transaction took nothing with it.
    expect(await seqs(lockbox)).toEqual([1, 2, 3]);
    const leftover = await lockbox.vault.store.db
      .selectFrom('lockbox_meta')
      .select('key')
      .where('key', '=', 'test_rolled_back')
      .execute();
    expect(leftover).toEqual([]);
    expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('waits for a stream open on the connection', async () => {
    kit = await auditTestKit('sqlite');
    const lockbox = await kit.open();
    await appendMany(lockbox, 5);
    let pending: Promise<void> | undefined;
    let streamed = 0;
    for await (const _ of lockbox.vault.store.db
      .selectFrom('lockbox_audit')
      .select('seq')
      .stream()) {
      streamed += 1;
      pending ??= appendMany(lockbox, 1, 'during');
    }
    await pending;
    expect(streamed).toBe(5);
    expect(await seqs(lockbox)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: 6 });
  });
});
