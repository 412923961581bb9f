/**
 * The shapes of the /v1 answers the console reads, derived from the types
 * openapi-typescript generates from the server's OpenAPI document
 * (generated/, written by scripts/generate-api-types.mjs). The console still
 * depends on the HTTP contract only, never on server code; a route schema
 * change that no longer fits the console fails its type-check once the
 * document is regenerated, and a stale document fails
 * packages/server/test/console-api-types.test.ts.
 */
import type { components } from './generated/openapi-types.js';

type Schemas = components['schemas'];

/** GET /v1/keys */
export type KeyStatus = Schemas['KeyStatus'];
/** GET /v1/keys: census.masterKeys, one row per master key the store knows or the keyring holds. */
export type MasterKeyCensus = KeyStatus['census']['masterKeys'][number];
/** GET /v1/keys: backup, whether losing the master key would lose secrets. */
export type BackupState = KeyStatus['backup'];

/** One row of GET /v1/secrets/:scope */
export type ListedSecret = Schemas['SecretList']['secrets'][number];
export type SecretType = ListedSecret['type'];
export type Metadata = ListedSecret['metadata'];

/** GET /v1/scopes: one page, and the cursor (`after`) of the next one (null on the last page). */
export type ScopePage = Schemas['ScopeList'];
/** One entry of GET /v1/scopes: a scope the token may read, with how many secrets it holds. */
export type ScopeSummary = ScopePage['scopes'][number];

/** GET /v1/secrets/:scope/:name — the one answer that carries a value. */
export type SecretValue = Schemas['SecretValue'];

/** GET /v1/audit */
export type AuditPage = Schemas['AuditPage'];
export type AuditEntry = AuditPage['entries'][number];
/** GET /v1/audit/verify */
export type AuditVerifyResult = Schemas['AuditVerifyResult'];

/** GET /v1/tokens entries, and GET /v1/whoami's `token` (the caller's own). */
export type TokenInfo = Schemas['TokenList']['tokens'][number];
/** POST /v1/tokens (201) */
export type CreatedToken = Schemas['TokenCreated'];

/** GET /v1/rotation */
export type RotationStatus = Schemas['RotationStatus'];
/** A rotation job, as GET /v1/rotation lists it (core's RotationJob without its checkpoint). */
export type RotationJob = RotationStatus['recent'][number];
/** POST /v1/rotation/master (200) */
export type MasterRotationResult = Schemas['MasterRotationResult'];
/** POST /v1/rotation/data, and /resume of a data job (200): what the re-key did. */
export type DataRekeyResult = Schemas['DataRotationResult'];

/** GET /v1/recovery */
export type RecoveryState = Schemas['RecoveryState'];
/** PUT /v1/recovery (200) */
export type RecoveryChange = Schemas['RecoveryChange'];

/** POST /v1/backup/import/preview and /apply, as core's ImportReport. */
export type ImportReport = Schemas['ImportReport'];
export type ConflictPolicy = ImportReport['policy'];
export type ScopeImportCounts = ImportReport['scopes'][number];
