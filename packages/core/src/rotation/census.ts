/**
 * The census: which master keys and data keys the stored ciphertexts need, so an
 * operator knows what can be dropped and what is at risk. Read-only.
 *
 * Counted: live data keys per master-key fingerprint; secrets and every
 * registered field's rows per master key (through their data key); per field,
 * the rows still in plaintext, Fernet or `v2:` form; rows the configured keyring
 * cannot open (their data key is destroyed or missing, or wrapped under a master
 * key not in the keyring — or, with `verify`, any row that fails to decrypt).
 * A previous key is droppable when no live data key is wrapped under it.
 */
import type { Kysely } from 'kysely';
import { AUDIT_SCOPE } from '../audit/audit-keys.js';
import { CIPHERTEXT_TAG, parseCiphertext } from '../crypto/ciphertext.js';
import { detectLegacyFormat } from '../crypto/legacy/detect-legacy-format.js';
import { isLockboxError } from '../errors.js';
import { dataKeyStatesByIds } from '../store/data-key-rows.js';
import { dataKeyCensus } from '../store/data-key-state-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { countSecretsPerMasterKey, countSecretsTagged } from '../store/secret-row-counts.js';
import { secretRowsAfter } from '../store/secret-rows.js';
import { isUserScope } from '../store/user-scope-filter.js';
import type { Vault } from '../vault/lockbox.js';
import { readMasterKeyRecords } from '../vault/master-key-records.js';
import { FieldTable, type KeyValues, keyObject } from './field-table.js';

type Db = Kysely<LockboxSchema>;

export interface CensusOptions {
  /** Decrypt every secret and field row instead of checking keys only (slower). */
  verify?: boolean;
  batchSize?: number;
}

export interface MasterKeyCensus {
  fingerprint: string;
  /** As lockbox_master_keys records it (null: never recorded, seen only on data keys). */
  recorded: 'active' | 'retired' | null;
  primary: boolean;
  inKeyring: boolean;
  /** Live (not destroyed) data keys wrapped under it. */
  dataKeys: number;
  secrets: number;
  fieldRows: number;
  /** True while any live data key is wrapped under it: it must stay in the keyring. */
  needed: boolean;
}

export interface FieldCensus {
  table: string;
  column: string;
  scope: string;
  /** Non-null values. */
  rows: number;
  lockbox: number;
  plaintext: number;
  fernet: number;
  v2: number;
  /** Values tagged as another Lockbox format (e.g. a newer version) this version cannot read. */
  otherLockboxFormat: number;
  /** "lb1:" rows the configured keys cannot open. */
  unreadable: number;
  /** "lb1:" rows whose data key is retiring (a re-key is unfinished). */
  onRetiringKeys: number;
  byMasterKey: Record<string, number>;
  /** The row-key columns. */
  primaryKey: readonly string[];
  /**
   * Why the field cannot be rotated or adopted (FIELD_KEY_UNSUITABLE: its key is
   * not a real key of the table), else null. Its rows are then not counted.
   */
  keyProblem: { code: string; message: string } | null;
}

export interface Census {
  primary: string;
  keyring: string[];
  masterKeys: MasterKeyCensus[];
  /** Data keys of user scopes by state (Lockbox's own keys are not counted here). */
  dataKeys: { active: number; retiring: number; destroyed: number };
  /** The audit log's MAC keys: the active one, and those a data re-key retired (verify-only). */
  auditKeys: { active: number; verifyOnly: number };
  secrets: {
    total: number;
    byMasterKey: Record<string, number>;
    onRetiringKeys: number;
    unreadable: number;
    /** Unreadable secrets by reason code (DATA_KEY_DESTROYED, DATA_KEY_NOT_FOUND, KEY_NOT_IN_KEYRING, …). */
    unreadableByReason: Record<string, number>;
    /** Secrets still "lb1:" (written before format 2: not bound to their version); a data re-key moves them. */
    versionless: number;
  };
  fields: FieldCensus[];
  /** Previous keys in the keyring that no live data key needs: safe to drop. */
  droppable: string[];
  /** Master keys live data keys need that the keyring lacks. */
  missing: string[];
  verified: boolean;
}

