/**
 * /v1/keys: the key status an operator watches — master key fingerprints, which
 * keys stored data needs, secrets the configured keys cannot open, and backup
 * state. Fingerprints are public ids (HKDF-derived), never keys.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { responses, Timestamp } from '../schemas.js';
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
  census: Type.Object(
    {
      masterKeys: Type.Array(
        Type.Object({
          fingerprint: Type.String(),
          recorded: Type.Union([Type.Literal('active'), Type.Literal('retired'), Type.Null()]),
          primary: Type.Boolean(),
          inKeyring: Type.Boolean(),
          dataKeys: Type.Integer(),
          secrets: Type.Integer(),
          fieldRows: Type.Integer(),
          needed: Type.Boolean({ description: 'Live data keys need it: keep it in the keyring.' }),
        }),
      ),
      dataKeys: Type.Object({
        active: Type.Integer(),
        retiring: Type.Integer(),
        destroyed: Type.Integer(),
      }),
      auditKeys: Type.Object(
        { active: Type.Integer(), verifyOnly: Type.Integer() },
        { description: 'The audit MAC keys: the active one, and those data re-keys retired.' },
      ),
      secrets: Type.Object({
        total: Type.Integer(),
        onRetiringKeys: Type.Integer(),
        unreadable: Type.Integer(),
        unreadableByReason: Type.Record(Type.String(), Type.Integer()),
        versionless: Type.Integer({
          description: 'Secrets still lb1: (not bound to their version); a data re-key moves them.',
        }),
      }),
      fields: Type.Array(
        Type.Object({
          table: Type.String(),
          column: Type.String(),
          scope: Type.String(),
          rows: Type.Integer(),
          lockbox: Type.Integer(),
          plaintext: Type.Integer(),
          fernet: Type.Integer(),
          v2: Type.Integer(),
          unreadable: Type.Integer(),
        }),
      ),
      droppable: Type.Array(Type.String(), {
        description: 'Previous keys no live data key needs: safe to drop.',
      }),
      missing: Type.Array(Type.String(), {
        description: 'Master keys live data keys need that the keyring lacks.',
      }),
    },
    {
      description: 'Which master keys the stored data needs (keys checked, values not decrypted).',
    },
  ),
  backup: Type.Object(
    {
      state: Type.Union([Type.Literal('ok'), Type.Literal('not-backed-up')]),
      reasons: Type.Array(Type.String()),
      recoveryRecipient: Type.Optional(Type.String()),
      dataKeysWithoutRecovery: Type.Integer(),
      lastExportAt: Type.Optional(Timestamp),
      keysChangedAt: Type.Optional(Timestamp),
    },
    { description: 'Whether losing the master key would lose secrets.' },
  ),
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
      const lockbox = context.readiness.require();
      const [status, census, backup] = await Promise.all([
        lockbox.status(),
        lockbox.rotation.census(),
        lockbox.backup.state(),
      ]);
      return {
        primary: status.keys.primary,
        previous: status.keys.previous,
        needed: status.keys.needed,
        unusedPreviousKeys: status.keys.unusedPreviousKeys,
        totals: status.totals,
        undecryptable: status.undecryptable,
        schemaVersion: status.schemaVersion,
        census,
        backup,
      };
    },
  );
}
