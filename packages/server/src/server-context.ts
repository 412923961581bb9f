/**
 * What the route groups share: the lockbox (once ready), the failed-auth limiter
 * and the limits. Passed explicitly to each route group instead of decorating
 * the Fastify instance, so a route's dependencies are visible in its signature.
 */
import type { Lockbox } from '@lockbox/core';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { ImportGate } from './import-gate.js';
import type { Readiness } from './readiness.js';

/** The parts of a Lockbox the server uses. */
export type ServerLockbox = Pick<
  Lockbox,
  'secrets' | 'audit' | 'tokens' | 'rotation' | 'backup' | 'status' | 'close'
>;

export interface ServerContext {
  readonly readiness: Readiness<ServerLockbox>;
  readonly limiter: AuthFailureLimiter | undefined;
  /** Body limit for import uploads (the age bundle), in bytes. */
  readonly importBodyLimit: number;
  /** How many bundles may be read at once (import preview and apply). */
  readonly importGate: ImportGate;
}
