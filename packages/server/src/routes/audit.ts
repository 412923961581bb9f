/**
 * /v1/audit: page through the audit log and verify its chain (audit:read).
 *
 * Entries name who, what, which scope/name, the outcome and the request id; they
 * never hold a value or a key, so listing them is safe for anyone with
 * audit:read. Verification answers 200 either way: a broken chain is the result
 * (`ok: false`, the first broken seq and why), not a server error. Each
 * verification is itself recorded (audit.verify).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { callerOf } from '../auth.js';
import { responses, Timestamp } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const Entry = Type.Object({
  seq: Type.Integer({ description: "The entry's place in the table's order." }),
  chain: Type.Integer({ description: 'The hash chain it belongs to (0: the shared chain).' }),
  chainSeq: Nullable(Type.Integer({ description: 'Its position in that chain, from 1.' })),
  at: Timestamp,
  actorId: Nullable(Type.String()),
  actorName: Nullable(Type.String()),
  action: Type.String(),
  scope: Nullable(Type.String()),
  name: Nullable(Type.String()),
  outcome: Type.Union([Type.Literal('ok'), Type.Literal('denied'), Type.Literal('error')]),
  requestId: Nullable(Type.String()),
  details: Nullable(Type.Object({}, { additionalProperties: true })),
  keyId: Nullable(Type.String()),
  prevHash: Type.String(),
  hash: Type.String(),
});

const ListQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'Entries with seq above this.' })),
    before: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Entries with seq below this.' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    scope: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);

const Page = Type.Object({
  entries: Type.Array(Entry),
  next: Nullable(
    Type.Object({
      after: Type.Optional(Type.Integer()),
      before: Type.Optional(Type.Integer()),
    }),
  ),
});

const VerifyResult = Type.Object({
  ok: Type.Boolean(),
  entries: Type.Integer({ description: 'Entries that verified (before the break, if any).' }),
  head: Type.Optional(Nullable(Type.Object({ seq: Type.Integer(), hash: Type.String() }))),
  heads: Type.Optional(
    Type.Array(Type.Object({ chain: Type.Integer(), seq: Type.Integer(), hash: Type.String() }), {
      description: "Every chain's verified head (position and hash).",
    }),
  ),
  chain: Type.Optional(Type.Integer({ description: 'The chain of the first broken entry.' })),
  firstBroken: Type.Optional(
    Type.Integer({ description: 'The first broken (or missing) position in that chain.' }),
  ),
  reason: Type.Optional(
    Type.Union([
      Type.Literal('edited'),
      Type.Literal('deleted'),
      Type.Literal('inserted'),
      Type.Literal('reordered'),
    ]),
  ),
  message: Type.Optional(Type.String()),
});

export function auditRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const lockbox = () => context.readiness.require();

  api.get(
    '/audit',
    {
      config: { auth: { action: 'audit.list', permission: 'audit:read' } },
      schema: {
        summary: 'List audit entries, a page at a time',
        description:
          'Ascending (default): pass next.after to get the following page. Descending: pass next.before.',
        tags: ['audit'],
        querystring: ListQuery,
        response: responses({ 200: Page }),
      },
    },
    async (request) => {
      const query = request.query;
      const limit = query.limit ?? 100;
      const order = query.order ?? 'asc';
      const entries = await lockbox().audit.list({ ...query, limit, order });
      const last = entries.at(-1);
      const next =
        entries.length < limit || last === undefined
          ? null
          : order === 'asc'
            ? { after: last.seq }
            : { before: last.seq };
      return { entries, next };
    },
  );

  api.get(
    '/audit/verify',
    {
      config: { auth: { action: 'audit.verify', permission: 'audit:read' } },
      schema: {
        summary: 'Verify the audit chain; names the first edited, inserted or deleted entry',
        tags: ['audit'],
        querystring: Type.Object(
          {
            anchor: Type.Optional(
              Type.String({
                maxLength: 1024,
                description:
                  'an audit anchor (docs/format.md): the log must still hold and reach it',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: VerifyResult }),
      },
    },
    async (request) => {
      const log = lockbox().audit;
      const { anchor } = request.query;
      const result = await log.verify(anchor === undefined ? {} : { anchor });
      await log.record({
        action: 'audit.verify',
        outcome: 'ok',
        details: result.ok
          ? { ok: true, entries: result.entries }
          : {
              ok: false,
              chain: result.chain,
              firstBroken: result.firstBroken,
              reason: result.reason,
            },
        ...callerOf(request),
      });
      return result;
    },
  );
}
