/**
 * The shapes of the /v1 answers the console reads, as the server's route
 * schemas (packages/server/src/routes/*.ts) declare them. Kept by hand: the
 * console depends on the HTTP contract only, never on server code.
 */

/** GET /v1/keys: census.masterKeys, one row per master key the store knows or the keyring holds. */
export interface MasterKeyCensus {
  fingerprint: string;
  /** As the store records it (null: seen only on data keys). */
  recorded: 'active' | 'retired' | null;
  primary: boolean;
  inKeyring: boolean;
  dataKeys: number;
  secrets: number;
  fieldRows: number;
  /** Live data keys need it: it must stay in the keyring. */
  needed: boolean;
}

/** GET /v1/keys: backup, whether losing the master key would lose secrets. */
export interface BackupState {
  state: 'ok' | 'not-backed-up';
  /** The server's reasons, in English; the console words its own from the fields below. */
  reasons: string[];
  recoveryRecipient?: string;
  dataKeysWithoutRecovery: number;
  lastExportAt?: string;
  keysChangedAt?: string;
}

/** GET /v1/keys */
export interface KeyStatus {
  primary: string;
  previous: string[];
  needed: { fingerprint: string; dataKeys: number; inKeyring: boolean }[];
  unusedPreviousKeys: string[];
  totals: { secrets: number; scopes: number; dataKeys: number };
  undecryptable: {
    dataKeyId: string;
    scope: string;
    secrets: number;
    code: string;
    message: string;
  }[];
  schemaVersion: number;
  census: {
    masterKeys: MasterKeyCensus[];
    dataKeys: { active: number; retiring: number; destroyed: number };
    secrets: {
      total: number;
      onRetiringKeys: number;
      unreadable: number;
      unreadableByReason: Record<string, number>;
    };
    /** Registered fields, one entry per table column, with their rows. */
    fields: { table: string; column: string; scope: string; rows: number }[];
    droppable: string[];
    missing: string[];
  };
  backup: BackupState;
}

export type SecretType = 'utf8' | 'bytes';
export type Metadata = Record<string, unknown> | null;

/** One row of GET /v1/secrets/:scope */
export interface ListedSecret {
  name: string;
  version: number;
  type: SecretType;
  metadata: Metadata;
  createdAt: string;
  updatedAt: string;
  updatedBy: string | null;
  status: 'ok' | 'undecryptable';
  error?: { code: string; message: string };
}

/** One entry of GET /v1/scopes: a scope the token may read, with how many secrets it holds. */
export interface ScopeSummary {
  scope: string;
  secrets: number;
}

/** GET /v1/scopes: one page, and the cursor (`after`) of the next one (null on the last page). */
export interface ScopePage {
  scopes: ScopeSummary[];
  next: string | null;
}

/** GET /v1/secrets/:scope/:name — the one answer that carries a value. */
export interface SecretValue {
  scope: string;
  name: string;
  version: number;
  type: SecretType;
  metadata: Metadata;
  createdAt: string;
  updatedAt: string;
  updatedBy: string | null;
  encoding: 'utf8' | 'base64';
  value: string;
}

/** GET /v1/audit entries */
export interface AuditEntry {
  seq: number;
  at: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  scope: string | null;
  name: string | null;
  outcome: 'ok' | 'denied' | 'error';
  requestId: string | null;
  details: Record<string, unknown> | null;
  keyId: string | null;
  prevHash: string;
  hash: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  next: { after?: number; before?: number } | null;
}

/** GET /v1/audit/verify */
export interface AuditVerifyResult {
  ok: boolean;
  entries: number;
  head?: { seq: number; hash: string } | null;
  firstBroken?: number;
  reason?: 'edited' | 'deleted' | 'inserted' | 'reordered';
  message?: string;
}

/** GET /v1/tokens entries, and GET /v1/whoami's `token` (the caller's own). */
export interface TokenInfo {
  id: string;
  name: string;
  permissions: string[];
  createdAt: string;
  createdBy: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** POST /v1/tokens (201) */
export interface CreatedToken {
  id: string;
  token: string;
  info: TokenInfo;
}

/** A rotation job, as GET /v1/rotation lists it (core's RotationJob without its checkpoint). */
export interface RotationJob {
  id: string;
  kind: 'master' | 'data';
  mode: 'online' | 'atomic';
  state: 'running' | 'done' | 'failed';
  from: string | null;
  to: string | null;
  /** master: { planned, rewrapped } data keys; data: { plannedRows, secrets, fields, ... }. */
  totals: Record<string, unknown>;
  startedBy: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  error: string | null;
  errorCode: string | null;
}

/** GET /v1/rotation */
export interface RotationStatus {
  lock: { holder: string; since: string; heartbeatAt: string; live: boolean } | null;
  /** The job that has not finished: running now, or interrupted and waiting to be resumed. */
  unfinished: RotationJob | null;
  recent: RotationJob[];
}

/** POST /v1/rotation/master (200) */
export interface MasterRotationResult {
  kind: 'master';
  jobId: string | null;
  dryRun: boolean;
  mode: 'online' | 'atomic';
  modeReason: string;
  resumed: boolean;
  durationMs: number;
  from: string;
  to: string;
  dataKeys: { planned: number; rewrapped: number; remaining: number };
  oldKeyRetired: boolean;
}

/** POST /v1/rotation/data, and /resume of a data job (200): what the re-key did. */
export interface DataRekeyResult {
  kind: 'data';
  jobId: string | null;
  dryRun: boolean;
  mode: 'online' | 'atomic';
  resumed: boolean;
  durationMs: number;
  scopes: number;
  dataKeys: {
    retired: number;
    created: number;
    destroyed: number;
    retained: number;
    deferred: number;
  };
  /** When the old data keys of field scopes, kept for their grace, may be destroyed. */
  deferredUntil: string | null;
  secrets: number;
  rows: number;
  unreadable: number;
}

/** GET /v1/recovery */
export interface RecoveryState {
  state: 'absent' | 'set' | 'broken';
  recipient: string | null;
  dataKeys: number;
  missing: number;
}

/** PUT /v1/recovery (200) */
export interface RecoveryChange {
  recipient: string;
  previous: string | null;
  rewrapped: number;
  dataKeys: number;
}

export type ConflictPolicy = 'skip' | 'overwrite' | 'fail';

export interface ScopeImportCounts {
  scope: string;
  create: number;
  overwrite: number;
  unchanged: number;
  conflict: number;
}

/** POST /v1/backup/import/preview and /apply, as core's ImportReport. */
export interface ImportReport {
  mode: 'preview' | 'apply';
  policy: ConflictPolicy;
  bundle: {
    version: number;
    createdAt?: string;
    sourceFingerprint?: string;
    storeId?: string;
    scopes?: string[];
    records: number;
  };
  totals: Omit<ScopeImportCounts, 'scope'>;
  scopes: ScopeImportCounts[];
  conflicts: {
    scope: string;
    name: string;
    reason: 'newer-in-target' | 'undecryptable-in-target';
  }[];
  conflictsTruncated: boolean;
  /** fieldValues: field values written (bundle version 2; the console does not show them yet). */
  writes: { create: number; overwrite: number; fieldValues?: number };
}
