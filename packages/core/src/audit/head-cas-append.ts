/**
 * The audit log's fast append: a compare-and-swap on the head of the chain
 * appended to (chain 0's `audit_head`, or `audit_head.<n>`; audit-chains.ts).
 *
 * Why: the locked append (audit-log.ts) takes the chain lock, checks the active
 * audit key, reads and authenticates the head, reads the last entry, inserts and
 * rewrites the head — seven statements per batch, and with one caller every read
 * is its own batch. An appender that wrote the head itself already knows it: the
 * head it last wrote (or read and authenticated under the lock) is remembered,
 * and the next batch is chained from it. The append then only has to check that
 * no one moved the head since, which the head update itself does:
 *
 *   update lockbox_meta set value = <new head>
 *    where key = <the chain's head key> and value = <remembered head text>
 *      and <the audit scope's active key> = <the key this batch is MACed with>
 *
 * and the entries are inserted only if that update changed the row.
 *
 * - PostgreSQL: one statement, one round trip (a data-modifying CTE moves the
 *   head; the insert selects its rows only when the CTE returned one). The head
 *   row's lock serialises it with every other appender: a concurrent fast append
 *   waits for the row and then re-checks `value`, which has changed, so it
 *   inserts nothing; the locked append takes the same row lock
 *   (audit-chain.ts `lockAuditChain`) before it reads the head.
 * - SQLite: one transaction of two statements (the head update, which takes the
 *   database's write lock, then the insert), compiled once and cached by the
 *   store's statement cache.
 *
 * Contract: `casAppend` returns true when the entries were inserted and the head
 * moved, committed; false when nothing was written because the head is not the
 * remembered one (another handle, process or instance appended, or someone
 * edited it) or the key is no longer the active audit key — the caller then
 * falls back to the locked append, which re-reads everything and reports what
 * it finds. It throws the database's error otherwise (a seq already taken, by a
 * row forged beyond the head, is a unique violation: the caller retries locked).
 * The entries are committed before it resolves: durability is the locked
 * append's.
 */
import { CompiledQuery, type SqliteDatabase } from 'kysely';
import {
  auditEntryParameters,
  insertAuditEntriesSql,
  insertAuditEntriesWhereSql,
  type NewAuditRow,
} from '../store/audit-rows.js';
import type { Store } from '../store/connect.js';
import { activeDataKeyIdSql } from '../store/data-key-rows.js';
import { swapMetaValueSql } from '../store/meta-rows.js';
import { markPrepared } from '../store/prepared-statements.js';
import { headMetaKey } from './audit-head.js';
import { AUDIT_SCOPE } from './audit-keys.js';

/** The audit scope's active key, as activeAuditKeyId reads it (audit-keys.ts). */
const ACTIVE_KEY = activeDataKeyIdSql;

/** Statement text per dialect and batch size (batches are at most 200 entries). */
const cache = new Map<string, string>();

function postgresSql(rows: number): string {
  const key = `postgres:${rows}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  // $1 new head, $2 remembered head, $3 head key, $4 audit scope, $5 batch key; then the rows.
  const moveHead = swapMetaValueSql(
    { next: '$1', key: '$3', expected: '$2' },
    `${ACTIVE_KEY('$4')} = $5`,
  );
  const text = markPrepared(
    `with moved as (${moveHead} returning 1) ` +
      insertAuditEntriesWhereSql(rows, 5, 'exists (select 1 from moved)'),
  );
  cache.set(key, text);
  return text;
}

const SQLITE_MOVE_HEAD = swapMetaValueSql(
  { next: '?', key: '?', expected: '?' },
  `${ACTIVE_KEY('?')} = ?`,
);

function sqliteInsertSql(rows: number): string {
  const key = `sqlite:${rows}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  const text = insertAuditEntriesSql(rows);
  cache.set(key, text);
  return text;
}

const rowParameters = auditEntryParameters;

export interface CasAppend {
  /** The chain appended to; its head is the one compared and moved. */
  chain: number;
  /** The head text this appender last wrote or authenticated. */
  expectedHead: string;
  /** The head text after this batch. */
  newHead: string;
  /** The audit key id the batch is MACed with: it must still be the active one. */
  keyId: string;
  rows: readonly NewAuditRow[];
}

export async function casAppend(
  store: Pick<Store, 'db' | 'dialect' | 'sqliteConnection'>,
  append: CasAppend,
): Promise<boolean> {
  const db = store.db;
  if (store.dialect === 'postgres') {
    const result = await db.executeQuery(
      CompiledQuery.raw(postgresSql(append.rows.length), [
        append.newHead,
        append.expectedHead,
        headMetaKey(append.chain),
        AUDIT_SCOPE,
        append.keyId,
        ...rowParameters(append.rows),
      ]),
    );
    return Number(result.numAffectedRows ?? 0n) === append.rows.length;
  }
  const connection = store.sqliteConnection?.();
  if (connection !== undefined) {
    const done = appendInOneTick(connection, append);
    if (done !== undefined) return done;
  }
  return db.transaction().execute(async (trx) => {
    const moved = await trx.executeQuery(
      CompiledQuery.raw(SQLITE_MOVE_HEAD, [
        append.newHead,
        headMetaKey(append.chain),
        append.expectedHead,
        AUDIT_SCOPE,
        append.keyId,
      ]),
    );
    // Nothing written: the transaction ends without a change (committing it is a no-op).
    if (Number(moved.numAffectedRows ?? 0n) !== 1) return false;
    await trx.executeQuery(
      CompiledQuery.raw(sqliteInsertSql(append.rows.length), rowParameters(append.rows)),
    );
    return true;
  });
}

/** better-sqlite3's connection state, which Kysely's minimal interface does not name. */
type SqliteConnectionState = SqliteDatabase & { readonly inTransaction?: unknown };

/**
 * SQLite: the whole append — begin, head update, insert, commit — run
 * synchronously on the connection, in one tick of the event loop. Kysely's
 * transaction costs more than the statements themselves here, and nothing else
 * can run on the connection in between (better-sqlite3 is synchronous; no await
 * happens). Returns undefined, having done nothing, when the connection is in a
 * transaction that Kysely opened and is awaiting inside, or busy with a stream:
 * the caller then appends through Kysely, which waits for the connection.
 */
function appendInOneTick(connection: SqliteDatabase, append: CasAppend): boolean | undefined {
  const state = connection as SqliteConnectionState;
  if (typeof state.inTransaction !== 'boolean' || state.inTransaction) return undefined;
  let begun = false;
  try {
    connection.prepare('begin').run([]);
    begun = true;
  } catch (err) {
    // "This database connection is busy executing a query": a stream is open.
    if (err instanceof TypeError) return undefined;
    throw err;
  }
  try {
    const moved = connection
      .prepare(SQLITE_MOVE_HEAD)
      .run([
        append.newHead,
        headMetaKey(append.chain),
        append.expectedHead,
        AUDIT_SCOPE,
        append.keyId,
      ]);
    if (Number(moved.changes) === 1) {
      connection.prepare(sqliteInsertSql(append.rows.length)).run(rowParameters(append.rows));
    }
    connection.prepare('commit').run([]);
    begun = false;
    return Number(moved.changes) === 1;
  } finally {
    if (begun && (state.inTransaction as unknown) === true) connection.prepare('rollback').run([]);
  }
}
