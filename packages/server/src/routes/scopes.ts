/**
 * /v1/scopes: the scopes that hold secrets, with their secret counts — only
 * those the token may read (`secrets:read` on the scope), so the list never
 * reveals the names of scopes outside the token's globs. Lockbox's own
 * `lockbox:` scopes are never listed (no permission reaches them).
 *
 * Paged and searchable, so that a store with tens of thousands of per-user
 * scopes stays usable: `prefix` keeps the scopes whose names begin with it
 * (exactly, case-sensitive), `limit` (default 100, at most 1000) bounds a page,
 * and `next` is the cursor for the following page — the page's last scope,
 * passed back as `after` — or null when no readable scope follows (a following
 * page can still be empty when the scopes after a full page that ends a read-ahead
 * round are all unreadable or gone). A cursor is a scope name, not a position, so scopes
 * created or deleted between pages never make a page repeat or skip another.
 *
 * Any valid token may ask; a token without any secrets:read gets an empty list.
 * Like listing a scope's secrets, a successful listing is not audited (it shows
 * names and counts, never values); a refused request is, by auth.ts.
 */
import { can, validateScope, validateScopePrefix } from '@lockbox/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth.js';
import { responses } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const DEFAULT_LIMIT = 100;
/** Scopes read from the store per round while filling a page with readable ones. */
const READ_AHEAD = 500;

const ScopeQuery = Type.Object(
  {
    prefix: Type.Optional(
      Type.String({
        maxLength: 256,
        description: 'Only scopes whose names begin with this (case-sensitive).',
      }),
    ),
    after: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'The cursor: only scopes after this one (the `next` of the previous page).',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: DEFAULT_LIMIT })),
  },
  { additionalProperties: false },
);

const ScopeList = Type.Object({
  scopes: Type.Array(
    Type.Object({
      scope: Type.String(),
      secrets: Type.Integer({ description: 'How many secrets the scope holds.' }),
    }),
    { description: 'Scopes the token may read that hold secrets, by name.' },
  ),
  next: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `after` for the next page; null on the last page.',
  }),
});

export function scopesRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.get(
    '/scopes',
    {
      config: { auth: { action: 'scope.list', permission: null } },
      schema: {
        summary: 'List the scopes this token may read, with their secret counts (paged)',
        tags: ['secrets'],
        querystring: ScopeQuery,
        response: responses({ 200: ScopeList }),
      },
    },
    async (request) => {
      const { token } = principalOf(request);
      const prefix = validateScopePrefix(request.query.prefix ?? '');
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      let after =
        request.query.after === undefined ? undefined : validateScope(request.query.after);
      const secrets = context.readiness.require().secrets;
      const page: { scope: string; secrets: number }[] = [];
      // Scopes the token cannot read are skipped, so a page may take several rounds.
      for (;;) {
        const round = await secrets.scopes({
          prefix,
          ...(after === undefined ? {} : { after }),
          limit: READ_AHEAD,
        });
        const readable = (entry: { scope: string }) => can(token, 'secrets:read', entry.scope);
        for (const [index, entry] of round.entries()) {
          after = entry.scope;
          if (!readable(entry)) continue;
          page.push(entry);
          if (page.length < limit) continue;
          // A full page: no cursor when this round shows that nothing readable follows.
          const more = round.slice(index + 1).some(readable) || round.length === READ_AHEAD;
          return { scopes: page, next: more ? entry.scope : null };
        }
        if (round.length < READ_AHEAD) return { scopes: page, next: null };
      }
    },
  );
}
