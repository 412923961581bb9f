/**
 * /v1/secrets: put, get, delete and list secrets in a scope.
 *
 * GET of one secret is the only response in the whole API that carries a secret
 * value; it is an explicit read, audited as secret.read. Listing returns names
 * and versions, never values. Values travel as UTF-8 text, or base64 for byte
 * values (`encoding: "base64"`). Set, read and delete are audited by the vault
 * itself (with the token as actor and the request id); refusals by auth.ts.
 */
import { LockboxError } from '@lockbox/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { callerOf } from '../auth.js';
import { NameParam, responses, ScopeParam, Timestamp } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const Encoding = Type.Union([Type.Literal('utf8'), Type.Literal('base64')], {
  description: 'utf8: the value is text. base64: the value is bytes, base64-encoded.',
});

const Metadata = Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], {
  description: 'Non-secret JSON kept beside the value (never encrypted; do not put secrets here).',
});

const ScopeParams = Type.Object({ scope: ScopeParam });
const SecretParams = Type.Object({ scope: ScopeParam, name: NameParam });

const PutBody = Type.Object(
  {
    value: Type.String({
      description: 'The secret value (text, or base64 when encoding is base64).',
    }),
    encoding: Type.Optional(Encoding),
    metadata: Type.Optional(Metadata),
    ifVersion: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Write only if the stored version is this (0: only if it does not exist).',
      }),
    ),
  },
  { additionalProperties: false, title: 'SecretWrite' },
);

const Written = Type.Object(
  { scope: Type.String(), name: Type.String(), version: Type.Integer() },
  { title: 'SecretWritten', description: 'Written: the new version.' },
);

const SecretRecord = {
  name: Type.String(),
  version: Type.Integer(),
  type: Type.Union([Type.Literal('utf8'), Type.Literal('bytes')]),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  updatedBy: Type.Union([Type.String(), Type.Null()]),
};

const SecretValue = Type.Object(
  {
    scope: Type.String(),
    ...SecretRecord,
    encoding: Encoding,
    value: Type.String(),
  },
  { title: 'SecretValue', description: 'The secret, with its value.' },
);

const Listed = Type.Object(
  {
    scope: Type.String(),
    secrets: Type.Array(
      Type.Object({
        ...SecretRecord,
        status: Type.Union([Type.Literal('ok'), Type.Literal('undecryptable')], {
          description: 'undecryptable: the configured keys cannot open its data key.',
        }),
        error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
      }),
    ),
  },
  { title: 'SecretList', description: "The scope's secrets, never their values." },
);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeValue(body: Static<typeof PutBody>): string | Buffer {
  if (body.encoding !== 'base64') return body.value;
  const text = body.value.replace(/\s+/g, '');
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    // The value itself is never echoed.
    throw new LockboxError('REQUEST_INVALID', 'body/value is not valid base64');
  }
  return Buffer.from(text, 'base64');
}

export function secretsRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const lockbox = () => context.readiness.require();

  api.get(
    '/secrets/:scope',
    {
      config: { auth: { action: 'secret.list', permission: 'secrets:read' } },
      schema: {
        summary: 'List the secrets in a scope (names and versions, never values)',
        tags: ['secrets'],
        params: ScopeParams,
        querystring: Type.Object(
          {
            verify: Type.Optional(
              Type.Boolean({ description: 'Decrypt each value to check it (slower).' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Listed }),
      },
    },
    async (request) => {
      const { scope } = request.params;
      const secrets = await lockbox().secrets.list({
        scope,
        verify: request.query.verify === true,
      });
      return {
        scope,
        secrets: secrets.map((s) => ({
          name: s.name,
          version: s.version,
          type: s.type,
          metadata: s.metadata,
          createdAt: s.createdAt,
          updatedAt: s.updatedAt,
          updatedBy: s.updatedBy,
          status: s.status,
          ...(s.error === undefined ? {} : { error: s.error }),
        })),
      };
    },
  );

  api.get(
    '/secrets/:scope/:name',
    {
      config: { auth: { action: 'secret.read', permission: 'secrets:read' } },
      schema: {
        summary: 'Read a secret value (audited)',
        tags: ['secrets'],
        params: SecretParams,
        response: responses({ 200: SecretValue }),
      },
    },
    async (request) => {
      const { scope, name } = request.params;
      const secret = await lockbox().secrets.read(scope, name, callerOf(request));
      const bytes = typeof secret.value !== 'string';
      return {
        scope: secret.scope,
        name: secret.name,
        version: secret.version,
        type: secret.type,
        metadata: secret.metadata,
        createdAt: secret.createdAt,
        updatedAt: secret.updatedAt,
        updatedBy: secret.updatedBy,
        encoding: bytes ? ('base64' as const) : ('utf8' as const),
        value: typeof secret.value === 'string' ? secret.value : secret.value.toString('base64'),
      };
    },
  );

  api.put(
    '/secrets/:scope/:name',
    {
      config: { auth: { action: 'secret.set', permission: 'secrets:write' } },
      schema: {
        summary: 'Create or replace a secret',
        tags: ['secrets'],
        params: SecretParams,
        body: PutBody,
        response: responses({ 200: Written }),
      },
    },
    async (request) => {
      const { scope, name } = request.params;
      const value = decodeValue(request.body);
      const version = await lockbox().secrets.set(scope, name, value, {
        ...callerOf(request),
        ...(request.body.metadata === undefined ? {} : { metadata: request.body.metadata }),
        ...(request.body.ifVersion === undefined ? {} : { ifVersion: request.body.ifVersion }),
      });
      return { scope, name, version };
    },
  );

  api.delete(
    '/secrets/:scope/:name',
    {
      config: { auth: { action: 'secret.delete', permission: 'secrets:write' } },
      schema: {
        summary: 'Delete a secret',
        tags: ['secrets'],
        params: SecretParams,
        response: responses({ 204: Type.Null({ description: 'Deleted.' }) }),
      },
    },
    async (request, reply) => {
      const { scope, name } = request.params;
      const deleted = await lockbox().secrets.delete(scope, name, callerOf(request));
      if (!deleted) {
        throw new LockboxError('SECRET_NOT_FOUND', `no secret "${scope}/${name}"`, {
          details: { scope, name },
        });
      }
      return reply.status(204).send(null);
    },
  );
}
