/**
 * The server's error handler and not-found handler: every failure leaves as
 * `{ error: { code, message } }` with the status from error-status.ts.
 *
 * Logging: unexpected errors are logged at error level with their cause (server
 * log only); expected refusals at info level with their code only — never the
 * message of a Fastify parse error, which may quote the body.
 */
import type { FastifyInstance } from 'fastify';
import { describeError, errorBody } from './error-reply.js';

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const described = describeError(err);
    if (described.unexpected) {
      request.log.error({ err }, 'request failed');
    } else {
      request.log.info({ code: described.body.error.code }, 'request refused');
    }
    return reply.status(described.status).send(described.body);
  });

  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send(errorBody('NOT_FOUND', 'no such route')),
  );
}
