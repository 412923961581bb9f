/**
 * /v1/tokens: create, list and revoke API tokens (admin); /v1/whoami: the
 * caller's own token (any valid token), so a client can learn its permissions.
 *
 * The token text is in the creation response and nowhere else: Lockbox stores
 * only its hash, and create/revoke are audited (by core's Tokens) with the token
 * id, name and permissions. A token can only grant what its creator holds, so an
 * admin token cannot mint a keys:rotate token — rotation stays a separately held
 * power. The first admin token comes from `lockbox token create` (local access to
 * the store and key). whoami is a read of the caller's own record and is not
 * audited (a refused request is, by auth.ts).
 */
import { can, LockboxError, PERMISSION_NAMES, type PermissionName } from '@lockbox/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { auditDenied, callerOf, principalOf, type RouteAuth } from '../auth.js';
import { NameParam, responses, Timestamp } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  permissions: Type.Array(Type.String()),
  createdAt: Timestamp,
  createdBy: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});

const CreateBody = Type.Object(
  {
    name: NameParam,
    permissions: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), {
      minItems: 1,
      maxItems: 64,
      description: `Permission strings: ${PERMISSION_NAMES.join(', ')}; secrets:read and secrets:write take :<scope-glob>.`,
    }),
  },
  { additionalProperties: false },
);

const Created = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'The bearer token. Shown once; Lockbox keeps only its hash.' }),
  info: TokenInfo,
});

const CREATE: RouteAuth = { action: 'token.create', permission: 'admin' };

/**
 * The plain (unscoped) permission a permission string names, if any. Secret
 * permissions are left out: the creator is an admin, and admin covers every
 * user scope.
 */
function plainPermission(permission: string): PermissionName | undefined {
  if (permission.startsWith('secrets:')) return undefined;
  return PERMISSION_NAMES.find((name) => permission === name);
}

export function tokensRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const lockbox = () => context.readiness.require();

  api.post(
    '/tokens',
    {
      config: { auth: CREATE },
      schema: {
        summary: 'Create a token (the token text is returned once)',
        tags: ['tokens'],
        body: CreateBody,
        response: responses({ 201: Created }),
      },
    },
    async (request, reply) => {
      const creator = principalOf(request).token;
      // Secret permissions are covered by admin; of the plain ones only keys:rotate is not.
      const beyond = request.body.permissions
        .map(plainPermission)
        .filter((p): p is PermissionName => p !== undefined && !can(creator, p));
      if (beyond.length > 0) {
        await auditDenied(lockbox(), request, CREATE, 'PERMISSION_DENIED', {});
        throw new LockboxError(
          'PERMISSION_DENIED',
          `a token can only grant permissions its creator holds; this token lacks ${beyond.join(', ')}`,
          { details: { permission: beyond } },
        );
      }
      const { actor, requestId } = callerOf(request);
      const created = await lockbox().tokens.create({
        name: request.body.name,
        permissions: request.body.permissions,
        createdBy: actor,
        requestId,
      });
      return reply.status(201).send(created);
    },
  );

  api.get(
    '/tokens',
    {
      config: { auth: { action: 'token.list', permission: 'admin' } },
      schema: {
        summary: 'List tokens (never the token text or its hash)',
        tags: ['tokens'],
        response: responses({ 200: Type.Object({ tokens: Type.Array(TokenInfo) }) }),
      },
    },
    async () => ({ tokens: await lockbox().tokens.list() }),
  );

  api.get(
    '/whoami',
    {
      config: { auth: { action: 'token.whoami', permission: null } },
      schema: {
        summary: "The calling token's record: id, name, permissions (never the token or its hash)",
        tags: ['tokens'],
        response: responses({ 200: Type.Object({ token: TokenInfo }) }),
      },
    },
    async (request) => ({ token: principalOf(request).token }),
  );

  api.delete(
    '/tokens/:id',
    {
      config: { auth: { action: 'token.revoke', permission: 'admin' } },
      schema: {
        summary: 'Revoke a token',
        tags: ['tokens'],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: responses({ 200: Type.Object({ token: TokenInfo }) }),
      },
    },
    async (request) => ({
      token: await lockbox().tokens.revoke(request.params.id, callerOf(request)),
    }),
  );
}
