/**
 * Whether a store is backed up, for `lockbox status`, the API and the console.
 *
 * A store is "ok" when losing its master key would not lose its secrets:
 * - a recovery recipient is set and every live data key is wrapped to it, or
 * - a complete bundle (every scope) was exported since the keys last changed
 *   (META.keysChangedAt, moved by rotation and recovery; META.lastExportAt, moved
 *   by a complete export).
 * Otherwise it is "not-backed-up", with the reasons. Read-only; no key needed.
 */
import type { Kysely } from 'kysely';
import type { LockboxSchema } from '../store/schema.js';
import { getMeta, META } from '../vault/store-meta.js';

export interface BackupState {
  state: 'ok' | 'not-backed-up';
  /** Why, in words, e.g. "no recovery recipient is set". Empty when ok. */
  reasons: string[];
  recoveryRecipient?: string;
  /** Live data keys with no recovery wrap (0 when every key is covered). */
  dataKeysWithoutRecovery: number;
  lastExportAt?: string;
  keysChangedAt?: string;
}

export async function backupState(db: Kysely<LockboxSchema>): Promise<BackupState> {
  const recipient = await getMeta(db, META.recoveryRecipient);
  const lastExportAt = await getMeta(db, META.lastExportAt);
  const keysChangedAt = await getMeta(db, META.keysChangedAt);
  const uncovered = await db
    .selectFrom('lockbox_data_keys')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where('state', '!=', 'destroyed')
    .where('wrapped_recovery', 'is', null)
    .executeTakeFirstOrThrow();
  const missing = Number(uncovered.count);
  const recoveryCovers = recipient !== undefined && missing === 0;
  const exportCurrent =
    lastExportAt !== undefined &&
    (keysChangedAt === undefined || Date.parse(lastExportAt) >= Date.parse(keysChangedAt));
  const reasons: string[] = [];
  if (!recoveryCovers && !exportCurrent) {
    if (recipient === undefined) reasons.push('no recovery recipient is set');
    else reasons.push(`${missing} data key(s) are not wrapped to the recovery recipient`);
    if (lastExportAt === undefined) reasons.push('no complete bundle has been exported');
    else reasons.push('the keys changed after the last complete export');
  }
  return {
    state: recoveryCovers || exportCurrent ? 'ok' : 'not-backed-up',
    reasons,
    ...(recipient === undefined ? {} : { recoveryRecipient: recipient }),
    dataKeysWithoutRecovery: missing,
    ...(lastExportAt === undefined ? {} : { lastExportAt }),
    ...(keysChangedAt === undefined ? {} : { keysChangedAt }),
  };
}
