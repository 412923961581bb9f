/**
 * The two primitives the appender and the verifier share: the entry MAC, and the
 * lock that serialises appends across processes and instances.
 */
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../store/connect.js';
import type { LockboxSchema } from '../store/schema.js';
import { type ChainedFields, encodeChainedFields } from './audit-entry.js';
import { AUDIT_HEAD_META } from './audit-head.js';
import { type AuditMacKey, macHex } from './audit-keys.js';

/**
 * The PostgreSQL advisory lock id of the audit chain ("lbxaudit" as ASCII, a
 * signed 64-bit constant). Other Lockbox locks use other ids.
 */
export const AUDIT_ADVISORY_LOCK = '7809937063790537076';

/** The chain MAC of an entry (hex), over its canonical encoding including prev_hash and seq. */
export function entryHash(key: AuditMacKey, fields: ChainedFields): string {
  return macHex(key, encodeChainedFields(fields));
}

/**
 * Takes the append lock inside transaction `trx`; it is released at commit or
 * rollback. PostgreSQL: a transaction-scoped advisory lock, so appenders in other
 * instances queue here instead of colliding. SQLite: a write as the first
 * statement, which takes the database's single write lock at once (waiting up to
 * the busy timeout); reading first and writing later would instead fail with
 * SQLITE_BUSY when another writer commits in between.
 */
export async function lockAuditChain(
  trx: Kysely<LockboxSchema>,
  dialect: DialectName,
): Promise<void> {
  if (dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(${sql.raw(AUDIT_ADVISORY_LOCK)})`.execute(trx);
    return;
  }
  await trx
    .updateTable('lockbox_meta')
    .set((eb) => ({ value: eb.ref('value') }))
    .where('key', '=', AUDIT_HEAD_META)
    .execute();
}
