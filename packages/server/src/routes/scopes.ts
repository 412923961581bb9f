/**
 * /v1/scopes: the scopes that hold secrets, with their secret counts — only
 * those the token may read (`secrets:read` on the scope), so the list never
 * reveals the names of scopes outside the token's globs. Lockbox's own
 * `lockbox:` scopes are never listed (no permission reaches them).
 *
 * Any valid token may ask; a token without any secrets:read gets an empty list.
 * Like listing a scope's secrets, a successful listing is not audited (it shows
 * names and counts, never values); a refused request is, by auth.ts.
 */
import { can } from '@lockbox/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth.js';
import { responses } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const ScopeList = Type.Object({
  scopes: Type.Array(
    Type.Object({
      scope: Type.String(),
      secrets: Type.Integer({ description: 'How many secrets the scope holds.' }),
    }),
    { description: 'Scopes the token may read that hold secrets, by name.' },
  ),
});

export function scopesRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.get(
    '/scopes',
    {
      config: { auth: { action: 'scope.list', permission: null } },
      schema: {
        summary: 'List the scopes this token may read, with their secret counts',
        tags: ['secrets'],
        response: responses({ 200: ScopeList }),
      },
    },
    async (request) => {
      const { token } = principalOf(request);
      const scopes = await context.readiness.require().secrets.scopes();
      return { scopes: scopes.filter((s) => can(token, 'secrets:read', s.scope)) };
    },
  );
}
