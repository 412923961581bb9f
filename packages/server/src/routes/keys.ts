/**
 * /v1/keys: the key status an operator watches — master key fingerprints, which
 * keys stored data needs, secrets the configured keys cannot open, and backup
 * state. Fingerprints are public ids (HKDF-derived), never keys.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { responses } from '../schemas.js';
import type { ServerContext } from '../server-context.js';
import type { TypeBoxProvider } from '../type-provider.js';

const KeyStatus = Type.Object({
  primary: Type.String({ description: 'Fingerprint of the primary master key.' }),
  previous: Type.Array(Type.String(), { description: 'Fingerprints of previous master keys.' }),
  needed: Type.Array(
    Type.Object({
      fingerprint: Type.String(),
      dataKeys: Type.Integer(),
      inKeyring: Type.Boolean(),
    }),
    { description: 'Master keys that wrap live data keys, with counts.' },
  ),
  unusedPreviousKeys: Type.Array(Type.String(), {
    description: 'Previous keys no data key needs (safe to drop).',
  }),
  totals: Type.Object({
    secrets: Type.Integer(),
    scopes: Type.Integer(),
    dataKeys: Type.Integer(),
  }),
  undecryptable: Type.Array(
    Type.Object({
      dataKeyId: Type.String(),
      scope: Type.String(),
      secrets: Type.Integer(),
      code: Type.String(),
      message: Type.String(),
    }),
  ),
  schemaVersion: Type.Integer(),
});

export function keysRoutes(app: FastifyInstance, context: ServerContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.get(
    '/keys',
    {
      config: { auth: { action: 'keys.status', permission: ['admin', 'keys:rotate'] } },
      schema: {
        summary: 'Key status: fingerprints, what stored data needs, backup state',
        tags: ['keys'],
        response: responses({ 200: KeyStatus }),
      },
    },
    async () => {
      const status = await context.readiness.require().status();
      return {
        primary: status.keys.primary,
        previous: status.keys.previous,
        needed: status.keys.needed,
        unusedPreviousKeys: status.keys.unusedPreviousKeys,
        totals: status.totals,
        undecryptable: status.undecryptable,
        schemaVersion: status.schemaVersion,
      };
    },
  );
}
