/**
 * The two primitives the appender and the verifier share: the entry MAC, and the
 * lock that serialises the appends to one chain across processes and instances.
 */
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../store/connect.js';
import { lockMetaRow } from '../store/meta-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { type ChainedFields, encodeChainedFields } from './audit-entry.js';
import { headMetaKey } from './audit-head.js';
import { type AuditMacKey, macHex } from './audit-keys.js';

/**
 * The first key of an audit chain's PostgreSQL advisory lock ("LKAU"). The second
 * is a hash of the current schema (and, for chains other than 0, the chain), so
 * stores in different schemas of one database, and different chains of one
 * store, never wait for each other's appends. (Other Lockbox locks use other
 * first keys.)
 */
export const AUDIT_ADVISORY_LOCK = 0x4c4b4155;

/** The chain MAC of an entry (hex), over its canonical encoding including prev_hash and position. */
export function entryHash(key: AuditMacKey, fields: ChainedFields): string {
  return macHex(key, encodeChainedFields(fields));
}

/**
 * Takes chain `chain`'s append lock inside transaction `trx`; it is released at commit or
 * rollback. PostgreSQL: a transaction-scoped advisory lock (per schema), so
 * locked appenders in other instances queue here instead of colliding, and the
 * head row's lock (`select … for update`), which every compare-and-swap append
 * takes to move the head (an absent head has no row; then only locked appends,
 * which all take the advisory lock, can run: the fast path needs a head). SQLite: a write
 * as the first statement, which takes the database's single write lock at once
 * (waiting up to the busy timeout); reading first and writing later would instead
 * fail with SQLITE_BUSY when another writer commits in between.
 */
export async function lockAuditChain(
  trx: Kysely<LockboxSchema>,
  dialect: DialectName,
  chain = 0,
): Promise<void> {
  if (dialect === 'postgres') {
    const space =
      chain === 0 ? sql`current_schema()` : sql`current_schema() || '.' || ${String(chain)}`;
    await sql`select pg_advisory_xact_lock(${sql.lit(AUDIT_ADVISORY_LOCK)}::int4, hashtext(${space}))`.execute(
      trx,
    );
    // The head row too: the compare-and-swap append (head-cas-append.ts) takes no
    // advisory lock, only this row's lock when it moves the head, so holding it
    // here keeps it out until commit (and then its compare fails: the head moved).
  }
  await lockMetaRow(trx, dialect, headMetaKey(chain));
}
