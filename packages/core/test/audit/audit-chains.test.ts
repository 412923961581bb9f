/**
 * Several audit chains (audit/audit-chains.ts): handles that hold a chain of
 * their own append beside each other and beside chain 0, a chain is reused
 * once its holder closes, and a database writer without the audit key cannot
 * drop, truncate or extend a chain unnoticed.
 */
import type { Lockbox } from '@lockbox/core';
import { DIALECTS } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditTestKit, appendMany, auditTestKit, db } from './audit-test-kit.js';

describe.each(DIALECTS)('audit chains on %s', (dialect) => {
  let kit: AuditTestKit;
  afterEach(async () => kit?.close());

  /** chain 0 (a CLI-like handle) and two handles with chains of their own, appending in turn. */
  async function threeWriters(): Promise<{ shared: Lockbox; a: Lockbox; b: Lockbox }> {
    kit = await auditTestKit(dialect);
    const shared = await kit.open();
    const a = await kit.open({ ownAuditChain: true });
    const b = await kit.open({ ownAuditChain: true });
    for (let round = 0; round < 3; round++) {
      await appendMany(a, 2, `a${round}`);
      await appendMany(shared, 1, `s${round}`);
      await Promise.all([appendMany(b, 2, `b${round}`), appendMany(a, 1, `a${round}x`)]);
    }
    return { shared, a, b };
  }

  async function exec(lockbox: Lockbox, statement: string): Promise<void> {
    await sql.raw(statement).execute(db(lockbox));
  }

  it('interleaved appends to three chains verify, each chain contiguous from 1', async () => {
    const { shared, a, b } = await threeWriters();
    expect([a.audit.chain, b.audit.chain].sort()).toEqual([1, 2]);
    expect(shared.audit.chain).toBeUndefined();
    const result = await shared.audit.verify({ batchSize: 4 });
    expect(result).toMatchObject({ ok: true, entries: 3 + 9 + 6 });
    if (!result.ok) throw new Error('verified above');
    expect(result.heads.map((h) => [h.chain, h.seq])).toEqual([
      [0, 3],
      [a.audit.chain, 9],
      [b.audit.chain, 6],
    ]);
    const rows = await db(shared)
      .selectFrom('lockbox_audit')
      .select(['chain', 'chain_seq'])
      .where('chain', '=', a.audit.chain ?? -1)
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => Number(r.chain_seq))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a closed holder gives its chain back: the next holder continues it, no new chain', async () => {
    const { shared, a } = await threeWriters();
    const chain = a.audit.chain;
    await a.close();
    const next = await kit.open({ ownAuditChain: true });
    await appendMany(next, 2, 'next');
    expect(next.audit.chain).toBe(chain);
    const result = await shared.audit.verify();
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) throw new Error('verified above');
    expect(result.heads.find((h) => h.chain === chain)?.seq).toBe(11);
    expect(result.heads).toHaveLength(3);
  });

  it('a chain deleted whole (entries and head) is reported', async () => {
    const { shared, b } = await threeWriters();
    const chain = b.audit.chain;
    await exec(shared, `delete from lockbox_audit where chain = ${chain}`);
    await exec(shared, `delete from lockbox_meta where key = 'audit_head.${chain}'`);
    expect(await shared.audit.verify()).toMatchObject({ ok: false, chain, reason: 'deleted' });
  });

  it('an entry of a chain the registry does not list is reported as inserted', async () => {
    const { shared } = await threeWriters();
    await exec(shared, 'update lockbox_audit set chain = 9 where chain = 0 and chain_seq = 3');
    expect(await shared.audit.verify()).toMatchObject({
      ok: false,
      chain: 9,
      reason: 'inserted',
    });
  });

  it('an older registry put back (the newest chain dropped) is reported', async () => {
    kit = await auditTestKit(dialect);
    const a = await kit.open({ ownAuditChain: true });
    await appendMany(a, 1, 'a');
    const older = await db(a)
      .selectFrom('lockbox_meta')
      .select('value')
      .where('key', '=', 'audit_chains')
      .executeTakeFirstOrThrow();
    const b = await kit.open({ ownAuditChain: true });
    await appendMany(b, 2, 'b');
    expect(b.audit.chain).toBe(2);
    await exec(a, `delete from lockbox_audit where chain = 2`);
    await sql`update lockbox_meta set value = ${older.value} where key = 'audit_chains'`.execute(
      db(a),
    );
    expect(await a.audit.verify()).toMatchObject({ ok: false, chain: 2, reason: 'deleted' });
  });

  it('a chain truncated with its older head put back verifies alone, and the anchor catches it', async () => {
    const { shared, a } = await threeWriters();
    const chain = a.audit.chain ?? -1;
    const headKey = `audit_head.${chain}`;
    const saved = await db(shared)
      .selectFrom('lockbox_meta')
      .select('value')
      .where('key', '=', headKey)
      .executeTakeFirstOrThrow();
    await appendMany(a, 3, 'later');
    const anchor = await shared.audit.anchor();
    if (anchor === null) throw new Error('a log with entries has an anchor');
    expect(anchor.version).toBe(2);
    await exec(shared, `delete from lockbox_audit where chain = ${chain} and chain_seq > 9`);
    await sql`update lockbox_meta set value = ${saved.value} where key = ${headKey}`.execute(
      db(shared),
    );
    expect(await shared.audit.verify()).toMatchObject({ ok: true });
    expect(await shared.audit.verify({ anchor })).toMatchObject({
      ok: false,
      chain,
      firstBroken: 10,
      reason: 'deleted',
    });
  });

  it("one chain's head cannot stand in for another's", async () => {
    const { shared, a, b } = await threeWriters();
    const ofA = await db(shared)
      .selectFrom('lockbox_meta')
      .select('value')
      .where('key', '=', `audit_head.${a.audit.chain}`)
      .executeTakeFirstOrThrow();
    await sql`update lockbox_meta set value = ${ofA.value} where key = ${`audit_head.${b.audit.chain}`}`.execute(
      db(shared),
    );
    expect(await shared.audit.verify()).toMatchObject({
      ok: false,
      chain: b.audit.chain,
      reason: 'edited',
    });
  });

  it('two entries of one chain with their seqs swapped are reported as reordered', async () => {
    const { shared, a } = await threeWriters();
    const chain = a.audit.chain;
    const rows = await db(shared)
      .selectFrom('lockbox_audit')
      .select('seq')
      .where('chain', '=', chain ?? -1)
      .where('chain_seq', 'in', [4, 5])
      .orderBy('chain_seq')
      .execute();
    const [four, five] = rows.map((r) => Number(r.seq));
    await exec(shared, `update lockbox_audit set seq = -1 where seq = ${four}`);
    await exec(shared, `update lockbox_audit set seq = ${four} where seq = ${five}`);
    await exec(shared, `update lockbox_audit set seq = ${five} where seq = -1`);
    expect(await shared.audit.verify()).toMatchObject({
      ok: false,
      chain,
      firstBroken: 4,
      reason: 'reordered',
    });
  });
});
