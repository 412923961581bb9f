/**
 * lockbox_audit, the only code that runs SQL on it (schema history aside): one
 * row per audit entry, in table order by seq (assigned by the database), at
 * position chain_seq of hash chain `chain`, linked to the entry before it in
 * that chain by prev_hash and MACed under the audit key `key_id`. The chain, its MACs and what
 * a break means are audit/'s; the head saying where the chain ends is a
 * lockbox_meta entry (store/meta-rows.ts).
 *
 * The fast append (audit/head-cas-append.ts) runs its insert by hand, on the raw
 * SQLite connection or inside one PostgreSQL statement: its SQL text is built
 * here (insertAuditEntriesSql, insertAuditEntriesWhereSql) and run there.
 */
import type { Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { AuditTable } from './schema.js';

export type AuditRow = Selectable<AuditTable>;
/** An entry as an appender writes it: the database assigns seq. */
export type NewAuditRow = Omit<AuditRow, 'seq'>;

export async function insertAuditEntries(
  db: Executor,
  rows: readonly NewAuditRow[],
): Promise<void> {
  await db
    .insertInto('lockbox_audit')
    .values(rows as NewAuditRow[])
    .execute();
}

/** The entry at the highest position of `chain`. */
export async function lastChainEntry(
  db: Executor,
  chain: number,
): Promise<{ position: number; hash: string } | undefined> {
  const row = await db
    .selectFrom('lockbox_audit')
    .select(['chain_seq', 'hash'])
    .where('chain', '=', chain)
    .where('chain_seq', 'is not', null)
    .orderBy('chain_seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : { position: Number(row.chain_seq), hash: row.hash };
}

/** The highest seq, or null when the table is empty. */
export async function highestAuditSeq(db: Executor): Promise<number | null> {
  const max = await db
    .selectFrom('lockbox_audit')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  const seq = max?.seq;
  return seq === null || seq === undefined ? null : Number(seq);
}

/** The seq and hash of the entry at `position` of `chain`, if there is one. */
export async function chainEntryAt(
  db: Executor,
  chain: number,
  position: number,
): Promise<{ seq: number; hash: string } | undefined> {
  const row = await db
    .selectFrom('lockbox_audit')
    .select(['seq', 'hash'])
    .where('chain', '=', chain)
    .where('chain_seq', '=', position)
    .executeTakeFirst();
  return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
}

/** The first entry after `seq`. */
export async function auditEntryAfter(db: Executor, seq: number): Promise<AuditRow | undefined> {
  return db
    .selectFrom('lockbox_audit')
    .selectAll()
    .where('seq', '>', seq)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
}

export interface AuditFilter {
  /** Entries with seq above this (none: from the lowest, even seq ≤ 0). */
  after?: number;
  /** Entries with seq below this. */
  before?: number;
  /** Entries with seq at most this. */
  through?: number;
  action?: string;
  scope?: string;
  order?: 'asc' | 'desc';
  limit: number;
}

/** Entries matching the filter, in seq order. */
export async function auditEntries(db: Executor, filter: AuditFilter): Promise<AuditRow[]> {
  let query = db.selectFrom('lockbox_audit').selectAll();
  if (filter.after !== undefined) query = query.where('seq', '>', filter.after);
  if (filter.before !== undefined) query = query.where('seq', '<', filter.before);
  if (filter.through !== undefined) query = query.where('seq', '<=', filter.through);
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (filter.scope !== undefined) query = query.where('scope', '=', filter.scope);
  return query
    .orderBy('seq', filter.order ?? 'asc')
    .limit(filter.limit)
    .execute();
}

/** The successful entries of these actions with after < seq ≤ through, in seq order. */
export async function okAuditEntriesOf(
  db: Executor,
  actions: readonly string[],
  range: { after: number; through: number },
  limit: number,
): Promise<Pick<AuditRow, 'seq' | 'action' | 'scope' | 'name' | 'details'>[]> {
  return db
    .selectFrom('lockbox_audit')
    .select(['seq', 'action', 'scope', 'name', 'details'])
    .where('seq', '>', range.after)
    .where('seq', '<=', range.through)
    .where('outcome', '=', 'ok')
    .where('action', 'in', actions)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

// ---- the fast append's SQL text

/** The columns of an inserted entry, in the order of the hand-run insert's parameters. */
export const AUDIT_ENTRY_COLUMNS = [
  'chain',
  'chain_seq',
  'at',
  'actor_id',
  'actor_name',
  'action',
  'scope',
  'name',
  'outcome',
  'request_id',
  'details',
  'key_id',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof NewAuditRow)[];

/** The rows' values as the hand-run inserts bind them, row after row. */
export function auditEntryParameters(rows: readonly NewAuditRow[]): unknown[] {
  const parameters: unknown[] = [];
  for (const row of rows) for (const column of AUDIT_ENTRY_COLUMNS) parameters.push(row[column]);
  return parameters;
}

/** The insert of `rows` entries with `?` placeholders (SQLite). */
export function insertAuditEntriesSql(rows: number): string {
  const tuple = `(${AUDIT_ENTRY_COLUMNS.map(() => '?').join(', ')})`;
  return `insert into lockbox_audit (${AUDIT_ENTRY_COLUMNS.join(', ')}) values ${Array.from({ length: rows }, () => tuple).join(', ')}`;
}

/**
 * PostgreSQL: the insert of `rows` entries, bound from $<firstParameter + 1>
 * on, that inserts them only when `condition` (SQL text) holds; for a
 * statement that makes the insert depend on another in the same round trip.
 */
export function insertAuditEntriesWhereSql(
  rows: number,
  firstParameter: number,
  condition: string,
): string {
  let n = firstParameter;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells = AUDIT_ENTRY_COLUMNS.map(
      (column) => `$${++n}::${column === 'chain' || column === 'chain_seq' ? 'integer' : 'text'}`,
    );
    tuples.push(`(${cells.join(', ')})`);
  }
  const columns = AUDIT_ENTRY_COLUMNS.join(', ');
  return (
    `insert into lockbox_audit (${columns}) ` +
    `select * from (values ${tuples.join(', ')}) as v (${columns}) ` +
    `where ${condition}`
  );
}
