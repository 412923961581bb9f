/**
 * Whether a store is backed up, for `lockbox status`, the API and the console.
 *
 * A store is "ok" when losing its master key would not lose its secrets:
 * - an authenticated recovery recipient is set and every live data key is wrapped
 *   to it, or
 * - no recovery recipient is set and a complete bundle (every scope) was exported
 *   since the keys last changed (META.keysChangedAt, moved by rotation and
 *   recovery; META.lastExportAt, moved by a complete export) and no data key of a
 *   user scope was made after that export.
 * While a recipient is set, any live data key without its recovery wrap makes the
 * store "not-backed-up" (an export does not stand in for it: the keys made after
 * it are exactly the ones it lacks). A recipient that fails its integrity check
 * counts as none. Otherwise it is "not-backed-up", with the reasons. Read-only.
 */
import type { Kysely } from 'kysely';
import {
  liveDataKeysCreatedAfter,
  liveDataKeysWithoutRecoveryWrapCount,
} from '../store/data-key-backup-rows.js';
import { getMeta } from '../store/meta-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { getAuthenticatedMeta } from '../vault/authenticated-meta.js';
import type { IntegrityKey } from '../vault/integrity-key.js';
import { META } from '../vault/store-meta.js';

export interface BackupState {
  state: 'ok' | 'not-backed-up';
  /** Why, in words, e.g. "no recovery recipient is set". Empty when ok. */
  reasons: string[];
  recoveryRecipient?: string;
  /** True when a stored recipient fails its integrity check (it is then not used). */
  recoveryRecipientBroken: boolean;
  /** Live data keys with no recovery wrap (0 when every key is covered). */
  dataKeysWithoutRecovery: number;
  lastExportAt?: string;
  keysChangedAt?: string;
}

export async function backupState(
  db: Kysely<LockboxSchema>,
  integrity: IntegrityKey,
): Promise<BackupState> {
  const stored = await getAuthenticatedMeta(db, integrity, META.recoveryRecipient);
  const recipient = stored.state === 'valid' ? stored.value : undefined;
  const lastExportAt = await getMeta(db, META.lastExportAt);
  const keysChangedAt = await getMeta(db, META.keysChangedAt);
  const missing = await liveDataKeysWithoutRecoveryWrapCount(db);
  const recoveryCovers = recipient !== undefined && missing === 0;
  const newerKeys =
    lastExportAt === undefined ? 0 : await liveDataKeysCreatedAfter(db, lastExportAt);
  const exportCurrent =
    recipient === undefined &&
    lastExportAt !== undefined &&
    newerKeys === 0 &&
    (keysChangedAt === undefined || Date.parse(lastExportAt) >= Date.parse(keysChangedAt));
  const reasons: string[] = [];
  if (!recoveryCovers && !exportCurrent) {
    if (stored.state === 'broken') {
      reasons.push('the stored recovery recipient fails its integrity check');
    } else if (recipient === undefined) reasons.push('no recovery recipient is set');
    else reasons.push(`${missing} data key(s) are not wrapped to the recovery recipient`);
    if (recipient === undefined) {
      if (lastExportAt === undefined) reasons.push('no complete bundle has been exported');
      else if (newerKeys > 0) {
        reasons.push(`${newerKeys} data key(s) were made after the last complete export`);
      } else reasons.push('the keys changed after the last complete export');
    }
  }
  return {
    state: recoveryCovers || exportCurrent ? 'ok' : 'not-backed-up',
    reasons,
    ...(recipient === undefined ? {} : { recoveryRecipient: recipient }),
    recoveryRecipientBroken: stored.state === 'broken',
    dataKeysWithoutRecovery: missing,
    ...(lastExportAt === undefined ? {} : { lastExportAt }),
    ...(keysChangedAt === undefined ? {} : { keysChangedAt }),
  };
}
