/**
 * Before a data re-key writes anything: prove the configured keyring opens every
 * data key that is to be retired, decrypt the first secret and the first row of
 * each registered field with them, and count the work. Read-only; any failure is
 * ROTATION_FIRST_ROW_FAILED naming the key or row, and nothing was changed.
 */
import { parseCiphertext } from '../crypto/ciphertext.js';
import { isLockboxError, LockboxError } from '../errors.js';
import { dataKeyState, liveUserDataKeysAfter } from '../store/data-key-rows.js';
import { liveUserDataKeyCounts } from '../store/data-key-state-rows.js';
import {
  countSecretsOnLiveUserKeys,
  firstSecretOnLiveUserKey,
} from '../store/secret-row-counts.js';
import { isUserScope } from '../store/user-scope-filter.js';
import type { Vault } from '../vault/lockbox.js';
import { type FieldTable, type KeyValues, keyObject } from './field-table.js';

export interface RekeyPlan {
  /** Live data keys of user scopes: they will be retired and destroyed. */
  dataKeys: number;
  scopes: number;
  /** Secrets encrypted under those keys. */
  secrets: number;
  /** "lb1:" rows per field ("table.column"), all examined. */
  fieldRows: Record<string, number>;
  /** secrets + field rows. */
  rows: number;
}

const PROBE_BATCH = 1000;

function refused(what: string, err: unknown, details: Record<string, unknown>): LockboxError {
  const reason = isLockboxError(err) ? err.code : 'INTERNAL';
  return new LockboxError(
    'ROTATION_FIRST_ROW_FAILED',
    `${what} cannot be decrypted with the configured keys (${reason}); nothing was changed; run \`lockbox doctor\``,
    { cause: err, details: { ...details, reason } },
  );
}

async function proveDataKeys(vault: Vault): Promise<void> {
  const db = vault.store.db;
  let after: string | null = null;
  for (;;) {
    const rows = await liveUserDataKeysAfter(db, isUserScope, after, PROBE_BATCH);
    for (const row of rows) {
      try {
        vault.dataKeys.unwrapRow(row);
      } catch (err) {
        throw refused(`data key ${row.id} of scope "${row.scope}"`, err, {
          dataKeyId: row.id,
          scope: row.scope,
        });
      }
    }
    if (rows.length < PROBE_BATCH) return;
    after = rows[rows.length - 1]!.id;
  }
}

async function proveFirstSecret(vault: Vault): Promise<void> {
  const first = await firstSecretOnLiveUserKey(vault.store.db);
  if (first === undefined) return;
  try {
    (await vault.secrets.decryptRow(first)).fill(0);
  } catch (err) {
    throw refused(`the first secret "${first.scope}/${first.name}"`, err, {
      scope: first.scope,
      name: first.name,
    });
  }
}

/** Decrypts the field's first "lb1:" row whose data key is live (rows on destroyed keys are skipped). */
async function proveFirstFieldRow(vault: Vault, table: FieldTable): Promise<void> {
  const db = vault.store.db;
  let after: KeyValues | null = null;
  for (;;) {
    const rows = await table.readBatch(db, 'lockbox', after, PROBE_BATCH);
    for (const row of rows) {
      let keyId: string;
      try {
        keyId = parseCiphertext(row.value).keyId;
      } catch {
        continue;
      }
      const state = await dataKeyState(db, keyId);
      if (state === undefined || state === 'destroyed') continue;
      const { table: name, column } = table.field;
      try {
        (await vault.fields.decryptBytes(name, column, keyObject(table, row.key), row.value)).fill(
          0,
        );
      } catch (err) {
        throw refused(`the first row of ${table.label} (row ${table.describe(row.key)})`, err, {
          table: name,
          column,
          rowId: table.describe(row.key),
        });
      }
      return;
    }
    if (rows.length < PROBE_BATCH) return;
    after = rows[rows.length - 1]!.key;
  }
}

export async function planDataRekey(
  vault: Vault,
  fields: readonly FieldTable[],
): Promise<RekeyPlan> {
  const db = vault.store.db;
  await proveDataKeys(vault);
  await proveFirstSecret(vault);
  for (const table of fields) await proveFirstFieldRow(vault, table);
  const keys = await liveUserDataKeyCounts(db, isUserScope);
  const secrets = await countSecretsOnLiveUserKeys(db);
  const fieldRows: Record<string, number> = {};
  for (const table of fields) fieldRows[table.label] = await table.count(db, 'lockbox');
  const rows = secrets + Object.values(fieldRows).reduce((a, b) => a + b, 0);
  return { ...keys, secrets, fieldRows, rows };
}
