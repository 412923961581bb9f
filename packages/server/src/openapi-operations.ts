/**
 * What the OpenAPI document says about each route beyond its schemas: a stable
 * operationId (the name generated clients give the call) and the error codes the
 * route itself can answer with. The codes every authenticated route can answer
 * (authentication, permission, rate limit, validation, readiness, internal) are
 * added by openapi.ts.
 *
 * Keyed by `METHOD /url` as Fastify registers it. Every route in the document must
 * be here: openapi.ts refuses to build a document with a route it does not know,
 * so a new route cannot ship without its operationId.
 */
import type { ErrorCode } from '@lockbox/core';

export interface OperationDoc {
  operationId: string;
  /** Route-specific error codes, beyond the common ones. */
  errors: readonly ErrorCode[];
  /**
   * Component names for the JSON request body and success response, for routes
   * whose schemas carry no `title` of their own (a titled schema keeps its title).
   */
  request?: string;
  response?: string;
}

const SECRET_NAME: ErrorCode[] = ['SCOPE_INVALID', 'NAME_INVALID', 'TEXT_INVALID'];
const UNREADABLE: ErrorCode[] = [
  'SECRET_UNDECRYPTABLE',
  'DATA_KEY_NOT_FOUND',
  'DATA_KEY_UNDECRYPTABLE',
  'KEY_NOT_IN_KEYRING',
];
const KEYS: ErrorCode[] = ['KEY_INVALID_LENGTH', 'KEY_INVALID_ENCODING', 'KEY_MISSING'];
const BUNDLE: ErrorCode[] = [
  'BUNDLE_DECRYPT_FAILED',
  'BUNDLE_MALFORMED',
  'BUNDLE_VERSION_UNSUPPORTED',
  'BUNDLE_DUPLICATE_RECORD',
  'BUNDLE_RECORD_UNSUPPORTED',
  'BUNDLE_TOO_LARGE',
  'BUNDLE_TOO_EXPENSIVE',
  'IMPORT_BUSY',
  'RECOVERY_IDENTITY_INVALID',
];
const ROTATION: ErrorCode[] = [
  'ROTATION_IN_PROGRESS',
  'ROTATION_FIRST_ROW_FAILED',
  'DATA_KEY_UNDECRYPTABLE',
  'STORE_FLUSH_FAILED',
];

