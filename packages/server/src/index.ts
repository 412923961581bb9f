/**
 * @lockbox/server — the Lockbox HTTP API (Fastify), as explicit named exports.
 */

export {
  type AuditAnchorOptions,
  AuditAnchorWriter,
  DEFAULT_ANCHOR_INTERVAL_MS,
  writeFileAtomically,
} from './audit-anchor-writer.js';
export { bearerToken, type Principal, type RouteAuth } from './auth.js';
export { AuthFailureAudit, type AuthFailureAuditOptions } from './auth-failure-audit.js';
export {
  AuthFailureLimiter,
  type AuthRateLimitOptions,
} from './auth-failure-limiter.js';
export {
  type BuildServerOptions,
  buildServer,
  DEFAULT_BODY_LIMIT,
  DEFAULT_IMPORT_BODY_LIMIT,
  type LockboxServer,
  type TlsFiles,
} from './build-server.js';
export { describeError, type ErrorBody, errorBody } from './error-reply.js';
export { ERROR_STATUS, statusFor } from './error-status.js';
export { CREDENTIAL_HEADERS, createLogger, type LoggerOptions } from './logger.js';
export type { KeyConfigurationChange, MasterRotationHook } from './master-rotation-hook.js';
export { Readiness, type ReadinessState } from './readiness.js';
export type { ServerContext, ServerLockbox } from './server-context.js';
export {
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type RunningServer,
  type StartServerOptions,
  startServer,
} from './start-server.js';
