/**
 * The tables Lockbox keeps, as Kysely sees them.
 *
 * Every table is prefixed `lockbox_` because Lockbox lives in the application's
 * own database: registered fields sit in the application's tables, and an atomic
 * rotation must update both in one transaction. Timestamps are ISO-8601 text so
 * that both dialects store and sort them alike.
 */
import type { Generated } from 'kysely';

export interface MetaTable {
  key: string;
  value: string;
}

/** Master keys this store has been told about (never the keys, only fingerprints). */
export interface MasterKeyTable {
  fingerprint: string;
  /** 'active' while data keys may be wrapped under it, 'retired' once none are. */
  state: 'active' | 'retired';
  created_at: string;
  retired_at: string | null;
  /** MAC under the integrity key (migration 0003; see vault/row-macs.ts). */
  mac: string | null;
}

export type DataKeyState = 'active' | 'retiring' | 'destroyed';

export interface DataKeyTable {
  /** 16 hex characters, random; written into every ciphertext made with this key. */
  id: string;
  scope: string;
  version: number;
  /** lbk1: envelope under a master key; null once destroyed. */
  wrapped: string | null;
  /** Fingerprint of the master key in `wrapped` (kept for census and rotation). */
  master_fingerprint: string | null;
  /** The data key wrapped to the recovery recipient (armored age), when one is set. */
  wrapped_recovery: string | null;
  state: DataKeyState;
  created_at: string;
  updated_at: string;
}

export type ValueType = 'utf8' | 'bytes';

export interface SecretTable {
  scope: string;
  name: string;
  /** Increments on every write; callers use it for compare-and-swap. */
  version: number;
  value_type: ValueType;
  ciphertext: string;
  data_key_id: string;
  /** Non-secret JSON the caller attached (description, owner); never encrypted, never secret. */
  metadata: string | null;
  created_at: string;
  updated_at: string;
  updated_by: string | null;
}

export interface FieldTable {
  table_name: string;
  column_name: string;
  primary_key: string;
  /** The scope whose data key encrypts this field. */
  scope: string;
  created_at: string;
  /** MAC under the integrity key (migration 0003; see vault/row-macs.ts). */
  mac: string | null;
}

export interface RotationJobTable {
  id: string;
  kind: 'master' | 'data';
  mode: 'online' | 'atomic';
  state: 'running' | 'done' | 'failed';
  from_fingerprint: string | null;
  to_fingerprint: string | null;
  /** JSON: where a rerun resumes. */
  checkpoint: string | null;
  /** JSON: counts so far. */
  totals: string | null;
  started_by: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
  /** Why the job stopped, for people: "CODE: message" (never secret). */
  error: string | null;
  /** The stable error code of that stop (ERROR_CODES), or null. */
  error_code: string | null;
}

export interface LockTable {
  name: string;
  holder: string;
  acquired_at: string;
  heartbeat_at: string;
}

export interface AuditTable {
  /** The table-wide order, assigned by the database on insert (migration 0005). */
  seq: Generated<number>;
  /** The hash chain the entry belongs to (audit/audit-chains.ts); 0 for the shared chain. */
  chain: number;
  /** The entry's position in its chain, from 1; what the chain MAC covers (null only if edited). */
  chain_seq: number | null;
  at: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  scope: string | null;
  name: string | null;
  outcome: 'ok' | 'denied' | 'error';
  request_id: string | null;
  /** JSON of non-secret facts (counts, fingerprints, error codes). */
  details: string | null;
  prev_hash: string;
  hash: string;
  /** Id of the "lockbox:audit" data key whose derived MAC key made `hash` (migration 0002). */
  key_id: string | null;
}

export interface TokenTable {
  id: string;
  name: string;
  /** Hash of the token secret; the token itself is shown once and never stored. */
  hash: string;
  /** JSON array of permission strings. */
  permissions: string;
  created_at: string;
  created_by: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  /** MAC under the integrity key (migration 0003; see vault/row-macs.ts). */
  mac: string | null;
}

export interface LockboxSchema {
  lockbox_meta: MetaTable;
  lockbox_master_keys: MasterKeyTable;
  lockbox_data_keys: DataKeyTable;
  lockbox_secrets: SecretTable;
  lockbox_fields: FieldTable;
  lockbox_rotation_jobs: RotationJobTable;
  lockbox_locks: LockTable;
  lockbox_audit: AuditTable;
  lockbox_tokens: TokenTable;
}