interface DataKeyInfo {
  state: string;
  master: string | null;
}

function bump(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

/** Why a ciphertext on this data key cannot be opened, or undefined when it can (structurally). */
function structuralReason(info: DataKeyInfo | undefined, vault: Vault): string | undefined {
  if (info === undefined) return 'DATA_KEY_NOT_FOUND';
  if (info.state === 'destroyed') return 'DATA_KEY_DESTROYED';
  if (info.master === null || !vault.keyring.has(info.master)) return 'KEY_NOT_IN_KEYRING';
  return undefined;
}

async function dataKeyInfo(db: Db, ids: readonly string[]): Promise<Map<string, DataKeyInfo>> {
  const result = new Map<string, DataKeyInfo>();
  if (ids.length === 0) return result;
  const rows = await dataKeyStatesByIds(db, ids);
  for (const row of rows) result.set(row.id, { state: row.state, master: row.master_fingerprint });
  return result;
}

async function secretsCensus(vault: Vault, verify: boolean, batchSize: number) {
  const db = vault.store.db;
  const grouped = await countSecretsPerMasterKey(db);
  const out: Census['secrets'] = {
    total: 0,
    byMasterKey: {},
    onRetiringKeys: 0,
    unreadable: 0,
    unreadableByReason: {},
    versionless: 0,
  };
  out.versionless = await countSecretsTagged(db, CIPHERTEXT_TAG);
  for (const row of grouped) {
    const n = row.secrets;
    out.total += n;
    const info = row.state === null ? undefined : { state: row.state, master: row.master };
    if (row.master !== null && row.state !== 'destroyed') bump(out.byMasterKey, row.master, n);
    if (row.state === 'retiring') out.onRetiringKeys += n;
    const reason = structuralReason(info, vault);
    if (!verify && reason !== undefined) {
      out.unreadable += n;
      bump(out.unreadableByReason, reason, n);
    }
  }
  if (verify) {
    let after: [string, string] | null = null;
    for (;;) {
      const rows = await secretRowsAfter(db, { after, limit: batchSize });
      for (const row of rows) {
        try {
          (await vault.secrets.decryptRow(row)).fill(0);
        } catch (err) {
          if (!isLockboxError(err)) throw err;
          out.unreadable += 1;
          bump(out.unreadableByReason, String(err.details.reason ?? err.code));
        }
      }
      if (rows.length < batchSize) break;
      const last = rows[rows.length - 1]!;
      after = [last.scope, last.name];
    }
  }
  return out;
}

async function fieldCensus(
  vault: Vault,
  table: FieldTable,
  verify: boolean,
  batchSize: number,
): Promise<FieldCensus> {
  const db = vault.store.db;
  const { table: name, column, scope } = table.field;
  const out: FieldCensus = {
    table: name,
    column,
    scope,
    rows: 0,
    lockbox: 0,
    plaintext: 0,
    fernet: 0,
    v2: 0,
    otherLockboxFormat: 0,
    unreadable: 0,
    onRetiringKeys: 0,
    byMasterKey: {},
    primaryKey: table.field.primaryKey,
    keyProblem: null,
  };
  try {
    await table.prepare(db);
  } catch (err) {
    if (!isLockboxError(err) || err.code !== 'FIELD_KEY_UNSUITABLE') throw err;
    out.keyProblem = { code: err.code, message: err.message };
    return out;
  }
  const keys = new Map<string, DataKeyInfo | undefined>();
  let after: KeyValues | null = null;
  for (;;) {
    const rows = await table.readBatch(db, 'all', after, batchSize);
    const parsed = rows.map((row) => {
      if (!row.value.startsWith('lb1:')) return undefined;
      try {
        return parseCiphertext(row.value);
      } catch {
        return null;
      }
    });
    const unknown = [...new Set(parsed.flatMap((p) => (p ? [p.keyId] : []))).values()].filter(
      (id) => !keys.has(id),
    );
    const found = await dataKeyInfo(db, unknown);
    for (const id of unknown) keys.set(id, found.get(id));
    for (const [i, row] of rows.entries()) {
      out.rows += 1;
      const envelope = parsed[i];
      if (envelope === undefined) {
        const format = detectLegacyFormat(row.value);
        if (format === 'lockbox') out.otherLockboxFormat += 1;
        else out[format] += 1;
        continue;
      }
      out.lockbox += 1;
      if (envelope === null) {
        out.unreadable += 1;
        continue;
      }
      const info = keys.get(envelope.keyId);
      if (info !== undefined && info.state !== 'destroyed' && info.master !== null) {
        bump(out.byMasterKey, info.master);
      }
      if (info?.state === 'retiring') out.onRetiringKeys += 1;
      if (verify) {
        try {
          (
            await vault.fields.decryptBytes(name, column, keyObject(table, row.key), row.value)
          ).fill(0);
        } catch (err) {
          if (!isLockboxError(err)) throw err;
          out.unreadable += 1;
        }
      } else if (structuralReason(info, vault) !== undefined) {
        out.unreadable += 1;
      }
    }
    if (rows.length < batchSize) return out;
    after = rows[rows.length - 1]!.key;
    // Field rows reference few data keys; forget them between batches only if many.
    if (keys.size > 100_000) keys.clear();
  }
}

export async function census(vault: Vault, options: CensusOptions = {}): Promise<Census> {
  const db = vault.store.db;
  const verify = options.verify === true;
  const batchSize = options.batchSize ?? 2000;
  const keyring = vault.keyring;
  const states = await dataKeyCensus(db, isUserScope, AUDIT_SCOPE);
  const dataKeys = { active: 0, retiring: 0, destroyed: 0 };
  const auditKeys = { active: 0, verifyOnly: 0 };
  const wrapping = new Map<string, number>();
  for (const row of states) {
    const n = Number(row.n);
    if (row.kind === 'user') dataKeys[row.state] += n;
    else if (row.kind === 'audit' && row.state === 'active') auditKeys.active += n;
    else if (row.kind === 'audit' && row.state === 'retiring') auditKeys.verifyOnly += n;
    if (row.state !== 'destroyed' && row.master_fingerprint !== null) {
      wrapping.set(row.master_fingerprint, (wrapping.get(row.master_fingerprint) ?? 0) + n);
    }
  }
  const secrets = await secretsCensus(vault, verify, batchSize);
  const fields: FieldCensus[] = [];
  for (const registration of await vault.fields.list()) {
    const table = new FieldTable(registration, vault.store.dialect);
    fields.push(await fieldCensus(vault, table, verify, batchSize));
  }
  // Only authenticated records count; a forged one is reported by integrity checks.
  const recorded = new Map(
    (await readMasterKeyRecords(db, vault.dataKeys.integrity)).valid.map((r) => [
      r.fingerprint,
      r.state,
    ]),
  );
  const fingerprints = new Set([...recorded.keys(), ...wrapping.keys(), ...keyring.fingerprints()]);
  const masterKeys: MasterKeyCensus[] = [...fingerprints].sort().map((fingerprint) => {
    const count = wrapping.get(fingerprint) ?? 0;
    return {
      fingerprint,
      recorded: recorded.get(fingerprint) ?? null,
      primary: fingerprint === keyring.primary.fingerprint,
      inKeyring: keyring.has(fingerprint),
      dataKeys: count,
      secrets: secrets.byMasterKey[fingerprint] ?? 0,
      fieldRows: fields.reduce((sum, f) => sum + (f.byMasterKey[fingerprint] ?? 0), 0),
      needed: count > 0,
    };
  });
  return {
    primary: keyring.primary.fingerprint,
    keyring: keyring.fingerprints(),
    masterKeys,
    dataKeys,
    auditKeys,
    secrets,
    fields,
    droppable: keyring.previous.map((k) => k.fingerprint).filter((f) => !wrapping.has(f)),
    missing: masterKeys.filter((k) => k.needed && !k.inKeyring).map((k) => k.fingerprint),
    verified: verify,
  };
}
