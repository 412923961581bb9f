/**
 * Rollback detection from outside the row: each secret's stored version against
 * the versions the verified audit log saw written.
 *
 * A ciphertext put back under a newer version fails to decrypt (lb2:), but a
 * database writer can put back an older row whole — ciphertext, version and
 * created_at together — and that row is self-consistent. The audit log records
 * the version of every secret write (`secret.set` details), MACed under a key the
 * writer does not have, so the row is compared with it:
 *
 * - 'rolled-back'  the row's version is below the highest version recorded since
 *                  the secret's last recorded delete
 * - 'resurrected'  the last record is a delete, yet the row exists
 * - 'vanished'     a write is recorded after any delete, yet the row is missing
 * - 'ahead'        the row's version is above every version recorded (a write
 *                  whose audit append failed, or one made with auditing off):
 *                  a warning, since a rollback never raises a version
 *
 * A bulk write (import, snapshot restore) records no per-secret versions: after
 * one, 'resurrected' and 'ahead' are not reported for rows it may have written.
 * Only entries up to the highest verified seq are read, and only when the whole log
 * verifies: a broken log vouches for nothing. Reports name scope/name and
 * versions, never values. Memory grows with the number of secrets named in the log.
 */
import type { Kysely } from 'kysely';
import { okAuditEntriesOf } from '../store/audit-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { secretVersionsAfter } from '../store/secret-rows.js';
import type { AuditVerifyResult } from './audit-verifier.js';

export type VersionMismatchKind = 'rolled-back' | 'resurrected' | 'vanished' | 'ahead';

export interface VersionMismatch {
  kind: VersionMismatchKind;
  scope: string;
  name: string;
  /** The row's version (null when the row is missing). */
  stored: number | null;
  /** The highest version the log recorded for it since its last delete (null: none). */
  audited: number | null;
}

export interface SecretVersionCheck {
  /** False when the audit chain does not verify: nothing below is then meaningful. */
  auditOk: boolean;
  /** Secrets compared with a recorded version. */
  compared: number;
  /** Secrets the log has no record of (written with auditing off, or before records carried versions). */
  unrecorded: number;
  /** Counts of each kind. */
  counts: Record<VersionMismatchKind, number>;
  /** The first MAX_LISTED mismatches, errors before warnings. */
  mismatches: VersionMismatch[];
}

const MAX_LISTED = 50;
const PAGE = 1000;
/** Actions that write many secrets with one entry. */
const BULK_ACTIONS = new Set(['backup.import', 'backup.restore']);

interface SecretRecord {
  /** The highest version recorded since the last delete, or null. */
  version: number | null;
  /** The last per-secret event: a write or a delete. */
  last: 'set' | 'delete';
  /** Seq of the last per-secret event. */
  seq: number;
}

const pair = (scope: string, name: string) => `${scope}\u0000${name}`;

export async function checkSecretVersions(
  db: Kysely<LockboxSchema>,
  verified: AuditVerifyResult,
): Promise<SecretVersionCheck> {
  const counts: Record<VersionMismatchKind, number> = {
    'rolled-back': 0,
    resurrected: 0,
    vanished: 0,
    ahead: 0,
  };
  const result: SecretVersionCheck = {
    auditOk: verified.ok,
    compared: 0,
    unrecorded: 0,
    counts,
    mismatches: [],
  };
  if (!verified.ok) return result;
  const end = verified.throughSeq;
  const records = new Map<string, SecretRecord>();
  let lastBulk = 0;
  for (let after = 0; after < end; ) {
    const rows = await okAuditEntriesOf(
      db,
      ['secret.set', 'secret.delete', ...BULK_ACTIONS],
      { after, through: end },
      PAGE,
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = Number(row.seq);
      after = seq;
      if (BULK_ACTIONS.has(row.action)) {
        lastBulk = seq;
        continue;
      }
      if (row.scope === null || row.name === null) continue;
      const key = pair(row.scope, row.name);
      if (row.action === 'secret.delete') {
        records.set(key, { version: null, last: 'delete', seq });
        continue;
      }
      const version = recordedVersion(row.details);
      if (version === undefined) continue;
      const known = records.get(key);
      const highest = known?.last === 'set' && known.version !== null ? known.version : 0;
      records.set(key, { version: Math.max(highest, version), last: 'set', seq });
    }
  }
  const found: VersionMismatch[] = [];
  const report = (m: VersionMismatch) => {
    counts[m.kind] += 1;
    found.push(m);
  };
  const seen = new Set<string>();
  let cursor: [string, string] | null = null;
  for (;;) {
    const rows = await secretVersionsAfter(db, cursor, PAGE);
    for (const row of rows) {
      const key = pair(row.scope, row.name);
      seen.add(key);
      const stored = Number(row.version);
      const record = records.get(key);
      if (record === undefined) {
        result.unrecorded += 1;
        continue;
      }
      result.compared += 1;
      const base = { scope: row.scope, name: row.name, stored, audited: record.version };
      if (record.last === 'delete') {
        if (lastBulk < record.seq) report({ ...base, kind: 'resurrected' });
      } else if (record.version !== null && stored < record.version) {
        report({ ...base, kind: 'rolled-back' });
      } else if (record.version !== null && stored > record.version && lastBulk < record.seq) {
        report({ ...base, kind: 'ahead' });
      }
    }
    if (rows.length < PAGE) break;
    const last = rows[rows.length - 1]!;
    cursor = [last.scope, last.name];
  }
  for (const [key, record] of records) {
    if (record.last !== 'set' || seen.has(key)) continue;
    const [scope = '', name = ''] = key.split('\u0000');
    report({ kind: 'vanished', scope, name, stored: null, audited: record.version });
  }
  const order: Record<VersionMismatchKind, number> = {
    'rolled-back': 0,
    resurrected: 1,
    vanished: 2,
    ahead: 3,
  };
  result.mismatches = found.sort((a, b) => order[a.kind] - order[b.kind]).slice(0, MAX_LISTED);
  return result;
}

/** The version a `secret.set` entry recorded, or undefined for entries from before versions were recorded. */
function recordedVersion(details: string | null): number | undefined {
  if (details === null) return undefined;
  try {
    const version = (JSON.parse(details) as { version?: unknown }).version;
    return typeof version === 'number' && Number.isSafeInteger(version) && version >= 1
      ? version
      : undefined;
  } catch {
    return undefined;
  }
}
