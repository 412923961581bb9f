/**
 * Bearer-token authentication and per-route permission checks.
 *
 * A route opts in by naming, in its config, the audit action it performs and the
 * permission it needs (`config: { auth: { action, permission } }`); routes
 * without it (health, readiness, the OpenAPI document, the console) are public.
 *
 * - onRequest: refuse a rate-limited client (RATE_LIMITED, Retry-After), then
 *   verify `Authorization: Bearer <token>` with lockbox.tokens — from memory for
 *   `tokenCacheMs` after a database verification (tokens/verified-token-cache.ts:
 *   the revocation bound), so keep-alive clients cost no token read per request. A missing or
 *   invalid token is AUTH_MISSING / AUTH_INVALID (401), counts against the
 *   client's and the global failure limits (over the global one it is answered
 *   RATE_LIMITED instead) and is audited as denied — one by one up to a bound
 *   per window, then counted into one summary entry (auth-failure-audit.ts).
 *   The body has not been read yet, so an unauthenticated client cannot make
 *   the server parse an upload.
 * - preHandler (after validation, so the scope is a checked value): the
 *   permission check — on the route's `:scope` for secret permissions, on its
 *   `:table.:column` for field permissions. A refusal
 *   is PERMISSION_DENIED (403), audited as denied with the token's id and name.
 *   Routes whose permission is null take any valid token and have no such check.
 *
 * Audit entries for refusals name the action, the scope and name when known,
 * the error code and the permission — never the token text.
 */
import { type Actor, can, LockboxError, type PermissionName, type TokenInfo } from '@lockbox/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerContext, ServerLockbox } from './server-context.js';

export interface RouteAuth {
  /** The audit action of this route ("secret.read", "token.create", ...), named on refusals too. */
  action: string;
  /**
   * The permission the token needs (or any one of a list); secret permissions are
   * checked on the route's `:scope` param, field permissions on `:table` and
   * `:column` (as `table.column`). `null`: any valid token — for routes
   * that answer only with what the token itself may see (whoami, the scope list).
   */
  permission: PermissionName | readonly PermissionName[] | null;
  /**
   * For a route that acts on several scopes named in its body (POST /v1/env): the
   * scopes, read from the validated request. The permission must hold on every one;
   * the first that fails is the refusal's scope.
   */
  scopes?: (request: FastifyRequest) => readonly string[];
}

export interface Principal {
  token: TokenInfo;
  /** How audit entries and `updated_by` name the caller. */
  actor: Actor;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/** The token text from an Authorization header, or undefined when there is no bearer token. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1];
}

/** The principal of an authenticated route's request (set by the onRequest hook). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) {
    throw new LockboxError('INTERNAL', 'route handler ran without authentication');
  }
  return request.principal;
}

/** Actor and request id, as lockbox calls take them. */
export function callerOf(request: FastifyRequest): { actor: Actor; requestId: string } {
  return { actor: principalOf(request).actor, requestId: request.id };
}

/** What a route's permission is checked on: its scope or, for field routes, `table.column`. */
interface Target {
  scope?: string;
  name?: string;
  field?: string;
}

function paramsOf(request: FastifyRequest): Target {
  const params = request.params as Record<string, unknown> | undefined;
  return {
    ...(typeof params?.scope === 'string' ? { scope: params.scope } : {}),
    ...(typeof params?.name === 'string' ? { name: params.name } : {}),
    ...(typeof params?.table === 'string' && typeof params.column === 'string'
      ? { field: `${params.table}.${params.column}` }
      : {}),
  };
}

function isFieldPermission(permission: PermissionName): boolean {
  return permission === 'fields:encrypt' || permission === 'fields:decrypt';
}

/** Records a refused request; a failure to audit is logged and does not change the refusal. */
export async function auditDenied(
  lockbox: ServerLockbox,
  request: FastifyRequest,
  auth: RouteAuth,
  code: string,
  target: Target,
): Promise<void> {
  try {
    await lockbox.audit.record({
      action: auth.action,
      scope: target.scope ?? null,
      name: target.name ?? null,
      outcome: 'denied',
      details: {
        code,
        permission: auth.permission,
        ...(target.field === undefined ? {} : { field: target.field }),
      },
      ...(request.principal === null ? {} : { actor: request.principal.actor }),
      requestId: request.id,
    });
  } catch (err) {
    request.log.error({ err }, 'could not audit a refused request');
  }
}

export function installAuth(app: FastifyInstance, context: ServerContext): void {
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (request, reply) => {
    const auth = request.routeOptions.config.auth;
    if (auth === undefined) return;
    const lockbox = context.readiness.require();
    const client = request.ip;
    const retryAfter = context.limiter?.retryAfter(client) ?? 0;
    if (retryAfter > 0) {
      reply.header('retry-after', String(retryAfter));
      throw new LockboxError(
        'RATE_LIMITED',
        `too many failed authentication attempts; try again in ${retryAfter} s`,
      );
    }
    const text = bearerToken(request.headers.authorization);
    try {
      if (text === undefined) {
        throw new LockboxError('AUTH_MISSING', 'send Authorization: Bearer <token>');
      }
      const token = await lockbox.tokens.verify(text, { cacheMs: context.tokenCacheMs });
      request.principal = { token, actor: { id: token.id, name: token.name } };
    } catch (err) {
      if (
        err instanceof LockboxError &&
        (err.code === 'AUTH_MISSING' || err.code === 'AUTH_INVALID')
      ) {
        context.limiter?.fail(client);
        // Unauthenticated input is not echoed into the audit log: no scope or name.
        const listed = await context.failureAudit.note(lockbox, err.code).catch((e: unknown) => {
          request.log.error({ err: e }, 'could not audit a refused request');
          return false;
        });
        if (listed) await auditDenied(lockbox, request, auth, err.code, {});
        const globalRetry = context.limiter?.globalRetryAfter() ?? 0;
        if (globalRetry > 0) {
          reply.header('retry-after', String(globalRetry));
          throw new LockboxError(
            'RATE_LIMITED',
            `too many failed authentication attempts on this server; try again in ${globalRetry} s`,
            { cause: err },
          );
        }
      }
      throw err;
    }
  });

  app.addHook('preHandler', async (request) => {
    const auth = request.routeOptions.config.auth;
    if (auth === undefined) return;
    const principal = principalOf(request);
    if (auth.permission === null) return;
    const needed = typeof auth.permission === 'string' ? [auth.permission] : auth.permission;
    const allowedOn = (target: Target) =>
      needed.some((permission) =>
        can(
          principal.token,
          permission,
          isFieldPermission(permission) ? target.field : target.scope,
        ),
      );
    let target = paramsOf(request);
    let allowed: boolean;
    if (auth.scopes === undefined) {
      allowed = allowedOn(target);
    } else {
      const scopes = auth.scopes(request);
      const refused = scopes.find((scope) => !allowedOn({ scope }));
      if (refused !== undefined) target = { scope: refused };
      // No scope named: nothing to grant on (the route's schema also requires one).
      allowed = refused === undefined && scopes.length > 0;
    }
    if (!allowed) {
      await auditDenied(context.readiness.require(), request, auth, 'PERMISSION_DENIED', target);
      const on =
        target.field !== undefined
          ? ` on field "${target.field}"`
          : target.scope !== undefined
            ? ` on scope "${target.scope}"`
            : '';
      throw new LockboxError('PERMISSION_DENIED', `this token lacks ${needed.join(' or ')}${on}`, {
        details: { permission: needed, ...target },
      });
    }
  });
}
