/**
 * Rollback of authenticated rows, detected from outside the row: the token
 * revocations and the recovery recipient the verified audit log recorded,
 * against what the tables hold now.
 *
 * A row MAC (vault/row-macs.ts) stops a database writer from forging or editing
 * a token record or the recovery recipient, but not from putting back an older
 * genuine row, MAC included, that they copied earlier: a revoked token's row as
 * it was before the revocation, or the recipient the operator replaced. The
 * audit log records every `token.revoke` (details.tokenId) and `recovery.set`
 * (details.recipient) under a key the writer does not have, so:
 *
 * - 'token-unrevoked'      a token the log recorded revoked is stored unrevoked
 * - 'recipient-rolled-back' the stored recipient is not the one the last
 *                          `recovery.set` recorded
 * - 'recipient-removed'    the log recorded a recipient and none is stored
 *
 * A snapshot restore sets the recipient it carries, so the recipient is compared
 * only when a `recovery.set` follows the last `backup.restore`. Only entries up
 * to the highest verified seq are read, and only when the whole log
 * verifies: a broken log vouches for nothing. Reports name token ids and
 * recipients (public keys), never values.
 */
import type { Kysely } from 'kysely';
import { okAuditEntriesOf } from '../store/audit-rows.js';
import { getMeta } from '../store/meta-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { unrevokedTokenIds } from '../store/token-rows.js';
import { META } from '../vault/store-meta.js';
import type { AuditVerifyResult } from './audit-verifier.js';

export type RowRollbackKind = 'token-unrevoked' | 'recipient-rolled-back' | 'recipient-removed';

export interface RowRollback {
  kind: RowRollbackKind;
  /** The token id, or the stored recipient (null when none is stored). */
  row: string | null;
  /** What the audit log recorded: 'revoked', or the recorded recipient. */
  recorded: string;
}

export interface RowStateCheck {
  /** False when the audit chain does not verify: nothing below is then meaningful. */
  auditOk: boolean;
  rollbacks: RowRollback[];
}

const PAGE = 1000;

function detail(details: string | null, field: string): string | undefined {
  if (details === null) return undefined;
  try {
    const value = (JSON.parse(details) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function checkRowStates(
  db: Kysely<LockboxSchema>,
  verified: AuditVerifyResult,
): Promise<RowStateCheck> {
  if (!verified.ok) return { auditOk: false, rollbacks: [] };
  const end = verified.throughSeq;
  const revoked = new Set<string>();
  let recipient: string | undefined;
  for (let after = 0; after < end; ) {
    const rows = await okAuditEntriesOf(
      db,
      ['token.revoke', 'recovery.set', 'backup.restore'],
      { after, through: end },
      PAGE,
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      after = Number(row.seq);
      if (row.action === 'token.revoke') {
        const id = detail(row.details, 'tokenId');
        if (id !== undefined) revoked.add(id);
      } else if (row.action === 'recovery.set') {
        recipient = detail(row.details, 'recipient') ?? recipient;
      } else {
        // A snapshot restore sets the snapshot's recipient without a recovery.set.
        recipient = undefined;
      }
    }
  }
  const rollbacks: RowRollback[] = [];
  if (revoked.size > 0) {
    for (const id of await unrevokedTokenIds(db)) {
      if (revoked.has(id))
        rollbacks.push({ kind: 'token-unrevoked', row: id, recorded: 'revoked' });
    }
  }
  if (recipient !== undefined) {
    const stored = await getMeta(db, META.recoveryRecipient);
    if (stored === undefined) {
      rollbacks.push({ kind: 'recipient-removed', row: null, recorded: recipient });
    } else if (stored !== recipient) {
      rollbacks.push({ kind: 'recipient-rolled-back', row: stored, recorded: recipient });
    }
  }
  return { auditOk: true, rollbacks };
}
