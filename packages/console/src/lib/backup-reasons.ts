/**
 * Why a store is not backed up, as message keys the console words itself (the
 * server's own `reasons` are English text). Mirrors core's backupState: the store
 * is at risk unless a recovery key covers every data key or a complete bundle
 * was exported since the keys last changed — so both ways out are named.
 */
import type { BackupState } from '../api/api-types.js';
import type { MessageKey } from '../i18n/messages.js';

export interface BackupReason {
  key: MessageKey;
  /** For overview.backupUncovered: data keys without a recovery wrap. */
  count?: number;
}

/** No reasons when the state is ok; otherwise one about recovery and one about exports. */
export function backupReasons(backup: BackupState): BackupReason[] {
  if (backup.state === 'ok') return [];
  const reasons: BackupReason[] = [];
  if (backup.recoveryRecipient === undefined) reasons.push({ key: 'overview.backupNoRecovery' });
  else reasons.push({ key: 'overview.backupUncovered', count: backup.dataKeysWithoutRecovery });
  if (backup.lastExportAt === undefined) reasons.push({ key: 'overview.backupNoExport' });
  else reasons.push({ key: 'overview.backupStaleExport' });
  return reasons;
}
