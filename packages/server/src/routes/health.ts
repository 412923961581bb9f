/**
 * /healthz and /readyz, for process supervisors and load balancers. Public (no
 * token) and outside /v1 on purpose: probes must not need credentials, and they
 * say nothing beyond the state and, when the open failed, its error code.
 *
 * - /healthz: the process is up and serving HTTP (always 200 while it is).
 * - /readyz: 200 once the lockbox has opened — which includes the startup key
 *   check, the proof that the keyring opens the stored data keys — and 503
 *   (NOT_READY) while it is opening, after the open failed, during shutdown, and
 *   while this instance lacks what the store needs: its primary master key was
 *   retired by another instance's rotation (MASTER_KEY_RETIRED), or rows fail
 *   their integrity check (INTEGRITY_CHECK_FAILED). Those are checked on every
 *   probe (a few small queries) and named (code: reason) in the message.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../error-reply.js';
import { ErrorRef } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

export function healthRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process is up',
        tags: ['health'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  api.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the lockbox is open and its startup key check passed',
        tags: ['health'],
        response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: ErrorRef },
      },
    },
    async (_request, reply) => {
      const { state, failure, value } = context.readiness;
      if (state === 'ready' && value !== undefined) {
        const problems = await value.readinessProblems();
        if (problems.length === 0) return { status: 'ready' as const };
        return reply
          .status(503)
          .send(
            errorBody(
              'NOT_READY',
              `this instance lacks what the store needs: ${problems.map((p) => `${p.code}: ${p.message}`).join('; ')}`,
            ),
          );
      }
      const why =
        state === 'starting'
          ? 'the lockbox is still opening'
          : state === 'closing'
            ? 'the server is shutting down'
            : `the lockbox failed to open (${failure?.code ?? 'INTERNAL'})`;
      return reply.status(503).send(errorBody('NOT_READY', why));
    },
  );
}
