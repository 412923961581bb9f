/**
 * Tampering with the audit log directly in the database: every edit, deletion,
 * insertion and reordering is found, and verify names the first broken entry.
 */
import { createHash } from 'node:crypto';
import type { Lockbox } from '@lockbox/core';
import { AUDIT_HEAD_META } from '@lockbox/core/hazmat';
import { DIALECTS } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditTestKit, appendMany, auditTestKit, db, shiftSeqs } from './audit-test-kit.js';

const ENTRIES = 10;
const MIDDLE = 5;

/** Each column of entry MIDDLE, edited to a plausible other value. */
const COLUMN_EDITS: Record<string, string> = {
  at: `'2020-01-01T00:00:00.000Z'`,
  actor_id: `'someone-else'`,
  actor_name: 'null',
  action: `'secret.set'`,
  scope: `'other-scope'`,
  name: `'other-name'`,
  outcome: `'denied'`,
  request_id: `'req-forged'`,
  details: `'{"i":99}'`,
  key_id: `'0123456789abcdef'`,
  prev_hash: `'${'1'.repeat(64)}'`,
  hash: `'${'2'.repeat(64)}'`,
};

describe.each(DIALECTS)('audit tampering on %s', (dialect) => {
  let kit: AuditTestKit;
  let lockbox: Lockbox;
  afterEach(async () => kit?.close());

  async function seeded(): Promise<void> {
    kit = await auditTestKit(dialect);
    lockbox = await kit.open();
    await appendMany(lockbox, ENTRIES);
    expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: ENTRIES });
  }

  async function exec(statement: string): Promise<void> {
    await sql.raw(statement).execute(db(lockbox));
  }

  async function expectBroken(firstBroken: number, reason: string): Promise<void> {
    const result = await lockbox.audit.verify({ batchSize: 3 });
    expect(result).toMatchObject({ ok: false, firstBroken, reason });
  }

  for (const [column, value] of Object.entries(COLUMN_EDITS)) {
    it(`names the entry whose ${column} was edited`, async () => {
      await seeded();
      await exec(`update lockbox_audit set ${column} = ${value} where seq = ${MIDDLE}`);
      await expectBroken(MIDDLE, 'edited');
    });
  }

  it('names an entry edited with its hash recomputed as a plain SHA-256', async () => {
    await seeded();
    const forged = createHash('sha256').update('forged').digest('hex');
    await exec(
      `update lockbox_audit set outcome = 'ok', scope = 'x', hash = '${forged}' where seq = ${MIDDLE}`,
    );
    await exec(`update lockbox_audit set prev_hash = '${forged}' where seq = ${MIDDLE + 1}`);
    await expectBroken(MIDDLE, 'edited');
  });

  it('names an entry moved to another seq as out of order, and moved to another position as missing from its place', async () => {
    await seeded();
    await exec(`update lockbox_audit set seq = 1000 where seq = ${MIDDLE}`);
    await expectBroken(MIDDLE, 'reordered');
    await exec(`update lockbox_audit set chain_seq = 1000 where seq = 1000`);
    await expectBroken(MIDDLE, 'deleted');
  });

  it('names a deleted entry in the middle', async () => {
    await seeded();
    await exec(`delete from lockbox_audit where seq = ${MIDDLE}`);
    await expectBroken(MIDDLE, 'deleted');
  });

  it('names a deleted entry when the later ones were renumbered to close the gap', async () => {
    await seeded();
    await exec(`delete from lockbox_audit where seq = ${MIDDLE}`);
    await shiftSeqs(lockbox, MIDDLE + 1, -1);
    await expectBroken(MIDDLE, 'deleted');
  });

  it('detects a deleted last entry through the MACed head', async () => {
    await seeded();
    await exec(`delete from lockbox_audit where seq = ${ENTRIES}`);
    await expectBroken(ENTRIES, 'deleted');
  });

  it('detects a truncated tail even after later appends', async () => {
    await seeded();
    await exec(`delete from lockbox_audit where seq > 7`);
    await appendMany(lockbox, 2, 'after');
    await expectBroken(8, 'deleted');
  });

  it('detects a deleted tail when the head was deleted too, and appends do not repair it', async () => {
    await seeded();
    await exec(`delete from lockbox_audit where seq = ${ENTRIES}`);
    await exec(`delete from lockbox_meta where key = '${AUDIT_HEAD_META}'`);
    await expectBroken(ENTRIES, 'deleted');
    await appendMany(lockbox, 1, 'after');
    expect(await lockbox.audit.verify()).toMatchObject({ ok: false, reason: 'deleted' });
  });

  it('detects a head moved back to match a truncated table', async () => {
    await seeded();
    const row = await db(lockbox)
      .selectFrom('lockbox_audit')
      .select('hash')
      .where('seq', '=', ENTRIES - 1)
      .executeTakeFirstOrThrow();
    const head = await db(lockbox)
      .selectFrom('lockbox_meta')
      .select('value')
      .where('key', '=', AUDIT_HEAD_META)
      .executeTakeFirstOrThrow();
    const moved = { ...JSON.parse(head.value), seq: ENTRIES - 1, hash: row.hash };
    await exec(`delete from lockbox_audit where seq = ${ENTRIES}`);
    await db(lockbox)
      .updateTable('lockbox_meta')
      .set({ value: JSON.stringify(moved) })
      .where('key', '=', AUDIT_HEAD_META)
      .execute();
    await expectBroken(ENTRIES, 'edited');
  });

  it('names a forged entry appended after the head', async () => {
    await seeded();
    await insertForged(ENTRIES + 1);
    await expectBroken(ENTRIES + 1, 'inserted');
    // The real appender steps over it, and verify still names it.
    await appendMany(lockbox, 1, 'after');
    await expectBroken(ENTRIES + 1, 'inserted');
  });

  it('names a forged entry inserted in the middle (later entries renumbered)', async () => {
    await seeded();
    await shiftSeqs(lockbox, MIDDLE, 1);
    await insertForged(MIDDLE);
    await expectBroken(MIDDLE, 'inserted');
  });

  it('names a forged entry with seq 0', async () => {
    await seeded();
    await insertForged(0);
    await expectBroken(0, 'inserted');
  });

  it('names a genuine entry copied into the middle', async () => {
    await seeded();
    await shiftSeqs(lockbox, MIDDLE + 1, 1);
    await exec(
      `insert into lockbox_audit (seq, chain, chain_seq, at, actor_id, actor_name, action, scope, name, outcome, request_id, details, prev_hash, hash, key_id)
       select ${MIDDLE + 1}, 0, ${MIDDLE + 1}, at, actor_id, actor_name, action, scope, name, outcome, request_id, details, prev_hash, hash, key_id
       from lockbox_audit where seq = ${MIDDLE}`,
    );
    await expectBroken(MIDDLE + 1, 'inserted');
  });

  it('names two swapped entries as reordered', async () => {
    await seeded();
    await exec(`update lockbox_audit set seq = -1 where seq = ${MIDDLE}`);
    await exec(`update lockbox_audit set seq = ${MIDDLE} where seq = ${MIDDLE + 1}`);
    await exec(`update lockbox_audit set seq = ${MIDDLE + 1} where seq = -1`);
    await expectBroken(MIDDLE, 'reordered');
  });

  it('reports the first of several breaks', async () => {
    await seeded();
    await exec(`update lockbox_audit set scope = 'x' where seq = 8`);
    await exec(`delete from lockbox_audit where seq = 3`);
    await expectBroken(3, 'deleted');
  });

  /**
   * A row an attacker without the audit key could write: plausible fields, linked
   * to its predecessor, and a hash recomputed as a plain SHA-256 of its content.
   */
  async function insertForged(seq: number): Promise<void> {
    const before = await db(lockbox)
      .selectFrom('lockbox_audit')
      .select(['hash', 'key_id'])
      .where('seq', '<', seq)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const prevHash = before?.hash ?? '0'.repeat(64);
    const fields = {
      seq,
      chain: 0,
      chain_seq: seq,
      at: new Date().toISOString(),
      actor_id: 'actor-test',
      actor_name: 'Tester',
      action: 'secret.read',
      scope: 'prod',
      name: 'forged',
      outcome: 'ok' as const,
      request_id: null,
      details: null,
      prev_hash: prevHash,
      key_id: before?.key_id ?? null,
    };
    const hash = createHash('sha256').update(prevHash).update(JSON.stringify(fields)).digest('hex');
    await db(lockbox)
      .insertInto('lockbox_audit')
      .values({ ...fields, hash })
      .execute();
  }
});
