/**
 * store/audit-rows.ts on both dialects: filters and seq order of the reads the
 * log, verifier and checks page with, the hand-run insert texts of the fast
 * append (including its condition), and rollback.
 */
import { DIALECTS, storesOfTest } from '@lockbox/test-helpers';
import { CompiledQuery } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditEntries,
  auditEntryAfter,
  auditEntryParameters,
  chainEntryAt,
  highestAuditSeq,
  insertAuditEntries,
  insertAuditEntriesSql,
  insertAuditEntriesWhereSql,
  lastChainEntry,
  type NewAuditRow,
  okAuditEntriesOf,
} from '../../src/store/audit-rows.js';
import type { AuditTable } from '../../src/store/schema.js';

/** Seqs far above any the store's own opening may have recorded. */
const BASE = 10_000;

/** Entry `seq` of chain 7 (a chain the store's own entries never use), at position seq. */
function entry(
  seq: number,
  action: string,
  outcome: AuditTable['outcome'] = 'ok',
): NewAuditRow & { seq: number } {
  return {
    seq,
    chain: 7,
    chain_seq: seq,
    at: '2026-01-01T00:00:00.000Z',
    actor_id: null,
    actor_name: 'test',
    action,
    scope: seq % 2 === 0 ? 'even' : 'odd',
    name: null,
    outcome,
    request_id: null,
    details: null,
    key_id: null,
    prev_hash: `prev-${seq}`,
    hash: `hash-${seq}`,
  };
}

describe.each(DIALECTS)('lockbox_audit rows on %s', (dialect) => {
  const stores = storesOfTest();
  afterEach(stores.closeAll);

  async function store() {
    return (await stores.store(dialect)).lockbox.vault.store.db;
  }

  it('reads entries in seq order with each filter, and the last, highest and next entry', async () => {
    const db = await store();
    // Inserted out of order: every read must order by seq itself.
    await insertAuditEntries(db, [
      entry(BASE + 3, 'b'),
      entry(BASE + 1, 'a'),
      entry(BASE + 4, 'a', 'denied'),
      entry(BASE + 2, 'a'),
    ]);
    const seqs = (rows: { seq: number }[]) => rows.map((r) => Number(r.seq) - BASE);
    expect(seqs(await auditEntries(db, { after: BASE, limit: 10 }))).toEqual([1, 2, 3, 4]);
    expect(seqs(await auditEntries(db, { after: BASE, limit: 2 }))).toEqual([1, 2]);
    expect(seqs(await auditEntries(db, { after: BASE, order: 'desc', limit: 10 }))).toEqual([
      4, 3, 2, 1,
    ]);
    expect(seqs(await auditEntries(db, { before: BASE + 3, after: BASE, limit: 10 }))).toEqual([
      1, 2,
    ]);
    expect(seqs(await auditEntries(db, { after: BASE, through: BASE + 3, limit: 10 }))).toEqual([
      1, 2, 3,
    ]);
    expect(seqs(await auditEntries(db, { after: BASE, action: 'a', limit: 10 }))).toEqual([
      1, 2, 4,
    ]);
    expect(seqs(await auditEntries(db, { after: BASE, scope: 'even', limit: 10 }))).toEqual([2, 4]);
    const ok = await okAuditEntriesOf(db, ['a'], { after: BASE + 1, through: BASE + 4 }, 10);
    expect(seqs(ok)).toEqual([2]);
    expect(await lastChainEntry(db, 7)).toEqual({ position: BASE + 4, hash: `hash-${BASE + 4}` });
    expect(await lastChainEntry(db, 8)).toBeUndefined();
    expect(await highestAuditSeq(db)).toBe(BASE + 4);
    expect(Number((await auditEntryAfter(db, BASE + 2))?.seq)).toBe(BASE + 3);
    expect(await auditEntryAfter(db, BASE + 4)).toBeUndefined();
    expect(await chainEntryAt(db, 7, BASE + 2)).toEqual({
      seq: BASE + 2,
      hash: `hash-${BASE + 2}`,
    });
    expect(await chainEntryAt(db, 7, BASE + 5)).toBeUndefined();
    expect(await chainEntryAt(db, 0, BASE + 2)).toBeUndefined();
  });

  it('an insert in a rolled-back transaction leaves nothing', async () => {
    const db = await store();
    const before = await highestAuditSeq(db);
    await expect(
      db.transaction().execute(async (trx) => {
        await insertAuditEntries(trx, [entry(BASE + 1, 'a'), entry(BASE + 2, 'a')]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await highestAuditSeq(db)).toBe(before);
  });

  it('a position already taken in a chain is refused, and the database assigns seq', async () => {
    const db = await store();
    const { seq: _seq, ...first } = entry(BASE + 1, 'a');
    await insertAuditEntries(db, [first]);
    await expect(
      insertAuditEntries(db, [{ ...first, action: 'b', hash: 'other' }]),
    ).rejects.toThrow();
    await insertAuditEntries(db, [{ ...first, chain: 8, action: 'c' }]);
    const [a, c] = await auditEntries(db, { after: 0, scope: 'odd', limit: 10 });
    expect([a?.action, c?.action]).toEqual(['a', 'c']);
    // Greater, not next: PostgreSQL's sequence does not give back a value a failed insert took.
    expect(Number(c?.seq)).toBeGreaterThan(Number(a?.seq));
  });

  it('a seq already taken is refused', async () => {
    const db = await store();
    await insertAuditEntries(db, [entry(BASE + 1, 'a')]);
    await expect(
      insertAuditEntries(db, [{ ...entry(BASE + 1, 'b'), chain_seq: BASE + 2 }]),
    ).rejects.toThrow();
    expect((await auditEntries(db, { after: BASE, limit: 10 })).map((r) => r.action)).toEqual([
      'a',
    ]);
  });

  it('the hand-run insert texts insert every column of every row (and nothing when the condition fails)', async () => {
    const db = await store();
    const rows = [entry(BASE + 1, 'a'), { ...entry(BASE + 2, 'b'), details: '{"n":1}' }].map(
      ({ seq: _seq, ...row }) => row,
    );
    const run = (text: string, parameters: unknown[]) =>
      db.executeQuery(CompiledQuery.raw(text, parameters));
    if (dialect === 'postgres') {
      // $1 is the condition's own parameter, as the fast append binds its head first.
      const text = insertAuditEntriesWhereSql(2, 1, '$1::int = 1');
      await run(text, [0, ...auditEntryParameters(rows)]);
      expect(await lastChainEntry(db, 7)).toBeUndefined();
      await run(text, [1, ...auditEntryParameters(rows)]);
    } else {
      await run(insertAuditEntriesSql(2), auditEntryParameters(rows));
    }
    const stored = await auditEntries(db, { after: 0, limit: 10 });
    expect(
      stored
        .filter((r) => Number(r.chain) === 7)
        .map(({ seq: _seq, ...r }) => ({ ...r, chain_seq: Number(r.chain_seq) })),
    ).toEqual(rows);
  });
});
