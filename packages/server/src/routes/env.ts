/**
 * POST /v1/env: the secrets of one or more scopes as environment variables, in
 * one request — what `lockbox run --server` and `lockbox env --server` inject.
 *
 * The same core code as a local `lockbox run` decides everything (planSecretsEnv,
 * readEnvPlan, auditInjection): variable names, collisions between scopes, `only`
 * names that no scope holds, and one `env.inject` audit entry per scope naming
 * the secrets and variables (never a value), with the token as actor. Each value
 * read is also a `secret.read` entry, as it is locally. Collisions with the
 * caller's own environment are the caller's to check: the server never sees it.
 *
 * The token needs `secrets:read` on every scope named; the check is made (by
 * auth.ts) before anything is read, and a refusal names the first scope refused.
 */
import { auditInjection, planSecretsEnv, readEnvPlan } from '@lockbox/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerOf } from '../auth.js';
import { NameParam, responses, ScopeValue } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

/** Scopes per request (`lockbox run --scope` repeated). */
export const MAX_ENV_SCOPES = 32;

const EnvBody = Type.Object(
  {
    scopes: Type.Array(ScopeValue, {
      minItems: 1,
      maxItems: MAX_ENV_SCOPES,
      description: 'Scopes to read, in order (as `--scope`).',
    }),
    only: Type.Optional(
      Type.Array(NameParam, {
        maxItems: 1000,
        description: 'Only these secret names (as `--only`).',
      }),
    ),
    client: Type.Optional(
      Type.Object(
        {
          command: Type.Union([Type.Literal('run'), Type.Literal('env')]),
          program: Type.Optional(Type.String({ maxLength: 256 })),
          masked: Type.Optional(Type.Boolean()),
          format: Type.Optional(
            Type.Union([Type.Literal('dotenv'), Type.Literal('shell'), Type.Literal('json')]),
          ),
          destination: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('file')])),
        },
        {
          additionalProperties: false,
          description:
            'What the caller does with the variables, recorded in the env.inject audit entries (non-secret).',
        },
      ),
    ),
  },
  { additionalProperties: false, title: 'EnvRequest' },
);

const EnvResult = Type.Object(
  {
    variables: Type.Array(
      Type.Object({
        variable: Type.String({ description: 'The environment variable name.' }),
        scope: Type.String(),
        name: Type.String({ description: 'The secret name it comes from.' }),
        value: Type.String({ description: 'The secret value (UTF-8).' }),
      }),
      { description: 'One entry per variable, in the order of the scopes and their names.' },
    ),
  },
  { title: 'EnvResult', description: 'The variables, with their values.' },
);

function scopesOf(request: FastifyRequest): readonly string[] {
  const body = request.body as Partial<Static<typeof EnvBody>> | undefined;
  return Array.isArray(body?.scopes) ? body.scopes : [];
}

export function envRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.post(
    '/env',
    {
      config: { auth: { action: 'env.inject', permission: 'secrets:read', scopes: scopesOf } },
      schema: {
        summary: "Read scopes' secrets as environment variables (audited)",
        tags: ['secrets'],
        body: EnvBody,
        response: responses({ 200: EnvResult }),
      },
    },
    async (request) => {
      const lockbox = context.readiness.require();
      const caller = callerOf(request);
      const { scopes, only, client } = request.body;
      const plan = await planSecretsEnv(lockbox, { scopes, ...(only ? { only } : {}) });
      // The vault records each read with the request id, as GET of one secret does.
      const source = {
        secrets: {
          list: lockbox.secrets.list.bind(lockbox.secrets),
          get: (scope: string, name: string) => lockbox.secrets.get(scope, name, caller),
        },
      };
      const values = await readEnvPlan(source, plan);
      await auditInjection(lockbox, plan, {
        actor: caller.actor,
        requestId: caller.requestId,
        details: { ...client, via: 'server' },
      });
      return {
        variables: plan.map((entry) => ({ ...entry, value: values[entry.variable] ?? '' })),
      };
    },
  );
}
