/**
 * A store's status: keys and fingerprints, secrets per scope, schema version and
 * the rows the configured keys cannot open. Never includes a value or a key.
 */
import type { Kysely } from 'kysely';
import { LockboxError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import { liveDataKeyCount } from '../store/data-key-state-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { countSecretsPerDataKey } from '../store/secret-row-counts.js';
import type { DataKeys } from './data-keys.js';
import { type IntegrityReport, integrityReport } from './integrity-report.js';
import { inspectKeys, type KeyCheck } from './key-check.js';

export interface UndecryptableGroup {
  dataKeyId: string;
  scope: string;
  secrets: number;
  code: string;
  message: string;
}

export interface VaultStatus {
  schemaVersion: number;
  keys: KeyCheck & { previous: string[] };
  scopes: { scope: string; secrets: number }[];
  totals: { secrets: number; scopes: number; dataKeys: number };
  /** Secrets whose data key the configured keyring cannot open, grouped by data key. */
  undecryptable: UndecryptableGroup[];
  /** Security-relevant rows that fail their integrity check, and the primary's record. */
  integrity: IntegrityReport;
}

export async function vaultStatus(
  db: Kysely<LockboxSchema>,
  keyring: Keyring,
  dataKeys: DataKeys,
  schemaVersion: number,
): Promise<VaultStatus> {
  const keys = await inspectKeys(db, keyring);
  const byKey = await countSecretsPerDataKey(db);
  const scopeCounts = new Map<string, number>();
  const undecryptable: UndecryptableGroup[] = [];
  for (const row of byKey) {
    const count = row.secrets;
    scopeCounts.set(row.scope, (scopeCounts.get(row.scope) ?? 0) + count);
    try {
      await dataKeys.open(row.dataKeyId);
    } catch (err) {
      if (!(err instanceof LockboxError)) throw err;
      undecryptable.push({
        dataKeyId: row.dataKeyId,
        scope: row.scope,
        secrets: count,
        code: err.code,
        message: err.message,
      });
    }
  }
  const dataKeyCount = await liveDataKeyCount(db);
  const scopes = [...scopeCounts].map(([scope, secrets]) => ({ scope, secrets }));
  return {
    schemaVersion,
    keys: { ...keys, previous: keyring.previous.map((k) => k.fingerprint) },
    scopes,
    totals: {
      secrets: scopes.reduce((sum, s) => sum + s.secrets, 0),
      scopes: scopes.length,
      dataKeys: dataKeyCount,
    },
    undecryptable,
    integrity: await integrityReport(db, dataKeys.integrity, keyring),
  };
}
