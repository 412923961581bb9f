/** Shared set-up for audit tests: lockboxes on a fresh database, raw row access, closing. */

import { type Keyring, type Lockbox, type OpenLockboxOptions, openLockbox } from '@lockbox/core';
import type { LockboxSchema } from '@lockbox/core/hazmat';
import { drivers, freshDatabase, newKeyring, type TestDatabase } from '@lockbox/test-helpers';
import { type Kysely, sql } from 'kysely';

export interface AuditTestKit {
  database: TestDatabase;
  keyring: Keyring;
  masterKey: Buffer;
  /** Opens another handle on the same database (tracked and closed by `close`). */
  open(options?: Partial<OpenLockboxOptions>): Promise<Lockbox>;
  close(): Promise<void>;
}

export async function auditTestKit(dialect: 'sqlite' | 'postgres'): Promise<AuditTestKit> {
  const database = await freshDatabase(dialect);
  const { keyring, key: masterKey } = newKeyring();
  const handles: Lockbox[] = [];
  return {
    database,
    keyring,
    masterKey,
    async open(options = {}) {
      const lockbox = await openLockbox({
        database: database.url,
        drivers,
        keyring,
        audit: true,
        ...options,
      });
      handles.push(lockbox);
      return lockbox;
    },
    async close() {
      for (const handle of handles.splice(0)) await handle.close();
      await database.drop();
    },
  };
}

/** Appends `count` entries through the public sink. */
export async function appendMany(lockbox: Lockbox, count: number, tag = 'test'): Promise<void> {
  for (let i = 0; i < count; i++) {
    await lockbox.audit.record({
      action: 'test.append',
      scope: `scope-${tag}`,
      name: `entry-${i}`,
      outcome: 'ok',
      actor: { id: `actor-${tag}`, name: 'Tester' },
      requestId: `req-${tag}-${i}`,
      details: { i },
    });
  }
}

export function db(lockbox: Lockbox): Kysely<LockboxSchema> {
  return lockbox.vault.store.db;
}

/** Every seq in the table, ascending. */
export async function seqs(lockbox: Lockbox): Promise<number[]> {
  const rows = await db(lockbox).selectFrom('lockbox_audit').select('seq').orderBy('seq').execute();
  return rows.map((r) => Number(r.seq));
}

/**
 * Adds `delta` to the seq and the chain position of every entry at or after
 * `from` (in a log of chain 0 alone, where the two are equal), as an attacker
 * closing or opening a gap would. Goes through negative values so that neither
 * dialect trips over its primary key or the unique position midway.
 */
export async function shiftSeqs(lockbox: Lockbox, from: number, delta: number): Promise<void> {
  await sql`update lockbox_audit set seq = -(seq + ${delta}), chain_seq = -(chain_seq + ${delta}) where seq >= ${from}`.execute(
    db(lockbox),
  );
  await sql`update lockbox_audit set seq = -seq, chain_seq = -chain_seq where seq < 0`.execute(
    db(lockbox),
  );
}