export const OPERATIONS: Readonly<Record<string, OperationDoc>> = {
  // Public; during shutdown every request is refused with NOT_READY.
  'GET /healthz': { operationId: 'getHealth', errors: ['NOT_READY'] },
  'GET /readyz': { operationId: 'getReadiness', errors: ['NOT_READY'] },
  'GET /v1/openapi.json': { operationId: 'getOpenApiDocument', errors: ['NOT_READY'] },
  'GET /v1/secrets/:scope': { operationId: 'listSecrets', errors: ['SCOPE_INVALID'] },
  'GET /v1/secrets/:scope/:name': {
    operationId: 'readSecret',
    errors: ['SECRET_NOT_FOUND', ...SECRET_NAME, ...UNREADABLE],
  },
  'PUT /v1/secrets/:scope/:name': {
    operationId: 'putSecret',
    errors: [
      'VERSION_CONFLICT',
      'VALUE_TOO_LARGE',
      'METADATA_INVALID',
      ...SECRET_NAME,
      ...UNREADABLE,
    ],
  },
  'DELETE /v1/secrets/:scope/:name': {
    operationId: 'deleteSecret',
    errors: ['SECRET_NOT_FOUND', ...SECRET_NAME],
  },
  'GET /v1/scopes': {
    operationId: 'listScopes',
    errors: ['SCOPE_INVALID', 'TEXT_INVALID'],
    response: 'ScopeList',
  },
  'POST /v1/env': {
    operationId: 'readEnvironment',
    errors: [
      'SECRET_NOT_FOUND',
      'ENV_NAME_INVALID',
      'ENV_COLLISION',
      'INVALID_ARGUMENT',
      ...SECRET_NAME,
      ...UNREADABLE,
    ],
  },
  'POST /v1/fields/:table/:column/encrypt': {
    operationId: 'encryptFields',
    errors: ['FIELD_NOT_REGISTERED', 'FIELD_INVALID', 'DATA_KEY_UNDECRYPTABLE'],
  },
  'POST /v1/fields/:table/:column/decrypt': {
    operationId: 'decryptFields',
    errors: ['FIELD_NOT_REGISTERED', 'FIELD_INVALID'],
  },
  'GET /v1/keys': { operationId: 'getKeyStatus', errors: [], response: 'KeyStatus' },
  'POST /v1/rotation/master': {
    operationId: 'rotateMasterKey',
    request: 'MasterRotationRequest',
    response: 'MasterRotationResult',
    errors: ['ROTATION_OLD_KEY_MISMATCH', 'KEY_SAME_AS_OLD', ...KEYS, ...ROTATION],
  },
  'POST /v1/rotation/data': {
    operationId: 'rekeyData',
    errors: ROTATION,
    request: 'DataRotationRequest',
    response: 'DataRotationResult',
  },
  'POST /v1/rotation/resume': {
    operationId: 'resumeRotation',
    request: 'RotationResumeRequest',
    response: 'RotationResult',
    errors: [
      'ROTATION_NOT_FOUND',
      'ROTATION_OLD_KEY_MISMATCH',
      'KEY_SAME_AS_OLD',
      ...KEYS,
      ...ROTATION,
    ],
  },
  'POST /v1/rotation/abandon': {
    operationId: 'abandonRotation',
    request: 'RotationAbandonRequest',
    response: 'RotationAbandoned',
    errors: ['ROTATION_NOT_FOUND', 'ROTATION_IN_PROGRESS', 'STORE_FLUSH_FAILED'],
  },
  'GET /v1/recovery': {
    operationId: 'getRecovery',
    response: 'RecoveryState',
    errors: [],
  },
  'PUT /v1/recovery': {
    operationId: 'setRecoveryRecipient',
    request: 'RecoveryRequest',
    response: 'RecoveryChange',
    errors: [
      'RECIPIENT_INVALID',
      'INVALID_ARGUMENT',
      'RECOVERY_NOT_CONFIGURED',
      'RECOVERY_RECIPIENT_UNAUTHENTICATED',
      ...UNREADABLE,
      ...ROTATION,
    ],
  },
  'GET /v1/rotation': {
    operationId: 'getRotationStatus',
    errors: [],
    response: 'RotationStatus',
  },
  'POST /v1/backup/export': {
    operationId: 'exportBundle',
    request: 'ExportRequest',
    errors: ['RECIPIENT_INVALID', 'SCOPE_INVALID', 'INVALID_ARGUMENT', ...UNREADABLE],
  },
  'POST /v1/backup/import/preview': {
    operationId: 'previewImport',
    errors: BUNDLE,
    response: 'ImportReport',
  },
  'POST /v1/backup/import/apply': {
    operationId: 'applyImport',
    response: 'ImportReport',
    errors: ['IMPORT_CONFLICT', 'STORE_FLUSH_FAILED', ...BUNDLE],
  },
  'GET /v1/audit': { operationId: 'listAuditEntries', errors: [], response: 'AuditPage' },
  'GET /v1/audit/verify': {
    operationId: 'verifyAuditLog',
    errors: [],
    response: 'AuditVerifyResult',
  },
  'POST /v1/tokens': {
    operationId: 'createToken',
    request: 'TokenCreateRequest',
    response: 'TokenCreated',
    errors: ['INVALID_ARGUMENT', 'NAME_INVALID'],
  },
  'GET /v1/tokens': { operationId: 'listTokens', errors: [], response: 'TokenList' },
  'GET /v1/whoami': { operationId: 'whoami', errors: [], response: 'TokenRecord' },
  'DELETE /v1/tokens/:id': {
    operationId: 'revokeToken',
    errors: ['TOKEN_NOT_FOUND', 'STORE_FLUSH_FAILED'],
    response: 'TokenRecord',
  },
};
