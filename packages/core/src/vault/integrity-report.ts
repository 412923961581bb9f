/**
 * Which security-relevant rows fail their integrity check, for `status`, `doctor`
 * and `/readyz`: the table and the row id only, never a value. Read-only; the
 * integrity key is the one the handle opened. Cost grows with the number of
 * tokens, fields and master-key records (small tables), not with secrets.
 */
import type { Keyring } from '../keys/keyring.js';
import type { Executor } from '../store/executor.js';
import { allFieldRows } from '../store/field-rows.js';
import { allTokens } from '../store/token-rows.js';
import { getAuthenticatedMeta } from './authenticated-meta.js';
import type { IntegrityKey } from './integrity-key.js';
import { inspectKeys } from './key-check.js';
import { readMasterKeyRecords } from './master-key-records.js';
import { FIELD_MAC, MASTER_KEY_MAC, META_MAC, rowVerifies, TOKEN_MAC } from './row-macs.js';
import { META } from './store-meta.js';

export interface IntegrityBreak {
  table: string;
  /** The row's id (token id, table.column, fingerprint, meta key). */
  rowId: string;
}

export interface IntegrityReport {
  /** Rows that fail their check, in table then id order. */
  breaks: IntegrityBreak[];
  /** This instance's primary master key, as the store's authenticated record has it. */
  primary: { fingerprint: string; state: 'active' | 'retired' | 'unrecorded' };
  /** Master keys that live data keys are wrapped under and this keyring lacks. */
  missingKeys: string[];
}

export async function integrityReport(
  db: Executor,
  integrity: IntegrityKey,
  keyring: Keyring,
): Promise<IntegrityReport> {
  const breaks: IntegrityBreak[] = [];
  const masters = await readMasterKeyRecords(db, integrity);
  for (const fingerprint of masters.broken)
    breaks.push({ table: MASTER_KEY_MAC.table, rowId: fingerprint });
  const tokens = await allTokens(db, 'id');
  for (const row of tokens) {
    if (!rowVerifies(integrity, TOKEN_MAC, row, row.mac)) {
      breaks.push({ table: TOKEN_MAC.table, rowId: TOKEN_MAC.rowId(row) });
    }
  }
  const fields = await allFieldRows(db);
  for (const row of fields) {
    if (!rowVerifies(integrity, FIELD_MAC, row, row.mac)) {
      breaks.push({ table: FIELD_MAC.table, rowId: FIELD_MAC.rowId(row) });
    }
  }
  const recipient = await getAuthenticatedMeta(db, integrity, META.recoveryRecipient);
  if (recipient.state === 'broken') {
    breaks.push({ table: META_MAC.table, rowId: META.recoveryRecipient });
  }
  const fingerprint = keyring.primary.fingerprint;
  const record = masters.valid.find((r) => r.fingerprint === fingerprint);
  const keys = await inspectKeys(db, keyring);
  return {
    breaks: breaks.sort((a, b) => a.table.localeCompare(b.table)),
    primary: { fingerprint, state: record?.state ?? 'unrecorded' },
    missingKeys: keys.needed.filter((n) => !n.inKeyring).map((n) => n.fingerprint),
  };
}

/**
 * Why this instance should not serve, or [] when it may: its primary master key
 * is retired in the store (another instance rotated; it would fail to make data
 * keys), data keys made since are under a master key it lacks, or
 * security-relevant rows fail their check.
 */
export function readinessProblems(report: IntegrityReport): { code: string; message: string }[] {
  const problems: { code: string; message: string }[] = [];
  if (report.missingKeys.length > 0) {
    problems.push({
      code: 'KEY_NOT_IN_KEYRING',
      message: `stored data keys need master key ${report.missingKeys.join(', ')}, which this instance's keyring lacks`,
    });
  }
  if (report.primary.state === 'retired') {
    problems.push({
      code: 'MASTER_KEY_RETIRED',
      message: `this instance's primary master key ${report.primary.fingerprint} is retired in the store; restart it with the new primary key`,
    });
  }
  if (report.breaks.length > 0) {
    const listed = report.breaks
      .slice(0, 10)
      .map((b) => `${b.table} ${b.rowId}`)
      .join(', ');
    problems.push({
      code: 'INTEGRITY_CHECK_FAILED',
      message: `${report.breaks.length} row(s) fail their integrity check (${listed}${report.breaks.length > 10 ? ', …' : ''}); run lockbox doctor`,
    });
  }
  return problems;
}
