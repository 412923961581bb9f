/**
 * What the route groups share: the lockbox (once ready), the failed-auth limiter
 * and the limits. Passed explicitly to each route group instead of decorating
 * the Fastify instance, so a route's dependencies are visible in its signature.
 */
import type { Lockbox } from '@lockbox/core';
import type { AuthFailureAudit } from './auth-failure-audit.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { ImportGate } from './import-gate.js';
import type { MasterRotationHook } from './master-rotation-hook.js';
import type { Readiness } from './readiness.js';

/** The parts of a Lockbox the server uses. */
export type ServerLockbox = Pick<
  Lockbox,
  | 'secrets'
  | 'fields'
  | 'audit'
  | 'tokens'
  | 'rotation'
  | 'backup'
  | 'recovery'
  | 'status'
  | 'readinessProblems'
  | 'close'
>;

export interface ServerContext {
  readonly readiness: Readiness<ServerLockbox>;
  readonly limiter: AuthFailureLimiter | undefined;
  /** Bounds the audit entries unauthenticated failures add per window. */
  readonly failureAudit: AuthFailureAudit;
  /** Body limit for import uploads (the age bundle), in bytes. */
  readonly importBodyLimit: number;
  /** Keeps the key configuration in step with master rotations, when the embedder gives one. */
  readonly masterRotationHook: MasterRotationHook | undefined;
  /** How many bundles may be read at once (import preview and apply). */
  readonly importGate: ImportGate;
  /** How long a verified token is accepted from memory (ms; 0: never). */
  readonly tokenCacheMs: number;
}
