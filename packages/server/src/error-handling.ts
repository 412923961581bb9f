/**
 * The server's error handler and not-found handler: every failure leaves as
 * `{ error: { code, message } }` with the status from error-status.ts.
 *
 * Logging: unexpected errors are logged at error level with their cause (server
 * log only); expected refusals at info level with their code only — never the
 * message of a Fastify parse error, which may quote the body.
 */
import type { ErrorCode } from '@lockbox/core';
import type { FastifyInstance } from 'fastify';
import { describeError, errorBody } from './error-reply.js';

/** Refusals that mean the store or this instance needs an operator: logged at warn. */
const NEEDS_OPERATOR: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'MASTER_KEY_RETIRED',
  'INTEGRITY_CHECK_FAILED',
  'INTEGRITY_KEY_MISSING',
  'RECOVERY_RECIPIENT_UNAUTHENTICATED',
]);

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const described = describeError(err);
    if (described.unexpected) {
      request.log.error({ err }, 'request failed');
    } else if (NEEDS_OPERATOR.has(described.body.error.code)) {
      request.log.warn(
        { code: described.body.error.code, details: (err as { details?: unknown }).details },
        'request refused: the store or this instance needs an operator',
      );
    } else {
      request.log.info({ code: described.body.error.code }, 'request refused');
    }
    return reply.status(described.status).send(described.body);
  });

  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send(errorBody('NOT_FOUND', 'no such route')),
  );
}
